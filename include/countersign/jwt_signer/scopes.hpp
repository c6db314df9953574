#pragma once
// Kong's scopes check (reference §3.8): `<t>_scopes_required` is an OR-list
// of AND-groups. Each entry is split on whitespace and all of its scopes must
// be granted; any one entry satisfied is enough. ["a b", "c"] = (a AND b) OR c.
// The granted scopes are read from `<t>_scopes_claim`: a string split on
// whitespace, or an array whose elements are joined with spaces first.

#include "countersign/jwt_signer/claim_path.hpp"
#include "countersign/jwt_signer/error.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

/// The granted scopes of one token: a sorted, de-duplicated set.
class scope_set {
public:
    scope_set() = default;
    /// Splits `text` on whitespace (space, tab, CR, LF, FF, VT).
    static scope_set parse(std::string_view text);
    /// From a claim value (string, or array joined with spaces, see
    /// claim_to_string). nullopt when the value has no text form (object).
    static std::optional<scope_set> from_claim(const nlohmann::json& value);

    bool contains(std::string_view scope) const noexcept;
    std::size_t size() const noexcept { return scopes_.size(); }
    const std::vector<std::string>& scopes() const noexcept { return scopes_; }

private:
    std::vector<std::string> scopes_;
};

/// `<t>_scopes_required`, parsed once at load.
class scope_requirement {
public:
    scope_requirement() = default;
    /// Entries that are empty or only whitespace are dropped (they would
    /// demand nothing).
    explicit scope_requirement(const std::vector<std::string>& entries);

    /// No entries: nothing to check.
    bool empty() const noexcept { return groups_.empty(); }
    const std::vector<std::vector<std::string>>& groups() const noexcept { return groups_; }

    /// True when at least one group is fully contained in `granted`.
    bool satisfied_by(const scope_set& granted) const noexcept;

    /// `"a b" or "c"`, for log details.
    std::string to_string() const;

private:
    std::vector<std::vector<std::string>> groups_;
};

/// The whole check against one document (payload or introspection JSON):
/// - `required` empty: ok;
/// - `claim` empty (unset): scopes_claim_not_configured (500);
/// - claim absent or not readable as text: scope (403);
/// - no group satisfied: scope (403).
auth_status check_scopes(const nlohmann::json& doc, const claim_path& claim,
                         const scope_requirement& required);

}  // namespace countersign::jwt_signer
