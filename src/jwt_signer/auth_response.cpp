#include "countersign/jwt_signer/auth_response.hpp"

namespace countersign::jwt_signer {

namespace {

enum class wording {
    invalid,            // "is invalid"
    not_verified,       // "could not be verified"
    header,             // "header name was not configured"
    no_endpoint,        // "introspection endpoint was not specified"
    inactive,           // "inactive" (sic)
    no_expiry,          // "introspection has no expiry"
    expired,            // "expired" / "introspection expired"
    not_yet_valid,      // "is not yet valid" / "introspection is not yet valid"
    scopes_claim,       // "scopes claim was not specified"
    consumer_by,        // "consumer search order was not specified"
    keyset,             // "signing keyset could not be loaded"
    signing_key,        // "signing key could not be found"
    not_signed,         // "could not be signed"
};

wording wording_for(auth_errc e) noexcept
{
    switch (e) {
    case auth_errc::header_not_configured: return wording::header;
    case auth_errc::no_jwks_uri:
    case auth_errc::bad_signature:
    case auth_errc::no_key:
    case auth_errc::alg_not_allowed:
    case auth_errc::jwks_unavailable: return wording::not_verified;
    case auth_errc::introspection_not_configured: return wording::no_endpoint;
    case auth_errc::inactive: return wording::inactive;
    case auth_errc::no_expiry: return wording::no_expiry;
    case auth_errc::expired: return wording::expired;
    case auth_errc::not_yet_valid: return wording::not_yet_valid;
    case auth_errc::scopes_claim_not_configured: return wording::scopes_claim;
    case auth_errc::consumer_by_not_configured: return wording::consumer_by;
    case auth_errc::keyset_unavailable: return wording::keyset;
    case auth_errc::signing_key_missing: return wording::signing_key;
    case auth_errc::signing_failed: return wording::not_signed;
    default: return wording::invalid;
    }
}

std::string_view body_for(unsigned status) noexcept
{
    switch (status) {
    case 401: return R"({"message":"Unauthorized"})";
    case 403: return R"({"message":"Forbidden"})";
    default: return R"({"message":"An unexpected error occurred"})";
    }
}

char ascii_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

unsigned status_for(auth_errc e) noexcept
{
    switch (e) {
    case auth_errc::ok: return 200;
    case auth_errc::header_not_configured:
    case auth_errc::jwks_unavailable:
    case auth_errc::introspection_not_configured:
    case auth_errc::scopes_claim_not_configured:
    case auth_errc::consumer_by_not_configured:
    case auth_errc::keyset_unavailable:
    case auth_errc::signing_key_missing:
    case auth_errc::signing_failed: return 500;
    case auth_errc::scope:
    case auth_errc::consumer_claim_missing:
    case auth_errc::consumer: return 403;
    default: return 401;
    }
}

std::string error_code_for(auth_errc e)
{
    // Kong quirk kept: a signing failure is a 500 but says "invalid_token".
    if (status_for(e) == 500 && e != auth_errc::signing_failed)
        return "unexpected";
    return "invalid_token";
}

std::string error_description_for(auth_errc e, token_kind kind, claim_source source)
{
    std::string out = "the ";
    out += token_display_name(kind);
    const bool intro = source == claim_source::introspection;
    switch (wording_for(e)) {
    case wording::invalid: out += " is invalid"; break;
    case wording::not_verified: out += " could not be verified"; break;
    case wording::header: out += " header name was not configured"; break;
    case wording::no_endpoint: out += " introspection endpoint was not specified"; break;
    case wording::inactive: out += " inactive"; break;
    case wording::no_expiry: out += " introspection has no expiry"; break;
    case wording::expired: out += intro ? " introspection expired" : " expired"; break;
    case wording::not_yet_valid:
        out += intro ? " introspection is not yet valid" : " is not yet valid";
        break;
    case wording::scopes_claim: out += " scopes claim was not specified"; break;
    case wording::consumer_by: out += " consumer search order was not specified"; break;
    case wording::keyset: out += " signing keyset could not be loaded"; break;
    case wording::signing_key: out += " signing key could not be found"; break;
    case wording::not_signed: out += " could not be signed"; break;
    }
    return out;
}

std::string resolve_realm(const std::optional<std::string>& configured_realm,
                          std::optional<std::string_view> host_header)
{
    if (configured_realm && !configured_realm->empty())
        return *configured_realm;
    if (!host_header)
        return {};
    std::string_view host = *host_header;
    while (!host.empty() && (host.front() == ' ' || host.front() == '\t'))
        host.remove_prefix(1);
    while (!host.empty() && (host.back() == ' ' || host.back() == '\t'))
        host.remove_suffix(1);
    if (!host.empty() && host.front() == '[') {
        // IPv6 literal: keep the brackets, drop ":port" after them.
        auto close = host.find(']');
        if (close != std::string_view::npos)
            host = host.substr(0, close + 1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    std::string out;
    out.reserve(host.size());
    for (char c : host)
        out.push_back(ascii_lower(c));
    return out;
}

std::string quote_escape(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if ((u < 0x20 && c != '\t') || u == 0x7f) {
            continue;  // CR, LF, NUL, ...: would split or corrupt the header
        } else {
            out.push_back(c);
        }
    }
    return out;
}

auth_response make_auth_response(auth_errc e, token_kind kind, std::string_view realm,
                                 claim_source source)
{
    auth_response r;
    r.status = status_for(e);
    r.body = std::string(body_for(r.status));
    r.error = error_code_for(e);
    r.error_description = error_description_for(e, kind, source);
    r.www_authenticate = "Bearer realm=\"";
    r.www_authenticate += quote_escape(realm);
    r.www_authenticate += "\", error=\"";
    r.www_authenticate += r.error;
    r.www_authenticate += "\", error_description=\"";
    r.www_authenticate += quote_escape(r.error_description);
    r.www_authenticate += '"';
    return r;
}

}  // namespace countersign::jwt_signer
