#pragma once
// Builds the claims of the re-signed token from the incoming claims
// (reference §3.11), in Kong's order:
//   0. introspection results lose `active`;
//   1. `original_iss` = incoming `iss` (omitted when absent), `iss` = issuer;
//   2. upstream leeway (if non-zero): `original_exp` = incoming `exp` (omitted
//      when absent), `exp` = incoming `exp` (or now when absent) + leeway;
//   3. `remove` deletes top-level claims (after steps 1-2, so removing "iss"
//      removes the new one too);
//   4. add-if-absent from global add_claims merged with the per-token map
//      (per-token wins on the same name);
//   5. overwrite from global set_claims merged with the per-token map
//      (per-token wins; set beats add, and may override `iss`).
// Map values that parse as (strict) JSON are inserted decoded ("123" -> 123,
// "[true]" -> array, "{\"a\":1}" -> object); anything else as the string.
// The maps are merged and decoded once, when the transform is built.

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace countersign::jwt_signer {

/// Where the incoming claims came from.
enum class claims_source {
    jws_payload,    ///< the verified (or, verification off, decoded) JWS payload
    introspection,  ///< an RFC 7662 introspection response: `active` is dropped
};

/// Per-token settings, with Kong's names in comments.
struct claims_transform_config {
    std::string issuer = "kong";                           ///< <t>_issuer; "" = leave iss alone
    std::int64_t upstream_leeway = 0;                      ///< <t>_upstream_leeway, seconds, may be negative
    std::vector<std::string> remove_claims;                ///< remove_<t>_claims
    std::map<std::string, std::string> add_claims;         ///< add_<t>_claims
    std::map<std::string, std::string> set_claims;         ///< set_<t>_claims
    std::map<std::string, std::string> global_add_claims;  ///< add_claims (both tokens)
    std::map<std::string, std::string> global_set_claims;  ///< set_claims (both tokens)
};

/// "123" -> 123, "true" -> true, "x" -> "x": strict JSON if it parses, else the string.
nlohmann::json decode_claim_value(const std::string& value);

/// Immutable and thread-safe once built; build it at configuration load.
class claims_transform {
public:
    explicit claims_transform(const claims_transform_config& config);

    /// Applies the transform. Errors (keys_errc::invalid_claims): `claims` is
    /// not an object; leeway is non-zero and `exp` is present but not a number.
    boost::system::result<nlohmann::json> apply(nlohmann::json claims, claims_source source,
                                                std::int64_t now_unix) const;

    const std::string& issuer() const noexcept { return issuer_; }
    std::int64_t upstream_leeway() const noexcept { return leeway_; }
    /// The merged, decoded maps (for tests and /config views).
    const std::map<std::string, nlohmann::json>& add_map() const noexcept { return add_; }
    const std::map<std::string, nlohmann::json>& set_map() const noexcept { return set_; }

private:
    std::string issuer_;
    std::int64_t leeway_ = 0;
    std::vector<std::string> remove_;
    std::map<std::string, nlohmann::json> add_;
    std::map<std::string, nlohmann::json> set_;
};

}  // namespace countersign::jwt_signer
