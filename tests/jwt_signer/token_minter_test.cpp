// claims_transform (reference §3.11 rules) and token minting for the 12
// signing algorithms, cross-checked with the JOSE verifier and with Debian's
// python3-jwt (an independent implementation).

#include "countersign/jose/base64url.hpp"
#include "countersign/jose/jws.hpp"
#include "countersign/jwt_signer/file_keystore.hpp"
#include "countersign/jwt_signer/keyset_manager.hpp"
#include "countersign/jwt_signer/token_minter.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>

using namespace countersign::jwt_signer;
using countersign::jose::alg;
using nlohmann::json;

namespace {

constexpr std::int64_t now = 1'700'000'000;

json run_transform(const claims_transform_config& cfg, const json& in, claims_source src = claims_source::jws_payload)
{
    auto r = claims_transform(cfg).apply(in, src, now);
    REQUIRE(r.has_value());
    return *r;
}

// A complete generated keyset, built once for the whole file.
const keyset& full_keyset()
{
    static const keyset_ptr ks = [] {
        keyset_record rec;
        rec.name = "kong";
        rec.id = make_uuid_v4();
        rec.created_at = rec.updated_at = now;
        rec.generation = 1;
        rec.current = keyset::generate_generation({.rsa_bits = 2048, .include_ed448 = true}).value();
        return keyset::from_record(rec).value();
    }();
    return *ks;
}

const std::array<alg, 12> signing_algs = {alg::hs256, alg::hs384, alg::hs512, alg::rs256, alg::rs512, alg::es256,
                                          alg::es384, alg::es512, alg::ps256, alg::ps384, alg::ps512, alg::eddsa};

// Verifies with the key published in `jwks` under the token's kid (or, for
// HMAC, the private key itself: HS keys are never published).
void verify_with_jose(const std::string& token, alg a, const keyset& ks, const json& jwks)
{
    auto parsed = countersign::jose::parse_compact(token);
    REQUIRE(parsed.has_value());
    const alg allowed[] = {a};
    if (countersign::jose::family_of(a) == countersign::jose::alg_family::hmac) {
        const auto* k = ks.select(a);
        REQUIRE(k != nullptr);
        CHECK_FALSE(countersign::jose::verify_jws(*parsed, *k, allowed));
        return;
    }
    const json* found = nullptr;
    for (const auto& k : jwks["keys"])
        if (k["kid"] == parsed->kid())
            found = &k;
    REQUIRE(found != nullptr);
    auto pub = countersign::jose::jwk::from_json(*found);
    REQUIRE(pub.has_value());
    CHECK_FALSE(countersign::jose::verify_jws(*parsed, *pub, allowed));
}

std::string run(const std::string& cmd)
{
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    const int status = ::pclose(p);
    INFO(out);
    REQUIRE(status == 0);
    return out;
}

const char* pyjwt_script = R"PY(
import json, sys, base64, jwt
jwks = json.load(open(sys.argv[1]))
cases = json.load(open(sys.argv[2]))
by_kid = {k["kid"]: k for k in jwks["keys"]}
for c in cases:
    tok, alg = c["token"], c["alg"]
    hdr = jwt.get_unverified_header(tok)
    assert hdr == {"typ": "JWT", "alg": alg, "kid": hdr["kid"]}, hdr
    if "secret" in c:
        key = base64.urlsafe_b64decode(c["secret"] + "=" * (-len(c["secret"]) % 4))
    else:
        key = jwt.PyJWK(by_kid[hdr["kid"]]).key
    claims = jwt.decode(tok, key, algorithms=[alg], options={"verify_aud": False})
    assert claims == c["claims"], (claims, c["claims"])
    print("OK", alg)
)PY";

}  // namespace

// ---------------------------------------------------------------------------
// claims_transform

TEST_CASE("claims: iss replaced, original_iss kept only when there was one", "[jwt_signer][claims]")
{
    claims_transform_config cfg;
    auto out = run_transform(cfg, json{{"iss", "https://idp"}, {"sub", "alice"}});
    CHECK(out == json{{"iss", "kong"}, {"original_iss", "https://idp"}, {"sub", "alice"}});

    out = run_transform(cfg, json{{"sub", "alice"}});
    CHECK(out == json{{"iss", "kong"}, {"sub", "alice"}});

    cfg.issuer = "countersign";
    out = run_transform(cfg, json{{"iss", "countersign"}});
    CHECK(out["iss"] == "countersign");
    CHECK(out["original_iss"] == "countersign");

    cfg.issuer = "";  // unset: iss left alone
    out = run_transform(cfg, json{{"iss", "https://idp"}});
    CHECK(out == json{{"iss", "https://idp"}});

    // Non-string incoming iss is preserved as is.
    cfg.issuer = "kong";
    out = run_transform(cfg, json{{"iss", 5}});
    CHECK(out["original_iss"] == 5);
}

TEST_CASE("claims: upstream_leeway and original_exp", "[jwt_signer][claims]")
{
    claims_transform_config cfg;
    SECTION("zero leeway leaves exp alone and adds no original_exp")
    {
        auto out = run_transform(cfg, json{{"exp", now + 60}});
        CHECK(out["exp"] == now + 60);
        CHECK_FALSE(out.contains("original_exp"));
        out = run_transform(cfg, json::object());
        CHECK_FALSE(out.contains("exp"));
    }
    SECTION("positive leeway")
    {
        cfg.upstream_leeway = 30;
        auto out = run_transform(cfg, json{{"exp", now + 60}});
        CHECK(out["exp"] == now + 90);
        CHECK(out["original_exp"] == now + 60);
    }
    SECTION("negative leeway")
    {
        cfg.upstream_leeway = -45;
        auto out = run_transform(cfg, json{{"exp", now + 60}});
        CHECK(out["exp"] == now + 15);
        CHECK(out["original_exp"] == now + 60);
    }
    SECTION("no exp: now + leeway, no original_exp")
    {
        cfg.upstream_leeway = 120;
        auto out = run_transform(cfg, json{{"sub", "x"}});
        CHECK(out["exp"] == now + 120);
        CHECK_FALSE(out.contains("original_exp"));
    }
    SECTION("fractional exp stays a number")
    {
        cfg.upstream_leeway = 10;
        auto out = run_transform(cfg, json{{"exp", 1000.5}});
        CHECK(out["exp"] == 1010.5);
        CHECK(out["original_exp"] == 1000.5);
    }
    SECTION("non-numeric exp cannot be adjusted")
    {
        cfg.upstream_leeway = 10;
        auto r = claims_transform(cfg).apply(json{{"exp", "soon"}}, claims_source::jws_payload, now);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == keys_errc::invalid_claims);
    }
}

TEST_CASE("claims: introspection results lose active", "[jwt_signer][claims]")
{
    claims_transform_config cfg;
    const json intro = {{"active", true}, {"client_id", "c1"}, {"scope", "a b"}, {"iss", "https://idp"}};
    auto out = run_transform(cfg, intro, claims_source::introspection);
    CHECK_FALSE(out.contains("active"));
    CHECK(out["client_id"] == "c1");
    CHECK(out["scope"] == "a b");
    CHECK(out["original_iss"] == "https://idp");
    // A JWS payload keeps a claim called active.
    out = run_transform(cfg, intro, claims_source::jws_payload);
    CHECK(out["active"] == true);
}

TEST_CASE("claims: remove, add, set precedence", "[jwt_signer][claims]")
{
    claims_transform_config cfg;
    const json in = {{"sub", "alice"}, {"role", "user"}, {"email", "a@x"}, {"iss", "https://idp"}};

    SECTION("remove deletes top-level claims")
    {
        cfg.remove_claims = {"email", "absent"};
        auto out = run_transform(cfg, in);
        CHECK_FALSE(out.contains("email"));
        CHECK(out["sub"] == "alice");
    }
    SECTION("remove runs after the iss step, so it can remove iss")
    {
        cfg.remove_claims = {"iss"};
        auto out = run_transform(cfg, in);
        CHECK_FALSE(out.contains("iss"));
        CHECK(out["original_iss"] == "https://idp");
    }
    SECTION("add only when absent")
    {
        cfg.add_claims = {{"role", "admin"}, {"tenant", "t1"}};
        auto out = run_transform(cfg, in);
        CHECK(out["role"] == "user");
        CHECK(out["tenant"] == "t1");
    }
    SECTION("set overwrites")
    {
        cfg.set_claims = {{"role", "admin"}, {"tenant", "t1"}};
        auto out = run_transform(cfg, in);
        CHECK(out["role"] == "admin");
        CHECK(out["tenant"] == "t1");
    }
    SECTION("removed claims can be re-added by add and set")
    {
        cfg.remove_claims = {"role", "email"};
        cfg.add_claims = {{"role", "readded"}};
        cfg.set_claims = {{"email", "set@x"}};
        auto out = run_transform(cfg, in);
        CHECK(out["role"] == "readded");
        CHECK(out["email"] == "set@x");
    }
    SECTION("per-token add beats global add")
    {
        cfg.global_add_claims = {{"tenant", "global"}, {"g", "1"}};
        cfg.add_claims = {{"tenant", "token"}};
        auto out = run_transform(cfg, in);
        CHECK(out["tenant"] == "token");
        CHECK(out["g"] == 1);
    }
    SECTION("per-token set beats global set")
    {
        cfg.global_set_claims = {{"role", "global"}, {"g", "x"}};
        cfg.set_claims = {{"role", "token"}};
        auto out = run_transform(cfg, in);
        CHECK(out["role"] == "token");
        CHECK(out["g"] == "x");
    }
    SECTION("set beats add, in every combination")
    {
        cfg.add_claims = {{"a", "add-token"}, {"b", "add-token"}};
        cfg.global_add_claims = {{"c", "add-global"}, {"d", "add-global"}};
        cfg.set_claims = {{"a", "set-token"}, {"c", "set-token"}};
        cfg.global_set_claims = {{"b", "set-global"}, {"d", "set-global"}};
        auto out = run_transform(cfg, in);
        CHECK(out["a"] == "set-token");
        CHECK(out["b"] == "set-global");
        CHECK(out["c"] == "set-token");
        CHECK(out["d"] == "set-global");
    }
    SECTION("set can override iss; add cannot")
    {
        cfg.add_claims = {{"iss", "added"}};
        CHECK(run_transform(cfg, in)["iss"] == "kong");
        cfg.global_set_claims = {{"iss", "set"}};
        auto out = run_transform(cfg, in);
        CHECK(out["iss"] == "set");
        CHECK(out["original_iss"] == "https://idp");
    }
    SECTION("JSON values are inserted decoded, others as strings")
    {
        cfg.set_claims = {{"arr", "[true,false]"},  {"num", "12345.99"},      {"obj", "{\"a\":1}"},
                          {"int", "42"},            {"bool", "true"},         {"bad", "{ a: 1 }"},
                          {"str", "plain text"},    {"quoted", "\"q\""},      {"empty", ""},
                          {"neg", "-7"},            {"null", "null"}};
        auto out = run_transform(cfg, json::object());
        CHECK(out["arr"] == json::array({true, false}));
        CHECK(out["num"] == 12345.99);
        CHECK(out["obj"] == json{{"a", 1}});
        CHECK(out["int"] == 42);
        CHECK(out["int"].is_number_integer());
        CHECK(out["bool"] == true);
        CHECK(out["bad"] == "{ a: 1 }");
        CHECK(out["str"] == "plain text");
        CHECK(out["quoted"] == "q");
        CHECK(out["empty"] == "");
        CHECK(out["neg"] == -7);
        CHECK(out["null"].is_null());
    }
    SECTION("full order: iss, leeway, remove, add, set")
    {
        cfg.issuer = "gw";
        cfg.upstream_leeway = 5;
        cfg.remove_claims = {"original_exp"};
        cfg.global_add_claims = {{"original_exp", "\"re-added\""}};
        cfg.set_claims = {{"exp", "1"}};
        auto out = run_transform(cfg, json{{"exp", 100}, {"iss", "i"}});
        CHECK(out == json{{"exp", 1}, {"iss", "gw"}, {"original_iss", "i"}, {"original_exp", "re-added"}});
    }
    SECTION("claims must be an object")
    {
        auto r = claims_transform(cfg).apply(json::array(), claims_source::jws_payload, now);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == keys_errc::invalid_claims);
    }
}

// ---------------------------------------------------------------------------
// minting

TEST_CASE("mint: every signing algorithm, verified by jose and python3-jwt", "[jwt_signer][mint]")
{
    const keyset& ks = full_keyset();
    const json claims = {{"sub", "alice"}, {"iss", "kong"}, {"scope", "a b"}, {"n", 3}, {"nested", {{"x", "é"}}}};
    json cases = json::array();

    for (auto a : signing_algs) {
        INFO(countersign::jose::to_string(a));
        auto minted = mint(claims, ks, a);
        REQUIRE(minted.has_value());
        CHECK(minted->kid == ks.select(a)->kid());

        auto parsed = countersign::jose::parse_compact(minted->token);
        REQUIRE(parsed.has_value());
        CHECK(parsed->header ==
              json{{"typ", "JWT"}, {"alg", countersign::jose::to_string(a)}, {"kid", minted->kid}});
        CHECK(json::parse(parsed->payload) == claims);
        verify_with_jose(minted->token, a, ks, ks.public_jwks());

        json c = {{"token", minted->token}, {"alg", countersign::jose::to_string(a)}, {"claims", claims}};
        if (countersign::jose::family_of(a) == countersign::jose::alg_family::hmac)
            c["secret"] = ks.select(a)->to_private_json()["k"];
        cases.push_back(std::move(c));
    }
    // EdDSA means the Ed25519 key.
    CHECK(ks.select(alg::eddsa)->crv() == "Ed25519");

    countersign::test::temp_dir tmp("minter");
    const auto jwks_file = tmp.write("jwks.json", ks.public_jwks().dump());
    const auto cases_file = tmp.write("cases.json", cases.dump());
    const auto script = tmp.write("verify.py", pyjwt_script);
    const std::string out =
        run("/usr/bin/python3 " + script.string() + " " + jwks_file.string() + " " + cases_file.string() + " 2>&1");
    for (const char* a : {"HS256", "HS384", "HS512", "RS256", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384",
                          "PS512", "EdDSA"})
        CHECK_THAT(out, Catch::Contains(std::string("OK ") + a + "\n"));
}

TEST_CASE("mint: errors", "[jwt_signer][mint]")
{
    const keyset& full = full_keyset();
    auto rs384 = mint(json::object(), full, alg::rs384);  // not a signing algorithm (Kong's enum)
    REQUIRE_FALSE(rs384.has_value());
    CHECK(rs384.error() == keys_errc::no_key_for_alg);
    CHECK_FALSE(is_signing_algorithm(alg::rs384));
    CHECK(is_signing_algorithm(alg::eddsa));

    keyset_record rec;
    rec.name = "https://keys.example/jwks";
    rec.source_url = rec.name;
    rec.id = make_uuid_v4();
    rec.generation = 1;
    rec.current = json::array({full.select(alg::es256)->to_private_json()});
    auto only_es256 = keyset::from_record(rec).value();
    CHECK(mint(json::object(), *only_es256, alg::es256).has_value());
    auto missing = mint(json::object(), *only_es256, alg::rs256);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error() == keys_errc::no_key_for_alg);

    auto not_object = mint(json::array(), full, alg::es256);
    REQUIRE_FALSE(not_object.has_value());
    CHECK(not_object.error() == keys_errc::invalid_claims);

    auto bad_utf8 = mint(json{{"sub", std::string("\xff\xfe")}}, full, alg::es256);
    REQUIRE_FALSE(bad_utf8.has_value());
    CHECK(bad_utf8.error() == keys_errc::invalid_claims);
}

TEST_CASE("resign: introspection result to a verified token", "[jwt_signer][mint]")
{
    const keyset& ks = full_keyset();
    claims_transform_config cfg;
    cfg.issuer = "countersign";
    cfg.upstream_leeway = 60;
    cfg.global_set_claims = {{"aud", "[\"upstream\"]"}};
    const claims_transform transform(cfg);
    const json intro = {{"active", true}, {"sub", "bob"}, {"iss", "https://idp"}, {"exp", now + 300}};
    auto minted = resign(intro, claims_source::introspection, transform, ks, alg::ps256, now);
    REQUIRE(minted.has_value());
    auto parsed = countersign::jose::parse_compact(minted->token).value();
    CHECK(json::parse(parsed.payload) == json{{"sub", "bob"},
                                              {"iss", "countersign"},
                                              {"original_iss", "https://idp"},
                                              {"exp", now + 360},
                                              {"original_exp", now + 300},
                                              {"aud", {"upstream"}}});
    verify_with_jose(minted->token, alg::ps256, ks, ks.public_jwks());

    auto bad = resign(json{{"exp", "x"}}, claims_source::jws_payload, transform, ks, alg::ps256, now);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error() == keys_errc::invalid_claims);
}

TEST_CASE("mint: a token signed just before a rotation verifies against the JWKS after it",
          "[jwt_signer][mint]")
{
    const keyset& full = full_keyset();
    countersign::test::temp_dir tmp("minter");
    keyset_manager mgr(file_keystore::open(tmp.path()).value());
    const std::string url = "https://keys.example/jwks";
    auto gen = [&](alg a) { return full.select(a)->to_private_json(); };

    auto g1 = mgr.rotate_with(url, json{{"keys", json::array({gen(alg::es256), gen(alg::rs256)})}}).value();
    auto before = mint(json{{"n", 1}}, *g1, alg::es256).value();

    // Another ES256 key becomes current.
    auto other = countersign::jose::jwk::generate(alg::es256).value();
    json other_json = other.with_kid(other.thumbprint()).to_private_json();
    auto g2 = mgr.rotate_with(url, json{{"keys", json::array({other_json})}}).value();
    auto after = mint(json{{"n", 2}}, *mgr.find(url), alg::es256).value();
    CHECK(after.kid != before.kid);

    // Both verify against the JWKS published after the rotation...
    verify_with_jose(before.token, alg::es256, *g2, g2->public_jwks());
    verify_with_jose(after.token, alg::es256, *g2, g2->public_jwks());
    // ... and the old snapshot is still usable for signing by in-flight requests.
    CHECK(mint(json{{"n", 3}}, *g1, alg::es256).has_value());

    // After a second rotation the first generation is gone from the JWKS.
    auto g3 = mgr.rotate_with(url, json{{"keys", json::array({gen(alg::es384)})}}).value();
    bool listed = false;
    for (const auto& k : g3->public_jwks()["keys"])
        listed = listed || k["kid"] == before.kid;
    CHECK_FALSE(listed);
}
