#include "countersign/jwt_signer/claims_verifier.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jwt_signer;
using countersign::manual_clock;
using json = nlohmann::json;

namespace {

constexpr std::int64_t now = 1'700'000'000;

auth_errc run(const claims_config& cfg, const json& doc, const manual_clock& clk)
{
    return claims_verifier(cfg).verify(doc, clk).code;
}

claims_config payload_cfg()
{
    claims_config c;
    c.scopes_claim = claim_path{"scope"};
    return c;
}

claims_config introspection_cfg()
{
    claims_config c;
    c.source = claim_source::introspection;
    return c;
}

}  // namespace

TEST_CASE("expiry: Kong's rule now > exp + leeway", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();

    SECTION("leeway 0: exp == now passes, exp == now - 1 fails, exp == now + 1 passes")
    {
        CHECK(run(cfg, {{"exp", now}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"exp", now - 1}}, clk) == auth_errc::expired);
        CHECK(run(cfg, {{"exp", now + 1}}, clk) == auth_errc::ok);
    }
    SECTION("sub-second clock time is truncated to whole seconds")
    {
        clk.advance(std::chrono::milliseconds(999));
        CHECK(run(cfg, {{"exp", now}}, clk) == auth_errc::ok);
        clk.advance(std::chrono::milliseconds(1));
        CHECK(run(cfg, {{"exp", now}}, clk) == auth_errc::expired);
    }
    SECTION("positive leeway extends validity by exactly leeway seconds")
    {
        cfg.leeway = 30;
        CHECK(run(cfg, {{"exp", now - 30}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"exp", now - 31}}, clk) == auth_errc::expired);
    }
    SECTION("negative leeway tightens")
    {
        cfg.leeway = -10;
        CHECK(run(cfg, {{"exp", now + 10}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"exp", now + 9}}, clk) == auth_errc::expired);
    }
    SECTION("fractional exp")
    {
        CHECK(run(cfg, {{"exp", now - 0.5}}, clk) == auth_errc::expired);
        CHECK(run(cfg, {{"exp", now + 0.5}}, clk) == auth_errc::ok);
    }
    SECTION("a JWS without exp passes (taken as now)")
    {
        CHECK(run(cfg, json::object(), clk) == auth_errc::ok);
        CHECK(run(cfg, {{"exp", nullptr}}, clk) == auth_errc::ok);
    }
    SECTION("... unless the leeway is negative (now > now + leeway), as in Kong")
    {
        cfg.leeway = -1;
        CHECK(run(cfg, json::object(), clk) == auth_errc::expired);
    }
    SECTION("a present non-numeric exp is rejected (countersign)")
    {
        CHECK(run(cfg, {{"exp", "1700000000"}}, clk) == auth_errc::claim_invalid);
        CHECK(run(cfg, {{"exp", true}}, clk) == auth_errc::claim_invalid);
    }
    SECTION("verify switch off")
    {
        cfg.verify_expiry = false;
        CHECK(run(cfg, {{"exp", 1}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"exp", "junk"}}, clk) == auth_errc::ok);
    }
    SECTION("relocated expiry claim")
    {
        cfg.expiry_claim = claim_path{"times", "until"};
        CHECK(run(cfg, {{"exp", 1}, {"times", {{"until", now}}}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"times", {{"until", now - 1}}}}, clk) == auth_errc::expired);
    }
    SECTION("detail names the times")
    {
        auto s = claims_verifier(cfg).verify({{"exp", now - 5}}, clk);
        CHECK_THAT(s.detail, Catch::Contains("1699999995") && Catch::Contains("1700000000"));
    }
}

TEST_CASE("introspection expiry is mandatory", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = introspection_cfg();
    CHECK(run(cfg, {{"active", true}, {"exp", now}}, clk) == auth_errc::ok);
    CHECK(run(cfg, {{"active", true}, {"exp", now - 1}}, clk) == auth_errc::expired);
    CHECK(run(cfg, {{"active", true}}, clk) == auth_errc::no_expiry);
    CHECK(run(cfg, {{"active", true}, {"exp", "soon"}}, clk) == auth_errc::no_expiry);
    cfg.leeway = 5;
    CHECK(run(cfg, {{"exp", now - 5}}, clk) == auth_errc::ok);
    CHECK(run(cfg, {{"exp", now - 6}}, clk) == auth_errc::expired);
    cfg.verify_expiry = false;
    CHECK(run(cfg, json::object(), clk) == auth_errc::ok);
}

TEST_CASE("not-before", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();
    SECTION("off by default")
    {
        CHECK_FALSE(cfg.verify_notbefore);
        CHECK(run(cfg, {{"nbf", now + 1000}}, clk) == auth_errc::ok);
    }
    SECTION("now < nbf - leeway fails; nbf == now passes")
    {
        cfg.verify_notbefore = true;
        CHECK(run(cfg, {{"nbf", now}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"nbf", now - 1}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"nbf", now + 1}}, clk) == auth_errc::not_yet_valid);
        cfg.leeway = 10;
        CHECK(run(cfg, {{"nbf", now + 10}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"nbf", now + 11}}, clk) == auth_errc::not_yet_valid);
    }
    SECTION("missing nbf passes, non-numeric is invalid")
    {
        cfg.verify_notbefore = true;
        CHECK(run(cfg, json::object(), clk) == auth_errc::ok);
        CHECK(run(cfg, {{"nbf", "x"}}, clk) == auth_errc::claim_invalid);
    }
    SECTION("relocated claim")
    {
        cfg.verify_notbefore = true;
        cfg.notbefore_claim = claim_path{"valid_from"};
        CHECK(run(cfg, {{"nbf", now + 100}, {"valid_from", now}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"valid_from", now + 100}}, clk) == auth_errc::not_yet_valid);
    }
}

TEST_CASE("issuer, audience and subject allow-lists", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();

    SECTION("empty allow-lists check nothing")
    {
        CHECK(run(cfg, {{"iss", "anyone"}, {"aud", 5}}, clk) == auth_errc::ok);
    }
    SECTION("issuer")
    {
        cfg.issuers_allowed = {"https://idp.example/"};
        CHECK(run(cfg, {{"iss", "https://idp.example/"}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"iss", "https://evil.example/"}}, clk) == auth_errc::issuer);
        CHECK(run(cfg, json::object(), clk) == auth_errc::issuer);
        CHECK(run(cfg, {{"iss", json::array({"https://idp.example/"})}}, clk) == auth_errc::issuer);
        cfg.issuer_claim = claim_path{"meta", "issuer"};
        CHECK(run(cfg, {{"meta", {{"issuer", "https://idp.example/"}}}}, clk) == auth_errc::ok);
        cfg.verify_issuer = false;
        CHECK(run(cfg, {{"iss", "https://evil.example/"}}, clk) == auth_errc::ok);
    }
    SECTION("audience: string or array, any allowed value passes")
    {
        cfg.audiences_allowed = {"api", "web"};
        CHECK(run(cfg, {{"aud", "api"}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"aud", json::array({"other", "web"})}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"aud", json::array({"other"})}}, clk) == auth_errc::audience);
        CHECK(run(cfg, {{"aud", json::array()}}, clk) == auth_errc::audience);
        CHECK(run(cfg, {{"aud", "API"}}, clk) == auth_errc::audience);
        CHECK(run(cfg, {{"aud", 1}}, clk) == auth_errc::audience);
        CHECK(run(cfg, json::object(), clk) == auth_errc::audience);
        cfg.verify_audience = false;
        CHECK(run(cfg, json::object(), clk) == auth_errc::ok);
    }
    SECTION("subject; numbers compare as text")
    {
        cfg.subjects_allowed = {"alice", "42"};
        CHECK(run(cfg, {{"sub", "alice"}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"sub", 42}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"sub", "bob"}}, clk) == auth_errc::subject);
        CHECK(run(cfg, json::object(), clk) == auth_errc::subject);
        cfg.verify_subject = false;
        CHECK(run(cfg, {{"sub", "bob"}}, clk) == auth_errc::ok);
    }
}

TEST_CASE("required and optional claims", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();
    SECTION("required claims must exist")
    {
        cfg.required_claims = {claim_path{"sub"}, claim_path{"org", "id"}};
        CHECK(run(cfg, {{"sub", "a"}, {"org", {{"id", 7}}}}, clk) == auth_errc::ok);
        CHECK(run(cfg, {{"sub", "a"}}, clk) == auth_errc::claim_missing);
        CHECK(run(cfg, {{"sub", "a"}, {"org", {{"id", nullptr}}}}, clk) ==
              auth_errc::claim_missing);
    }
    SECTION("required claims are type-checked when registered")
    {
        cfg.required_claims = {claim_path{"exp"}, claim_path{"iss"}};
        CHECK(run(cfg, {{"exp", now}, {"iss", "x"}}, clk) == auth_errc::ok);
        // Makes exp mandatory for a JWS, which Kong does not by default.
        CHECK(run(cfg, {{"iss", "x"}}, clk) == auth_errc::claim_missing);
        CHECK(run(cfg, {{"exp", now}, {"iss", 5}}, clk) == auth_errc::claim_invalid);
    }
    SECTION("optional claims are checked only when present")
    {
        cfg.optional_claims = {claim_path{"iat"}, claim_path{"aud"}, claim_path{"jti"},
                               claim_path{"custom"}};
        CHECK(run(cfg, json::object(), clk) == auth_errc::ok);
        CHECK(run(cfg, {{"iat", now}, {"aud", json::array({"a", "b"})}, {"jti", "x"}}, clk) ==
              auth_errc::ok);
        CHECK(run(cfg, {{"iat", "yesterday"}}, clk) == auth_errc::claim_invalid);
        CHECK(run(cfg, {{"aud", json::array({"a", 1})}}, clk) == auth_errc::claim_invalid);
        CHECK(run(cfg, {{"jti", 1}}, clk) == auth_errc::claim_invalid);
        CHECK(run(cfg, {{"custom", json::object()}}, clk) == auth_errc::ok);
    }
    SECTION("a relocated expiry claim gets the time type rule")
    {
        cfg.expiry_claim = claim_path{"t", "exp"};
        cfg.verify_expiry = false;
        cfg.optional_claims = {claim_path{"t", "exp"}};
        CHECK(run(cfg, {{"t", {{"exp", "x"}}}}, clk) == auth_errc::claim_invalid);
    }
}

TEST_CASE("scopes through the verifier", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();
    const json token = json::parse(R"({"employee":{"favourites":{"beverage":"coffee"}}})");
    cfg.scopes_claim = claim_path{"employee", "favourites", "beverage"};

    cfg.scopes_required = {"coffee"};
    CHECK(run(cfg, token, clk) == auth_errc::ok);
    cfg.scopes_required = {"tea"};
    CHECK(run(cfg, token, clk) == auth_errc::scope);
    cfg.verify_scopes = false;
    CHECK(run(cfg, token, clk) == auth_errc::ok);

    cfg.verify_scopes = true;
    cfg.scopes_claim = claim_path{};
    CHECK(run(cfg, token, clk) == auth_errc::scopes_claim_not_configured);
}

TEST_CASE("order of checks: the first failure wins", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();
    cfg.verify_notbefore = true;
    cfg.issuers_allowed = {"good"};
    cfg.audiences_allowed = {"api"};
    cfg.subjects_allowed = {"alice"};
    cfg.required_claims = {claim_path{"tenant"}};
    cfg.scopes_required = {"read"};
    json doc = {{"exp", now - 1}, {"nbf", now + 1}, {"iss", "bad"}, {"aud", "x"}, {"sub", "bob"},
                {"scope", "write"}};
    CHECK(run(cfg, doc, clk) == auth_errc::expired);
    doc["exp"] = now;
    CHECK(run(cfg, doc, clk) == auth_errc::not_yet_valid);
    doc["nbf"] = now;
    CHECK(run(cfg, doc, clk) == auth_errc::issuer);
    doc["iss"] = "good";
    CHECK(run(cfg, doc, clk) == auth_errc::audience);
    doc["aud"] = "api";
    CHECK(run(cfg, doc, clk) == auth_errc::subject);
    doc["sub"] = "alice";
    CHECK(run(cfg, doc, clk) == auth_errc::claim_missing);
    doc["tenant"] = "t1";
    CHECK(run(cfg, doc, clk) == auth_errc::scope);
    doc["scope"] = "read write";
    CHECK(run(cfg, doc, clk) == auth_errc::ok);
}

TEST_CASE("config from Kong's field names", "[jwt_signer][claims]")
{
    countersign::config::error_list errors;
    SECTION("defaults")
    {
        auto c = claims_config::from_plugin_config(json::object(), token_kind::access,
                                                   claim_source::payload, &errors);
        CHECK(c.verify_expiry);
        CHECK(c.leeway == 0);
        CHECK(c.expiry_claim == claim_path{"exp"});
        CHECK_FALSE(c.verify_notbefore);
        CHECK(c.notbefore_claim == claim_path{"nbf"});
        CHECK(c.verify_issuer);
        CHECK(c.issuer_claim == claim_path{"iss"});
        CHECK(c.audience_claim == claim_path{"aud"});
        CHECK(c.subject_claim == claim_path{"sub"});
        CHECK(c.verify_scopes);
        CHECK(c.scopes_claim == claim_path{"scope"});
        CHECK(c.scopes_required.empty());
        CHECK(errors.empty());
    }
    SECTION("payload fields of the channel token")
    {
        json cfg = {
            {"verify_channel_token_expiry", false},
            {"channel_token_leeway", 15},
            {"channel_token_expiry_claim", {"t", "e"}},
            {"verify_channel_token_notbefore", true},
            {"channel_token_notbefore_claim", {"t", "n"}},
            {"verify_channel_token_issuer", false},
            {"channel_token_issuer_claim", {"i"}},
            {"channel_token_issuers_allowed", {"iss1"}},
            {"verify_channel_token_audience", false},
            {"channel_token_audience_claim", {"a"}},
            {"channel_token_audiences_allowed", {"aud1", "aud2"}},
            {"verify_channel_token_subject", false},
            {"channel_token_subject_claim", {"s"}},
            {"channel_token_subjects_allowed", {"sub1"}},
            {"channel_token_required_claims", {{"x"}, {"y", "z"}}},
            {"channel_token_optional_claims", {{"o"}}},
            {"verify_channel_token_scopes", false},
            {"channel_token_scopes_claim", {"employee", "favourites", "beverage"}},
            {"channel_token_scopes_required", {"coffee"}},
            // The access-token and introspection twins must not be picked up.
            {"access_token_leeway", 99},
            {"channel_token_introspection_leeway", 77},
        };
        auto c = claims_config::from_plugin_config(cfg, token_kind::channel,
                                                   claim_source::payload, &errors);
        CHECK(errors.empty());
        CHECK(c.kind == token_kind::channel);
        CHECK_FALSE(c.verify_expiry);
        CHECK(c.leeway == 15);
        CHECK(c.expiry_claim == claim_path{"t", "e"});
        CHECK(c.verify_notbefore);
        CHECK(c.notbefore_claim == claim_path{"t", "n"});
        CHECK_FALSE(c.verify_issuer);
        CHECK(c.issuer_claim == claim_path{"i"});
        CHECK(c.issuers_allowed == std::vector<std::string>{"iss1"});
        CHECK_FALSE(c.verify_audience);
        CHECK(c.audience_claim == claim_path{"a"});
        CHECK(c.audiences_allowed == std::vector<std::string>{"aud1", "aud2"});
        CHECK_FALSE(c.verify_subject);
        CHECK(c.subject_claim == claim_path{"s"});
        CHECK(c.subjects_allowed == std::vector<std::string>{"sub1"});
        REQUIRE(c.required_claims.size() == 2);
        CHECK(c.required_claims[1] == claim_path{"y", "z"});
        REQUIRE(c.optional_claims.size() == 1);
        CHECK_FALSE(c.verify_scopes);
        CHECK(c.scopes_claim == claim_path{"employee", "favourites", "beverage"});
        CHECK(c.scopes_required == std::vector<std::string>{"coffee"});
    }
    SECTION("introspection twins")
    {
        json cfg = {
            {"verify_access_token_introspection_expiry", false},
            {"access_token_introspection_leeway", 3},
            {"verify_access_token_introspection_notbefore", true},
            {"access_token_introspection_issuers_allowed", {"i"}},
            {"access_token_introspection_scopes_claim", {"scp"}},
            {"access_token_introspection_scopes_required", {"a b", "c"}},
            {"access_token_introspection_required_claims", {{"client_id"}}},
            {"access_token_leeway", 99},
        };
        auto c = claims_config::from_plugin_config(cfg, token_kind::access,
                                                   claim_source::introspection, &errors);
        CHECK(errors.empty());
        CHECK(c.source == claim_source::introspection);
        CHECK_FALSE(c.verify_expiry);
        CHECK(c.leeway == 3);
        CHECK(c.verify_notbefore);
        CHECK(c.issuers_allowed == std::vector<std::string>{"i"});
        CHECK(c.scopes_claim == claim_path{"scp"});
        CHECK(c.scopes_required.size() == 2);
        CHECK(c.required_claims.size() == 1);
    }
    SECTION("null / empty values")
    {
        json cfg = {{"access_token_expiry_claim", nullptr},
                    {"access_token_issuer_claim", json::array()},
                    {"access_token_scopes_claim", nullptr},
                    {"access_token_scopes_required", nullptr},
                    {"access_token_leeway", nullptr}};
        auto c = claims_config::from_plugin_config(cfg, token_kind::access,
                                                   claim_source::payload, &errors);
        CHECK(errors.empty());
        CHECK(c.expiry_claim == claim_path{"exp"});  // unset falls back to the default
        CHECK(c.issuer_claim == claim_path{"iss"});
        CHECK(c.scopes_claim.empty());               // unset: 500 if scopes are required
        CHECK(c.leeway == 0);
    }
    SECTION("comma-separated path strings")
    {
        json cfg = {{"access_token_scopes_claim", "realm_access,roles"}};
        auto c = claims_config::from_plugin_config(cfg, token_kind::access,
                                                   claim_source::payload, &errors);
        CHECK(c.scopes_claim == claim_path{"realm_access", "roles"});
    }
    SECTION("wrong types are reported and keep defaults")
    {
        json cfg = {{"verify_access_token_expiry", "yes"},
                    {"access_token_leeway", "5"},
                    {"access_token_issuers_allowed", "iss"},
                    {"access_token_required_claims", {{1}}}};
        auto c = claims_config::from_plugin_config(cfg, token_kind::access,
                                                   claim_source::payload, &errors);
        CHECK(errors.size() == 4);
        CHECK(errors.errors()[0].path == "config.verify_access_token_expiry");
        CHECK(c.verify_expiry);
        CHECK(c.leeway == 0);
    }
}

TEST_CASE("the time checks and the static checks split verify in two", "[jwt_signer][claims]")
{
    manual_clock clk(now);
    auto cfg = payload_cfg();
    cfg.issuers_allowed = {"https://idp.example/"};
    cfg.scopes_required = {"read"};
    cfg.verify_notbefore = true;  // off by default, as in Kong
    const claims_verifier v(cfg);
    const json good{{"iss", "https://idp.example/"}, {"scope", "read"}, {"exp", now + 10}};

    SECTION("a good document passes both, and verify")
    {
        CHECK(v.verify_time(good, now).ok());
        CHECK(v.verify_static(good).ok());
        CHECK(v.verify(good, clk).ok());
    }
    SECTION("the time checks read only exp and nbf, at the time given")
    {
        auto bad_issuer = good;
        bad_issuer["iss"] = "https://evil.example/";
        CHECK(v.verify_time(bad_issuer, now).ok());
        CHECK(v.verify_time(good, now + 11).code == auth_errc::expired);
        auto later = good;
        later["nbf"] = now + 5;
        CHECK(v.verify_time(later, now).code == auth_errc::not_yet_valid);
        CHECK(v.verify_time(later, now + 5).ok());
    }
    SECTION("the static checks ignore the time")
    {
        auto expired = good;
        expired["exp"] = now - 100;
        CHECK(v.verify_static(expired).ok());
        auto no_scope = good;
        no_scope["scope"] = "write";
        CHECK(v.verify_static(no_scope).code == auth_errc::scope);
        auto bad_issuer = good;
        bad_issuer["iss"] = "https://evil.example/";
        CHECK(v.verify_static(bad_issuer).code == auth_errc::issuer);
    }
    SECTION("verify reports a time failure before a static one")
    {
        auto both = good;
        both["exp"] = now - 100;
        both["iss"] = "https://evil.example/";
        CHECK(v.verify(both, clk).code == auth_errc::expired);
    }
}
