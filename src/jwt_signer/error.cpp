#include "countersign/jwt_signer/error.hpp"

namespace countersign::jwt_signer {

std::string_view token_field_prefix(token_kind kind) noexcept
{
    return kind == token_kind::access ? "access_token" : "channel_token";
}

std::string_view token_display_name(token_kind kind) noexcept
{
    return kind == token_kind::access ? "access token" : "channel token";
}

std::string sanitize_detail(std::string_view value, std::size_t max)
{
    std::string out;
    const bool cut = value.size() > max;
    if (cut)
        value = value.substr(0, max);
    out.reserve(value.size() + 3);
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u >= 0x7f ? '?' : c);
    }
    if (cut)
        out += "...";
    return out;
}

std::string_view to_metric_label(auth_errc e) noexcept
{
    switch (e) {
    case auth_errc::ok: return "ok";
    case auth_errc::missing: return "missing";
    case auth_errc::header_not_configured: return "header_not_configured";
    case auth_errc::malformed: return "malformed";
    case auth_errc::too_large: return "too_large";
    case auth_errc::unsupported_token: return "unsupported_token";
    case auth_errc::no_jwks_uri: return "no_jwks_uri";
    case auth_errc::bad_signature: return "bad_signature";
    case auth_errc::no_key: return "no_key";
    case auth_errc::alg_not_allowed: return "alg_not_allowed";
    case auth_errc::jwks_unavailable: return "jwks_unavailable";
    case auth_errc::introspection_not_configured: return "introspection_not_configured";
    case auth_errc::introspection_failed: return "introspection_failed";
    case auth_errc::inactive: return "inactive";
    case auth_errc::introspection_jwt_claim: return "introspection_jwt_claim";
    case auth_errc::no_expiry: return "no_expiry";
    case auth_errc::expired: return "expired";
    case auth_errc::not_yet_valid: return "not_yet_valid";
    case auth_errc::issuer: return "issuer";
    case auth_errc::audience: return "audience";
    case auth_errc::subject: return "subject";
    case auth_errc::claim_missing: return "claim_missing";
    case auth_errc::claim_invalid: return "claim_invalid";
    case auth_errc::scope: return "scope";
    case auth_errc::scopes_claim_not_configured: return "scopes_claim_not_configured";
    case auth_errc::consumer_claim_missing: return "consumer_claim_missing";
    case auth_errc::consumer: return "consumer";
    case auth_errc::consumer_by_not_configured: return "consumer_by_not_configured";
    case auth_errc::keyset_unavailable: return "keyset_unavailable";
    case auth_errc::signing_key_missing: return "signing_key_missing";
    case auth_errc::signing_failed: return "signing_failed";
    }
    return "unknown";
}

namespace {

class auth_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "countersign.jwt_signer"; }

    std::string message(int ev) const override
    {
        switch (static_cast<auth_errc>(ev)) {
        case auth_errc::ok: return "success";
        case auth_errc::missing: return "token missing";
        case auth_errc::header_not_configured: return "token request header not configured";
        case auth_errc::malformed: return "token malformed";
        case auth_errc::too_large: return "token too large";
        case auth_errc::unsupported_token: return "unsupported token";
        case auth_errc::no_jwks_uri: return "no jwks_uri to verify the token";
        case auth_errc::bad_signature: return "bad signature";
        case auth_errc::no_key: return "no suitable key";
        case auth_errc::alg_not_allowed: return "algorithm not allowed";
        case auth_errc::jwks_unavailable: return "jwks could not be loaded";
        case auth_errc::introspection_not_configured: return "introspection endpoint not configured";
        case auth_errc::introspection_failed: return "introspection failed";
        case auth_errc::inactive: return "token inactive";
        case auth_errc::introspection_jwt_claim: return "introspection jwt claim missing or invalid";
        case auth_errc::no_expiry: return "introspection has no expiry";
        case auth_errc::expired: return "token expired";
        case auth_errc::not_yet_valid: return "token not yet valid";
        case auth_errc::issuer: return "issuer not allowed";
        case auth_errc::audience: return "audience not allowed";
        case auth_errc::subject: return "subject not allowed";
        case auth_errc::claim_missing: return "required claim missing";
        case auth_errc::claim_invalid: return "claim invalid";
        case auth_errc::scope: return "required scopes missing";
        case auth_errc::scopes_claim_not_configured: return "scopes claim not configured";
        case auth_errc::consumer_claim_missing: return "consumer claim missing";
        case auth_errc::consumer: return "consumer not found";
        case auth_errc::consumer_by_not_configured: return "consumer search order not configured";
        case auth_errc::keyset_unavailable: return "signing keyset could not be loaded";
        case auth_errc::signing_key_missing: return "signing key not found";
        case auth_errc::signing_failed: return "signing failed";
        }
        return "unknown jwt_signer error";
    }
};

}  // namespace

const boost::system::error_category& auth_category() noexcept
{
    static const auth_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(auth_errc e) noexcept
{
    return {static_cast<int>(e), auth_category()};
}

}  // namespace countersign::jwt_signer
