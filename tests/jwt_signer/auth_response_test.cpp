// Every row of the reference's error table (§3.3) as a unit test on the
// mapping: status, body and the exact WWW-Authenticate value.
#include "countersign/jwt_signer/auth_response.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace countersign::jwt_signer;

namespace {

constexpr const char* unauthorized = R"({"message":"Unauthorized"})";
constexpr const char* forbidden = R"({"message":"Forbidden"})";
constexpr const char* unexpected = R"({"message":"An unexpected error occurred"})";

struct row {
    auth_errc code;
    claim_source source;
    unsigned status;
    const char* body;
    const char* error;
    const char* description;  // access token wording
};

// clang-format off
const row kong_table[] = {
    // token missing, not optional
    {auth_errc::missing, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    // request header not configured, not optional
    {auth_errc::header_not_configured, claim_source::payload, 500, unexpected, "unexpected", "the access token header name was not configured"},
    // JWS, verification on, no jwks_uri
    {auth_errc::no_jwks_uri, claim_source::payload, 401, unauthorized, "invalid_token", "the access token could not be verified"},
    // JWS bad signature / no suitable key / undecodable / HS while disabled / typ not JWT
    {auth_errc::bad_signature, claim_source::payload, 401, unauthorized, "invalid_token", "the access token could not be verified"},
    {auth_errc::no_key, claim_source::payload, 401, unauthorized, "invalid_token", "the access token could not be verified"},
    {auth_errc::alg_not_allowed, claim_source::payload, 401, unauthorized, "invalid_token", "the access token could not be verified"},
    // JWKS could not be loaded (older builds)
    {auth_errc::jwks_unavailable, claim_source::payload, 500, unexpected, "unexpected", "the access token could not be verified"},
    // JWE, payload not an object, opaque with introspection disabled
    {auth_errc::unsupported_token, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    // opaque, introspection enabled, no endpoint
    {auth_errc::introspection_not_configured, claim_source::payload, 500, unexpected, "unexpected", "the access token introspection endpoint was not specified"},
    // introspection call failed
    {auth_errc::introspection_failed, claim_source::introspection, 401, unauthorized, "invalid_token", "the access token is invalid"},
    // introspection active != true
    {auth_errc::inactive, claim_source::introspection, 401, unauthorized, "invalid_token", "the access token inactive"},
    // introspection without exp / expired
    {auth_errc::no_expiry, claim_source::introspection, 401, unauthorized, "invalid_token", "the access token introspection has no expiry"},
    {auth_errc::expired, claim_source::introspection, 401, unauthorized, "invalid_token", "the access token introspection expired"},
    // introspection_jwt_claim missing or not a JWT
    {auth_errc::introspection_jwt_claim, claim_source::introspection, 401, unauthorized, "invalid_token", "the access token is invalid"},
    // JWT expired
    {auth_errc::expired, claim_source::payload, 401, unauthorized, "invalid_token", "the access token expired"},
    // scopes claim missing / scopes not satisfied (payload or introspection)
    {auth_errc::scope, claim_source::payload, 403, forbidden, "invalid_token", "the access token is invalid"},
    {auth_errc::scope, claim_source::introspection, 403, forbidden, "invalid_token", "the access token is invalid"},
    // scopes claim / consumer_by not configured while needed
    {auth_errc::scopes_claim_not_configured, claim_source::payload, 500, unexpected, "unexpected", "the access token scopes claim was not specified"},
    {auth_errc::consumer_by_not_configured, claim_source::payload, 500, unexpected, "unexpected", "the access token consumer search order was not specified"},
    // consumer claim missing / no such consumer
    {auth_errc::consumer_claim_missing, claim_source::payload, 403, forbidden, "invalid_token", "the access token is invalid"},
    {auth_errc::consumer, claim_source::payload, 403, forbidden, "invalid_token", "the access token is invalid"},
    // signing keyset cannot be loaded
    {auth_errc::keyset_unavailable, claim_source::payload, 500, unexpected, "unexpected", "the access token signing keyset could not be loaded"},
    // no key with the requested alg
    {auth_errc::signing_key_missing, claim_source::payload, 500, unexpected, "unexpected", "the access token signing key could not be found"},
    // JWS encoding/signing failed: 500 but error="invalid_token" (Kong)
    {auth_errc::signing_failed, claim_source::payload, 500, unexpected, "invalid_token", "the access token could not be signed"},
    // 3.12 checks (unverified in Kong; our decision: 401 invalid_token)
    {auth_errc::not_yet_valid, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is not yet valid"},
    {auth_errc::not_yet_valid, claim_source::introspection, 401, unauthorized, "invalid_token", "the access token introspection is not yet valid"},
    {auth_errc::issuer, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    {auth_errc::audience, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    {auth_errc::subject, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    {auth_errc::claim_missing, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    {auth_errc::claim_invalid, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    // countersign additions
    {auth_errc::malformed, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
    {auth_errc::too_large, claim_source::payload, 401, unauthorized, "invalid_token", "the access token is invalid"},
};
// clang-format on

std::string header(const std::string& realm, const std::string& error, const std::string& desc)
{
    return "Bearer realm=\"" + realm + "\", error=\"" + error + "\", error_description=\"" + desc +
           "\"";
}

std::string channel_wording(std::string s)
{
    const std::string from = "the access token";
    REQUIRE(s.rfind(from, 0) == 0);
    return "the channel token" + s.substr(from.size());
}

}  // namespace

TEST_CASE("every row of Kong's error table maps exactly", "[jwt_signer][auth_response]")
{
    for (const auto& r : kong_table) {
        CAPTURE(to_metric_label(r.code), r.source == claim_source::introspection);
        auto resp = make_auth_response(r.code, token_kind::access, "api.example.com", r.source);
        CHECK(resp.status == r.status);
        CHECK(resp.body == r.body);
        CHECK(resp.error == r.error);
        CHECK(resp.error_description == r.description);
        CHECK(resp.www_authenticate == header("api.example.com", r.error, r.description));

        auto ch = make_auth_response(r.code, token_kind::channel, "api.example.com", r.source);
        CHECK(ch.status == r.status);
        CHECK(ch.body == r.body);
        CHECK(ch.www_authenticate ==
              header("api.example.com", r.error, channel_wording(r.description)));
    }
}

TEST_CASE("the table covers every failure reason", "[jwt_signer][auth_response]")
{
    std::set<auth_errc> covered;
    for (const auto& r : kong_table)
        covered.insert(r.code);
    for (int i = 1; i <= static_cast<int>(auth_errc::signing_failed); ++i) {
        CAPTURE(i);
        CHECK(covered.count(static_cast<auth_errc>(i)) == 1);
    }
}

TEST_CASE("literal example of a full answer", "[jwt_signer][auth_response]")
{
    auto r = make_auth_response(auth_errc::expired, token_kind::access, "kong.local");
    CHECK(r.status == 401);
    CHECK(r.body == R"({"message":"Unauthorized"})");
    CHECK(r.www_authenticate ==
          R"(Bearer realm="kong.local", error="invalid_token", error_description="the access token expired")");
}

TEST_CASE("realm comes from config, else from the Host header", "[jwt_signer][auth_response]")
{
    CHECK(resolve_realm(std::string("my-realm"), std::string_view("host.example")) == "my-realm");
    CHECK(resolve_realm(std::string(""), std::string_view("Host.Example:8000")) == "host.example");
    CHECK(resolve_realm(std::nullopt, std::string_view("api.example.com")) == "api.example.com");
    CHECK(resolve_realm(std::nullopt, std::string_view(" API.example.com:443 ")) ==
          "api.example.com");
    CHECK(resolve_realm(std::nullopt, std::string_view("[::1]:8000")) == "[::1]");
    CHECK(resolve_realm(std::nullopt, std::nullopt) == "");
}

TEST_CASE("the header value cannot be broken by the realm", "[jwt_signer][auth_response]")
{
    CHECK(quote_escape(R"(a"b\c)") == R"(a\"b\\c)");
    CHECK(quote_escape("x\r\nSet-Cookie: y") == "xSet-Cookie: y");
    CHECK(quote_escape(std::string("a\0b", 3)) == "ab");
    CHECK(quote_escape("tab\there") == "tab\there");

    auto r = make_auth_response(auth_errc::missing, token_kind::access,
                                "evil\", error=\"x\r\nX-Injected: 1");
    CHECK(r.www_authenticate ==
          R"(Bearer realm="evil\", error=\"xX-Injected: 1", error="invalid_token", error_description="the access token is invalid")");
    CHECK(r.www_authenticate.find('\r') == std::string::npos);
    CHECK(r.www_authenticate.find('\n') == std::string::npos);
}

TEST_CASE("metric labels and error codes", "[jwt_signer][error]")
{
    CHECK(to_metric_label(auth_errc::ok) == "ok");
    CHECK(to_metric_label(auth_errc::expired) == "expired");
    CHECK(to_metric_label(auth_errc::not_yet_valid) == "not_yet_valid");
    CHECK(to_metric_label(auth_errc::consumer) == "consumer");
    CHECK(to_metric_label(auth_errc::claim_missing) == "claim_missing");

    std::set<std::string_view> labels;
    for (int i = 0; i <= static_cast<int>(auth_errc::signing_failed); ++i) {
        auto l = to_metric_label(static_cast<auth_errc>(i));
        CHECK(l != "unknown");
        labels.insert(l);
    }
    CHECK(labels.size() == static_cast<std::size_t>(auth_errc::signing_failed) + 1);

    boost::system::error_code ok = auth_errc::ok;
    CHECK_FALSE(ok);
    boost::system::error_code ec = auth_errc::scope;
    CHECK(ec);
    CHECK(std::string(ec.category().name()) == "countersign.jwt_signer");
    CHECK(ec.message() == "required scopes missing");
    CHECK(status_for(auth_errc::ok) == 200);
}
