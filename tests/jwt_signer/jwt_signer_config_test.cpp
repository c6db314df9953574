// The jwt-signer config: Kong's 153 fields and defaults, the §1.11 rules
// with their exact error texts, secrets, and the typed config.
#include <catch2/catch.hpp>

#include <countersign/jwt_signer/jwt_signer_config.hpp>
#include <countersign/jwt_signer/jwt_signer_schema.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

using namespace countersign;
using namespace countersign::jwt_signer;
using json = nlohmann::json;

namespace {

json validate(const json& cfg, config::error_list& errors)
{
    static const auto schema = jwt_signer_schema();
    return schema.validate(cfg, "plugins[0].config", [](const std::string&) { return 0; }, errors);
}

std::vector<std::string> errors_of(const json& cfg)
{
    config::error_list errors;
    validate(cfg, errors);
    std::vector<std::string> out;
    for (const auto& e : errors.errors()) out.push_back(e.to_string());
    return out;
}

bool has_error(const std::vector<std::string>& errs, const std::string& text)
{
    return std::find(errs.begin(), errs.end(), text) != errs.end();
}

/// The 153 field names of the reference's Appendix A.
std::vector<std::string> appendix_a()
{
    std::ifstream in(std::string(COUNTERSIGN_SHARED_DIR) + "/docs/jwt-signer-reference.md");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    auto start = text.find("## Appendix A");
    if (start != std::string::npos) start = text.find('\n', start);  // skip the heading
    auto end = text.find("## Appendix B");
    std::vector<std::string> names;
    if (start == std::string::npos) return names;
    const std::string section = text.substr(start, end - start);
    std::regex re("`([a-z_]+)`");
    for (auto it = std::sregex_iterator(section.begin(), section.end(), re); it != std::sregex_iterator(); ++it)
        names.push_back((*it)[1]);
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

TEST_CASE("jwt-signer schema has exactly Kong's 153 fields plus documented extensions", "[jwt_signer][config]")
{
    auto expected = appendix_a();
    REQUIRE(expected.size() == 153);
    CHECK(kong_field_names() == expected);
    for (const auto& e : extension_field_names()) {
        const auto* f = jwt_signer_schema().config().member(e);
        REQUIRE(f != nullptr);
    }
    CHECK(jwt_signer_schema().config().members().size() == 153 + extension_field_names().size());
}

TEST_CASE("jwt-signer defaults are Kong's", "[jwt_signer][config]")
{
    config::error_list errors;
    auto c = validate(json::object(), errors);
    INFO(errors.to_string());
    REQUIRE(errors.empty());

    CHECK(c["access_token_request_header"] == "Authorization");
    CHECK(c["channel_token_request_header"].is_null());
    CHECK(c["access_token_upstream_header"] == "Authorization:Bearer");
    CHECK(c["channel_token_upstream_header"].is_null());
    CHECK(c["original_access_token_upstream_header"].is_null());
    CHECK(c["access_token_introspection_hint"] == "access_token");
    CHECK(c["channel_token_introspection_hint"].is_null());
    CHECK(c["access_token_introspection_timeout"].is_null());
    CHECK(c["enable_hs_signatures"] == false);
    CHECK(c["enable_instrumentation"] == false);
    CHECK(c["realm"].is_null());
    CHECK(c["add_claims"] == json::object());
    CHECK(c["set_claims"] == json::object());
    for (std::string t : {"access_token", "channel_token"}) {
        INFO(t);
        CHECK(c[t + "_optional"] == false);
        CHECK(c["verify_" + t + "_signature"] == true);
        CHECK(c[t + "_jwks_uri"].is_null());
        CHECK(c[t + "_jwks_uri_rotate_period"] == 0);
        CHECK(c[t + "_endpoints_ssl_verify"] == true);
        CHECK(c["enable_" + t + "_introspection"] == true);
        CHECK(c["trust_" + t + "_introspection"] == true);
        CHECK(c["cache_" + t + "_introspection"] == true);
        for (std::string p : {t, t + "_introspection"}) {
            INFO(p);
            CHECK(c["verify_" + p + "_expiry"] == true);
            CHECK(c[p + "_leeway"] == 0);
            CHECK(c[p + "_expiry_claim"] == json::array({"exp"}));
            CHECK(c["verify_" + p + "_notbefore"] == false);
            CHECK(c[p + "_notbefore_claim"] == json::array({"nbf"}));
            CHECK(c["verify_" + p + "_scopes"] == true);
            CHECK(c[p + "_scopes_claim"] == json::array({"scope"}));
            CHECK(c[p + "_scopes_required"].is_null());
            CHECK(c["verify_" + p + "_issuer"] == true);
            CHECK(c[p + "_issuer_claim"] == json::array({"iss"}));
            CHECK(c[p + "_issuers_allowed"].is_null());
            CHECK(c["verify_" + p + "_audience"] == true);
            CHECK(c[p + "_audience_claim"] == json::array({"aud"}));
            CHECK(c["verify_" + p + "_subject"] == true);
            CHECK(c[p + "_subject_claim"] == json::array({"sub"}));
            CHECK(c[p + "_required_claims"].is_null());
            CHECK(c[p + "_optional_claims"].is_null());
            CHECK(c[p + "_consumer_claim"].is_null());
            CHECK(c[p + "_consumer_by"] == json::array({"username", "custom_id"}));
        }
        CHECK(c[t + "_signing"] == true);
        CHECK(c[t + "_signing_algorithm"] == "RS256");
        CHECK(c[t + "_issuer"] == "kong");
        CHECK(c[t + "_keyset"] == "kong");
        CHECK(c[t + "_keyset_rotate_period"] == 0);
        CHECK(c[t + "_upstream_leeway"] == 0);
        CHECK(c["add_" + t + "_claims"] == json::object());
        CHECK(c["set_" + t + "_claims"] == json::object());
        CHECK(c["remove_" + t + "_claims"] == json::array());
        // countersign extensions
        CHECK(c[t + "_introspection_cache_max_ttl"] == 3600);
        CHECK(c[t + "_introspection_cache_inactive_ttl"] == 5);
    }
    CHECK(c["max_token_bytes"] == 8192);
    CHECK(c["keyset_rsa_bits"] == 2048);
    CHECK(c["keyset_include_ed448"] == false);
}

TEST_CASE("jwt-signer §1.11 validation rules and their error texts", "[jwt_signer][config]")
{
    SECTION("URLs")
    {
        auto e = errors_of({{"access_token_jwks_uri", "not a url"},
                            {"channel_token_introspection_endpoint", "ftp://x/introspect"}});
        INFO(::Catch::Detail::stringify(e));
        CHECK(has_error(e, "plugins[0].config.access_token_jwks_uri: must be an absolute http or https URL"));
        CHECK(has_error(e, "plugins[0].config.channel_token_introspection_endpoint: must be an absolute http or https URL"));
    }
    SECTION("consumer_by elements")
    {
        auto e = errors_of({{"access_token_consumer_by", {"username", "email"}}});
        INFO(::Catch::Detail::stringify(e));
        REQUIRE(e.size() == 1);
        CHECK(e[0].rfind("plugins[0].config.access_token_consumer_by[1]: expected one of: ", 0) == 0);
    }
    SECTION("signing algorithm enum of 12, RS384 not selectable")
    {
        CHECK(signing_algorithm_names().size() == 12);
        for (const auto& a : signing_algorithm_names())
            CHECK(errors_of({{"access_token_signing_algorithm", a}}).empty());
        auto e = errors_of({{"access_token_signing_algorithm", "RS384"}});
        REQUIRE(e.size() == 1);
        CHECK(e[0].rfind("plugins[0].config.access_token_signing_algorithm: expected one of: ", 0) == 0);
        CHECK(errors_of({{"channel_token_signing_algorithm", "none"}}).size() == 1);
    }
    SECTION("the four upstream header names must differ")
    {
        auto e = errors_of({{"original_access_token_upstream_header", "AAA"},
                            {"original_channel_token_upstream_header", "AAA"}});
        INFO(::Catch::Detail::stringify(e));
        REQUIRE(e.size() == 1);
        CHECK(e[0] == "plugins[0].config.original_channel_token_upstream_header: must differ from "
                      "original_access_token_upstream_header (both name the header 'aaa')");
        // the :Bearer suffix is not part of the name
        e = errors_of({{"channel_token_upstream_header", "authorization"}});
        REQUIRE(e.size() == 1);
        CHECK(e[0] == "plugins[0].config.channel_token_upstream_header: must differ from "
                      "access_token_upstream_header (both name the header 'authorization')");
        CHECK(errors_of({{"channel_token_upstream_header", "X-JWT-channel-upstream"},
                         {"original_access_token_upstream_header", "X-Original-Access"}})
                  .empty());
    }
    SECTION("client username and password together")
    {
        auto e = errors_of({{"access_token_jwks_uri_client_username", "u"}});
        REQUIRE(e.size() == 1);
        CHECK(e[0] == "plugins[0].config: all or none of these fields must be set: "
                      "'access_token_jwks_uri_client_username', 'access_token_jwks_uri_client_password'");
        e = errors_of({{"channel_token_keyset_client_password", "p"}});
        REQUIRE(e.size() == 1);
        CHECK(e[0] == "plugins[0].config: all or none of these fields must be set: "
                      "'channel_token_keyset_client_username', 'channel_token_keyset_client_password'");
    }
    SECTION("header names and suffixes")
    {
        auto e = errors_of({{"access_token_request_header", "Authorization:Digest"}});
        REQUIRE(e.size() == 1);
        CHECK(e[0].rfind("plugins[0].config.access_token_request_header: ", 0) == 0);
        CHECK(errors_of({{"access_token_request_header", "authorization:basic"}}).empty());
        CHECK(errors_of({{"channel_token_request_header", "X-JWT-channel-client"}}).empty());
        CHECK(errors_of({{"access_token_upstream_header", "Bad Header"}}).size() == 1);
    }
    SECTION("client certificates")
    {
        auto e = errors_of({{"access_token_jwks_uri_client_certificate", {{"id", "8f8f..."}}}});
        REQUIRE(e.size() == 1);
        CHECK(e[0] == "plugins[0].config.access_token_jwks_uri_client_certificate.id: certificate references are "
                      "not supported: countersign has no Certificate entities; set `cert` and `key` (PEM files) instead");
        e = errors_of({{"access_token_keyset_client_certificate", {{"cert", "/c.pem"}}}});
        REQUIRE(e.size() == 1);
        CHECK(e[0] == "plugins[0].config.access_token_keyset_client_certificate: `cert` and `key` must be set together");
    }
    SECTION("unknown fields, types, ranges")
    {
        CHECK(has_error(errors_of({{"access_token_bogus", true}}), "plugins[0].config.access_token_bogus: unknown field"));
        CHECK(has_error(errors_of({{"access_token_optional", "maybe"}}),
                        "plugins[0].config.access_token_optional: expected a boolean"));
        CHECK(has_error(errors_of({{"access_token_jwks_uri_rotate_period", -1}}),
                        "plugins[0].config.access_token_jwks_uri_rotate_period: value must be at least 0"));
        CHECK(has_error(errors_of({{"keyset_rsa_bits", 1024}}),
                        "plugins[0].config.keyset_rsa_bits: expected one of: 2048, 3072, 4096"));
        CHECK(!errors_of({{"access_token_keyset", "../../etc"}}).empty());
        CHECK(errors_of({{"access_token_keyset", "https://keys.example.com/jwks"}}).empty());
        CHECK(has_error(errors_of({{"add_claims", {{"a", 1}}}}), "plugins[0].config.add_claims.a: expected a string"));
    }
}

TEST_CASE("jwt-signer secrets are redacted", "[jwt_signer][config]")
{
    json in{{"access_token_jwks_uri_client_username", "u"},
            {"access_token_jwks_uri_client_password", "pw1"},
            {"channel_token_keyset_client_username", "u"},
            {"channel_token_keyset_client_password", "pw2"},
            {"access_token_introspection_authorization", "Basic c2VjcmV0"}};
    config::error_list errors;
    auto c = validate(in, errors);
    REQUIRE(errors.empty());
    auto r = jwt_signer_schema().redact(c);
    CHECK(r["access_token_jwks_uri_client_password"] == "<redacted>");
    CHECK(r["channel_token_keyset_client_password"] == "<redacted>");
    CHECK(r["access_token_introspection_authorization"] == "<redacted>");
    CHECK(r["access_token_jwks_uri_client_username"] == "u");
}

TEST_CASE("jwt-signer typed config", "[jwt_signer][config]")
{
    SECTION("defaults")
    {
        config::error_list errors;
        auto c = jwt_signer_config::from_json(validate(json::object(), errors), &errors);
        REQUIRE(errors.empty());
        CHECK(c.access.extractor.location().header_name == "Authorization");
        CHECK_FALSE(c.channel.extractor.location().configured());
        CHECK(c.access.signing.enabled);
        CHECK(c.access.signing.upstream_header.header_name == "Authorization");
        CHECK(c.access.signing.upstream_header.scheme == auth_scheme::bearer);
        CHECK_FALSE(c.channel.signing.enabled);  // no channel upstream header
        CHECK(c.access.signing.algorithm == jose::alg::rs256);
        CHECK(c.access.signing.keyset == "kong");
        CHECK_FALSE(c.access.signing.keyset_is_url);
        CHECK(c.access.introspection.hint == "access_token");
        CHECK(c.channel.introspection.hint.empty());
        CHECK(c.access.verifier.verify_signature);
        auto& algs = c.access.verifier.allowed_algs;
        CHECK(std::find(algs.begin(), algs.end(), jose::alg::hs256) == algs.end());
        CHECK(std::find(algs.begin(), algs.end(), jose::alg::es256) != algs.end());
        CHECK(c.max_token_bytes == 8192);
        CHECK(c.access.verifier.max_token_bytes == 8192);
        CHECK(c.keyset_generation.rsa_bits == 2048);
        CHECK_FALSE(c.realm);
        CHECK(c.access.payload_consumer.consumer_claim.empty());
    }
    SECTION("a full config")
    {
        json in{{"enable_hs_signatures", true},
                {"realm", "example"},
                {"access_token_jwks_uri", "https://idp.example/jwks"},
                {"access_token_jwks_uri_client_username", "user"},
                {"access_token_jwks_uri_client_password", "pass"},
                {"access_token_jwks_uri_rotate_period", 300},
                {"access_token_endpoints_ssl_verify", false},
                {"access_token_introspection_endpoint", "https://idp.example/introspect"},
                {"access_token_introspection_body_args", "resource=api&a=1"},
                {"access_token_introspection_timeout", 1500},
                {"access_token_introspection_jwt_claim", {"token_string"}},
                {"trust_access_token_introspection", false},
                {"channel_token_request_header", "X-JWT-channel-client"},
                {"channel_token_upstream_header", "X-JWT-channel-upstream"},
                {"channel_token_signing_algorithm", "ES256"},
                {"channel_token_keyset", "https://keys.example/private"},
                {"original_access_token_upstream_header", "X-Original-Access"},
                {"access_token_upstream_leeway", -10},
                {"set_claims", {{"env", "\"prod\""}}},
                {"access_token_consumer_claim", {"sub"}},
                {"access_token_consumer_by", {"id"}}};
        config::error_list errors;
        auto v = validate(in, errors);
        INFO(errors.to_string());
        REQUIRE(errors.empty());
        auto c = jwt_signer_config::from_json(v, &errors);
        INFO(errors.to_string());
        REQUIRE(errors.empty());
        CHECK(c.realm == std::optional<std::string>("example"));
        auto& algs = c.access.verifier.allowed_algs;
        CHECK(std::find(algs.begin(), algs.end(), jose::alg::hs256) != algs.end());
        CHECK(c.access.verifier.jwks_uri == "https://idp.example/jwks");
        REQUIRE(c.access.verifier.jwks_options.basic);
        CHECK(c.access.verifier.jwks_options.basic->username == "user");
        CHECK(c.access.verifier.jwks_options.rotate_period == std::chrono::seconds(300));
        CHECK_FALSE(c.access.verifier.jwks_options.tls.verify);
        CHECK(c.channel.verifier.jwks_options.tls.verify);
        CHECK(c.access.introspection.body_args ==
              std::vector<std::pair<std::string, std::string>>{{"resource", "api"}, {"a", "1"}});
        CHECK(c.access.introspection.timeout == std::chrono::milliseconds(1500));
        CHECK(c.access.introspection.jwt_claim == claim_path{"token_string"});
        CHECK_FALSE(c.access.introspection.trust);
        CHECK(c.channel.extractor.location().header_name == "X-JWT-channel-client");
        CHECK(c.channel.signing.enabled);
        CHECK(c.channel.signing.upstream_header.scheme == auth_scheme::none);
        CHECK(c.channel.signing.algorithm == jose::alg::es256);
        CHECK(c.channel.signing.keyset_is_url);
        CHECK(c.access.signing.original_upstream_header == "X-Original-Access");
        CHECK(c.access.signing.transform.upstream_leeway == -10);
        CHECK(c.access.signing.transform.global_set_claims.at("env") == "\"prod\"");
        CHECK(c.access.payload_consumer.consumer_claim == claim_path{"sub"});
        CHECK(c.access.payload_consumer.consumer_by == std::vector<consumer_field>{consumer_field::id});
    }
    SECTION("bad body args are reported at load")
    {
        config::error_list errors;
        auto v = validate({{"access_token_introspection_body_args", "a=%zz"}}, errors);
        REQUIRE(errors.empty());
        jwt_signer_config::from_json(v, &errors, "plugins[0].config");
        REQUIRE(errors.size() == 1);
        CHECK(errors.errors()[0].to_string() ==
              "plugins[0].config.access_token_introspection_body_args: must be a url-encoded form (a=1&b=2)");
    }
}
