#pragma once
// Kong claim paths: an array of keys walking nested JSON objects, e.g.
// ["realm_access","roles"] or ["employee","favourites","beverage"].

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

/// A claim path: keys into nested objects. Empty = unset.
class claim_path {
public:
    claim_path() = default;
    claim_path(std::initializer_list<std::string> keys) : keys_(keys) {}
    explicit claim_path(std::vector<std::string> keys) : keys_(std::move(keys)) {}

    /// From a config value: an array of strings, or a string (Kong's
    /// form-encoded spelling, split on ','). null, "", [] give an empty path.
    /// Returns nullopt for any other type or a non-string element.
    static std::optional<claim_path> from_json(const nlohmann::json& v);

    bool empty() const noexcept { return keys_.empty(); }
    const std::vector<std::string>& keys() const noexcept { return keys_; }

    /// "a.b.c", for messages.
    std::string to_string() const;

    /// Walks `doc` through objects only (arrays are not traversed). Returns
    /// nullptr when the path is empty, a key is missing, an intermediate
    /// value is not an object, or the final value is JSON null.
    const nlohmann::json* lookup(const nlohmann::json& doc) const noexcept;

    friend bool operator==(const claim_path&, const claim_path&) = default;

private:
    std::vector<std::string> keys_;
};

/// A scalar claim as text, as Kong's claim reader gives it: strings as is,
/// integers in decimal, integral doubles without ".0", other numbers with
/// the shortest round-trip form, booleans as "true"/"false". nullopt for
/// null, arrays and objects.
std::optional<std::string> scalar_to_string(const nlohmann::json& v);

/// A claim value as text: a scalar as above; an array is its scalar
/// elements joined with single spaces (nested arrays/objects are skipped).
/// nullopt for objects and null.
std::optional<std::string> claim_to_string(const nlohmann::json& v);

}  // namespace countersign::jwt_signer
