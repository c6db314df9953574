#pragma once
// The claim checks of one token slot against one claim source (reference
// §1.4, §1.5, §3.7-§3.9): expiry, not-before, issuer, audience, subject,
// required and optional claims, scopes. The payload checks (`<t>_*`) and the
// introspection-response checks (`<t>_introspection_*`) are the same code
// with a different `claims_config`.

#include "countersign/config/config_error.hpp"
#include "countersign/core/clock.hpp"
#include "countersign/jwt_signer/claim_path.hpp"
#include "countersign/jwt_signer/error.hpp"
#include "countersign/jwt_signer/scopes.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace countersign::jwt_signer {

/// Typed claim-check settings for one (token kind, source). In the field
/// comments `<p>` is `<t>` for the payload and `<t>_introspection` for the
/// introspection response (e.g. `access_token_introspection_leeway`).
struct claims_config {
    token_kind kind = token_kind::access;
    claim_source source = claim_source::payload;

    bool verify_expiry = true;                   ///< verify_<p>_expiry
    double leeway = 0;                           ///< <p>_leeway (seconds, may be negative)
    claim_path expiry_claim{"exp"};              ///< <p>_expiry_claim
    bool verify_notbefore = false;               ///< verify_<p>_notbefore
    claim_path notbefore_claim{"nbf"};           ///< <p>_notbefore_claim

    bool verify_issuer = true;                   ///< verify_<p>_issuer
    claim_path issuer_claim{"iss"};              ///< <p>_issuer_claim
    std::vector<std::string> issuers_allowed;    ///< <p>_issuers_allowed (empty = no check)

    bool verify_audience = true;                 ///< verify_<p>_audience
    claim_path audience_claim{"aud"};            ///< <p>_audience_claim
    std::vector<std::string> audiences_allowed;  ///< <p>_audiences_allowed (empty = no check)

    bool verify_subject = true;                  ///< verify_<p>_subject
    claim_path subject_claim{"sub"};             ///< <p>_subject_claim
    std::vector<std::string> subjects_allowed;   ///< <p>_subjects_allowed (empty = no check)

    std::vector<claim_path> required_claims;     ///< <p>_required_claims
    std::vector<claim_path> optional_claims;     ///< <p>_optional_claims

    bool verify_scopes = true;                   ///< verify_<p>_scopes
    claim_path scopes_claim{"scope"};            ///< <p>_scopes_claim (empty = unset: 500 if scopes required)
    std::vector<std::string> scopes_required;    ///< <p>_scopes_required (empty = no check)

    /// Reads the fields above from a jwt-signer plugin `config` object under
    /// Kong's names. An absent field takes Kong's default; null, "" and []
    /// mean "unset" (for the claim paths other than the scopes claim, unset
    /// falls back to the default path). Fields of the wrong type are reported
    /// to `errors` (path "config.<field>") and take the default.
    static claims_config from_plugin_config(const nlohmann::json& plugin_config, token_kind kind,
                                            claim_source source,
                                            config::error_list* errors = nullptr);
};

/// Runs the checks of one claims_config. Built once at load; immutable and
/// safe to share between threads.
///
/// Order of checks (the first failure is returned): expiry, not-before,
/// issuer, audience, subject, required claims, optional claims, scopes.
///
/// Time rules (now = the clock's whole unix seconds):
/// - expired when `now > exp + leeway` (`exp == now` passes, `now == exp + 1`
///   fails with leeway 0);
/// - payload without the expiry claim: exp is taken as `now` (Kong), so it
///   passes unless leeway is negative; a present non-numeric value is
///   `claim_invalid`;
/// - introspection without a numeric expiry claim: `no_expiry`;
/// - not yet valid when `now < nbf - leeway`; a missing nbf passes.
class claims_verifier {
public:
    explicit claims_verifier(claims_config cfg);

    const claims_config& config() const noexcept { return cfg_; }

    /// Checks `doc` (the payload or the introspection JSON object): the
    /// time checks, then the static ones.
    auth_status verify(const nlohmann::json& doc, const clock& clk) const;

    /// The checks that depend on the time: expiry and not-before.
    auth_status verify_time(const nlohmann::json& doc, std::int64_t now) const;
    /// The checks that depend only on `doc` and the configuration (issuer,
    /// audience, subject, required and optional claims, scopes): the same
    /// document always gets the same answer, so a cache may keep it.
    auth_status verify_static(const nlohmann::json& doc) const;

    // The individual checks, each honouring its verify_* switch.
    auth_status check_expiry(const nlohmann::json& doc, std::int64_t now) const;
    auth_status check_notbefore(const nlohmann::json& doc, std::int64_t now) const;
    auth_status check_issuer(const nlohmann::json& doc) const;
    auth_status check_audience(const nlohmann::json& doc) const;
    auth_status check_subject(const nlohmann::json& doc) const;
    auth_status check_required_claims(const nlohmann::json& doc) const;
    auth_status check_optional_claims(const nlohmann::json& doc) const;
    auth_status check_scopes(const nlohmann::json& doc) const;

private:
    /// Type rules for registered claims: nullopt when `value` is acceptable
    /// for the claim at `path`, else a description of what it should be.
    std::optional<std::string> type_problem(const claim_path& path,
                                            const nlohmann::json& value) const;

    claims_config cfg_;
    scope_requirement scopes_;
};

}  // namespace countersign::jwt_signer
