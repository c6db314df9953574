#pragma once
// Outcomes of the per-token authentication checks of the jwt-signer plugin.
// Every expected failure (missing token, expired, wrong issuer, ...) is a
// value of `auth_errc`, never an exception. The plugin turns an outcome into
// Kong's HTTP answer in one place (auth_response.hpp) and uses
// `to_metric_label` as the label of its rejection counter.

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace countersign::jwt_signer {

/// Why a token was accepted or rejected. `ok` is 0, so an error_code made
/// from it is false. The comment after each value is Kong's answer
/// (status, `error`, `error_description` for the access token).
enum class auth_errc {
    ok = 0,
    // --- token location (token_extractor) ---
    missing,                        ///< 401 invalid_token "is invalid": no token, not optional
    header_not_configured,          ///< 500 unexpected "header name was not configured"
    malformed,                      ///< 401 invalid_token "is invalid": unusable header value / undecodable token
    too_large,                      ///< 401 invalid_token "is invalid": token above the size limit
    // --- token kind / JWS (verifier, outside this module) ---
    unsupported_token,              ///< 401 invalid_token "is invalid": JWE, payload not an object, opaque w/o introspection
    no_jwks_uri,                    ///< 401 invalid_token "could not be verified": verification on, no jwks_uri
    bad_signature,                  ///< 401 invalid_token "could not be verified"
    no_key,                         ///< 401 invalid_token "could not be verified": no suitable JWK
    alg_not_allowed,                ///< 401 invalid_token "could not be verified": none, HS while disabled, bad typ
    jwks_unavailable,               ///< 500 unexpected "could not be verified": JWKS could not be loaded at all
    // --- introspection (client, outside this module) ---
    introspection_not_configured,   ///< 500 unexpected "introspection endpoint was not specified"
    introspection_failed,           ///< 401 invalid_token "is invalid": network, non-200, non-JSON
    inactive,                       ///< 401 invalid_token "inactive" (sic)
    introspection_jwt_claim,        ///< 401 invalid_token "is invalid": jwt claim missing or not a JWT
    // --- claims (claims_verifier) ---
    no_expiry,                      ///< 401 invalid_token "introspection has no expiry" (introspection only)
    expired,                        ///< 401 invalid_token "expired" / "introspection expired"
    not_yet_valid,                  ///< 401 invalid_token "is not yet valid" (3.12 nbf; unverified in Kong)
    issuer,                         ///< 401 invalid_token "is invalid" (3.12; unverified in Kong)
    audience,                       ///< 401 invalid_token "is invalid" (3.12; unverified in Kong)
    subject,                        ///< 401 invalid_token "is invalid" (3.12; unverified in Kong)
    claim_missing,                  ///< 401 invalid_token "is invalid": a required claim is absent
    claim_invalid,                  ///< 401 invalid_token "is invalid": a claim has the wrong type
    // --- scopes ---
    scope,                          ///< 403 invalid_token "is invalid": claim absent or scopes unsatisfied
    scopes_claim_not_configured,    ///< 500 unexpected "scopes claim was not specified"
    // --- consumer mapping ---
    consumer_claim_missing,         ///< 403 invalid_token "is invalid"
    consumer,                       ///< 403 invalid_token "is invalid": no such consumer
    consumer_by_not_configured,     ///< 500 unexpected "consumer search order was not specified"
    // --- re-signing (part 2) ---
    keyset_unavailable,             ///< 500 unexpected "signing keyset could not be loaded"
    signing_key_missing,            ///< 500 unexpected "signing key could not be found"
    signing_failed,                 ///< 500 invalid_token (sic) "could not be signed"
};

/// Which of the plugin's two token slots an outcome belongs to.
enum class token_kind { access, channel };

/// Where the checked claims came from: the token payload (JWS payload, or the
/// introspection-derived payload) or the introspection response itself.
/// Selects the `<t>_*` or the `<t>_introspection_*` config fields and a few
/// wordings of Kong's answers.
enum class claim_source { payload, introspection };

/// "access_token" / "channel_token": the `<t>` of Kong's field names.
std::string_view token_field_prefix(token_kind kind) noexcept;
/// "access token" / "channel token": the slot as named in Kong's messages.
std::string_view token_display_name(token_kind kind) noexcept;

/// Stable snake_case name of `e` for metrics and logs ("ok", "missing",
/// "expired", ...): identical to the enumerator's name.
std::string_view to_metric_label(auth_errc e) noexcept;

/// The `countersign.jwt_signer` category; `message()` gives a short English
/// text.
const boost::system::error_category& auth_category() noexcept;
boost::system::error_code make_error_code(auth_errc e) noexcept;

/// The outcome of one check: a reason plus a human-readable detail meant for
/// the log only (never sent to the client: it may name claims and values).
struct auth_status {
    auth_errc code = auth_errc::ok;
    std::string detail;

    bool ok() const noexcept { return code == auth_errc::ok; }
    boost::system::error_code error_code() const noexcept { return make_error_code(code); }
};

/// A token-controlled value made fit for a log detail: control characters
/// and non-ASCII bytes become '?', and text beyond `max` bytes is cut with
/// "...".
std::string sanitize_detail(std::string_view value, std::size_t max = 128);

/// Shorthand for a failed status.
inline auth_status auth_fail(auth_errc code, std::string detail)
{
    return auth_status{code, std::move(detail)};
}

}  // namespace countersign::jwt_signer

namespace boost::system {
template <>
struct is_error_code_enum<countersign::jwt_signer::auth_errc> : std::true_type {};
}  // namespace boost::system
