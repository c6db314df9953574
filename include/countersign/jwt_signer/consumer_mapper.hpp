#pragma once
// Mapping a token claim to a configured consumer (reference §1.6, §3.10):
// `<p>_consumer_claim` names the claim, `<p>_consumer_by` the consumer fields
// tried in order (Kong default: username, then custom_id). Lookups go to hash
// maps built once from the config's `consumers`.

#include "countersign/config/config_error.hpp"
#include "countersign/config/gateway_config.hpp"
#include "countersign/jwt_signer/claim_path.hpp"
#include "countersign/jwt_signer/error.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace countersign::jwt_signer {

/// One element of `<p>_consumer_by`.
enum class consumer_field { id, username, custom_id };

/// "id" / "username" / "custom_id".
std::string_view to_string(consumer_field f) noexcept;
/// Parses Kong's enum spelling (exact, lower case).
std::optional<consumer_field> consumer_field_from_string(std::string_view s) noexcept;

/// Consumers indexed by id, username and custom_id. Built once per config;
/// keeps the config alive, so returned pointers stay valid as long as the
/// table. Immutable; thread-safe.
class consumer_table {
public:
    explicit consumer_table(config::gateway_config_ptr cfg);

    /// The consumer whose `field` equals `value` exactly, or nullptr. Empty
    /// values never match. For `id`, a UUID-shaped value is compared
    /// case-insensitively (UUIDs are stored lower case).
    const config::consumer_config* find(consumer_field field, std::string_view value) const;

    std::size_t size() const noexcept;

private:
    struct sv_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept
        {
            return std::hash<std::string_view>{}(s);
        }
    };
    using index = std::unordered_map<std::string, const config::consumer_config*, sv_hash,
                                     std::equal_to<>>;

    config::gateway_config_ptr cfg_;
    index by_id_;
    index by_username_;
    index by_custom_id_;
};

/// Settings of one mapping: payload (`<t>_consumer_*`) or introspection
/// (`<t>_introspection_consumer_*`).
struct consumer_mapping_config {
    token_kind kind = token_kind::access;
    claim_source source = claim_source::payload;
    claim_path consumer_claim;  ///< <p>_consumer_claim; empty = no mapping
    std::vector<consumer_field> consumer_by{consumer_field::username,
                                            consumer_field::custom_id};  ///< <p>_consumer_by

    /// Reads the two fields under Kong's names. Absent `_by` = Kong default;
    /// null or [] = empty (500 when a claim is configured). Unknown
    /// elements are reported to `errors` and skipped.
    static consumer_mapping_config from_plugin_config(const nlohmann::json& plugin_config,
                                                      token_kind kind, claim_source source,
                                                      config::error_list* errors = nullptr);
};

/// The result of a mapping attempt.
struct consumer_match {
    auth_status status;                                ///< ok, consumer_claim_missing, consumer, consumer_by_not_configured
    const config::consumer_config* consumer = nullptr; ///< set when mapped
};

/// Maps one document (payload or introspection JSON) to a consumer. The
/// plugin calls it in Kong's order (access introspection, access payload,
/// channel introspection, channel payload) until one maps. Thread-safe.
class consumer_mapper {
public:
    consumer_mapper(consumer_mapping_config cfg, std::shared_ptr<const consumer_table> table);

    const consumer_mapping_config& config() const noexcept { return cfg_; }

    /// True when a consumer claim is configured.
    bool enabled() const noexcept { return !cfg_.consumer_claim.empty(); }

    /// Not enabled: ok with no consumer. Otherwise: `consumer_by` empty ->
    /// consumer_by_not_configured (500); claim absent or not text ->
    /// consumer_claim_missing (403); no consumer for the value (a string,
    /// or an array joined with spaces) under any field -> consumer (403).
    consumer_match map(const nlohmann::json& doc) const;

private:
    consumer_mapping_config cfg_;
    std::shared_ptr<const consumer_table> table_;
};

}  // namespace countersign::jwt_signer
