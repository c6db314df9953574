// RFC 7520 (JOSE cookbook) JWS examples, §4.1-4.8, plus the RFC 8037 Ed25519
// example. Only the compact serialization is implemented, so:
//  - 4.1-4.4: the compact output verifies (and for deterministic algs our
//    signature equals the published one);
//  - 4.5 detached content: verified with parse_compact_detached;
//  - 4.6 and 4.7 use unprotected headers, which exist only in the JSON
//    serializations: skipped (no compact form), their signatures are checked
//    at the primitive level over the published signing input;
//  - 4.8 multiple signatures is JSON-only: each signature is checked at the
//    primitive level with its own key.
// None of the examples carries time claims, so no clock is involved.

#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jose;
using jose_test::read_json;
using nlohmann::json;

namespace {
json example(const std::string& name) { return read_json("testdata/jose-cookbook/jws/" + name); }
alg alg_of(const json& ex) { return alg_from_string(ex["input"]["alg"].get<std::string>()).value(); }
} // namespace

TEST_CASE("RFC 7520 4.1-4.4 compact JWS examples verify", "[jose][rfc7520]")
{
    for (std::string name : {"4_1.rsa_v15_signature.json", "4_2.rsa-pss_signature.json", "4_3.ecdsa_signature.json",
                             "4_4.hmac-sha2_integrity_protection.json"}) {
        INFO(name);
        const json ex = example(name);
        const alg a = alg_of(ex);
        auto key = jwk::from_json(ex["input"]["key"]);
        REQUIRE(key);
        const std::string compact = ex["output"]["compact"].get<std::string>();
        auto parsed = parse_compact(compact);
        REQUIRE(parsed);
        CHECK(parsed->payload == ex["input"]["payload"].get<std::string>());
        CHECK(parsed->signing_input == ex["signing"]["sig-input"].get<std::string>());
        CHECK_FALSE(verify_jws(*parsed, *key, all_algs));
        auto pub = key->is_symmetric() ? key : key->public_key();
        REQUIRE(pub);
        CHECK_FALSE(verify_jws(*parsed, *pub, all_algs));
        // re-sign: deterministic algorithms reproduce the published token
        auto ours = sign_compact(ex["signing"]["protected"], ex["input"]["payload"].get<std::string>(), a, *key);
        REQUIRE(ours);
        auto ours_parsed = parse_compact(*ours);
        REQUIRE(ours_parsed);
        CHECK_FALSE(verify_jws(*ours_parsed, *pub, all_algs));
        if (ex.value("reproducible", false))
            CHECK(*ours == compact);
    }
}

TEST_CASE("RFC 7520 4.5 detached content verifies", "[jose][rfc7520]")
{
    const json ex = example("4_5.signature_with_detached_content.json");
    auto key = jwk::from_json(ex["input"]["key"]).value();
    const std::string compact = ex["output"]["compact"].get<std::string>();
    auto parsed = parse_compact_detached(compact, ex["input"]["payload"].get<std::string>());
    REQUIRE(parsed);
    CHECK(parsed->signing_input == ex["signing"]["sig-input"].get<std::string>());
    CHECK_FALSE(verify_jws(*parsed, key, all_algs));
    auto wrong = parse_compact_detached(compact, "another payload").value();
    CHECK(verify_jws(wrong, key, all_algs) == error::bad_signature);
    // the plain parser sees an empty payload, which does not verify
    CHECK(verify_jws(parse_compact(compact).value(), key, all_algs) == error::bad_signature);
}

TEST_CASE("RFC 7520 4.6-4.8 (JSON-only) signatures verify at the primitive level", "[jose][rfc7520]")
{
    for (std::string name : {"4_6.protecting_specific_header_fields.json", "4_7.protecting_content_only.json"}) {
        INFO(name << ": no compact serialization exists (unprotected header)");
        const json ex = example(name);
        CHECK_FALSE(ex["output"].contains("compact"));
        auto key = jwk::from_json(ex["input"]["key"]).value();
        const auto sig = base64url_decode(ex["signing"]["sig"].get<std::string>()).value();
        CHECK_FALSE(verify(alg_of(ex), key, ex["signing"]["sig-input"].get<std::string>(), sig));
    }
    const json ex = example("4_8.multiple_signatures.json");
    CHECK_FALSE(ex["output"].contains("compact"));
    REQUIRE(ex["signing"].is_array());
    REQUIRE(ex["input"]["key"].size() == ex["signing"].size());
    for (std::size_t i = 0; i < ex["signing"].size(); ++i) {
        const json& s = ex["signing"][i];
        INFO("4.8 signature " << i);
        auto key = jwk::from_json(ex["input"]["key"][i]).value();
        const alg a = alg_from_string(ex["input"]["alg"][i].get<std::string>()).value();
        const auto sig = base64url_decode(s["sig"].get<std::string>()).value();
        CHECK_FALSE(verify(a, key, s["sig-input"].get<std::string>(), sig));
    }
}

TEST_CASE("RFC 8037 Ed25519 example verifies and reproduces", "[jose][rfc7520][eddsa]")
{
    const json ex = read_json("testdata/jose-cookbook/curve25519/jws.json");
    auto key = jwk::from_json(ex["input"]["key"]).value();
    CHECK(key.thumbprint() == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");  // RFC 8037 A.3
    const std::string compact = ex["output"]["compact"].get<std::string>();
    auto parsed = parse_compact(compact).value();
    CHECK_FALSE(verify_jws(parsed, key.public_key().value(), all_algs));
    CHECK(sign_compact(ex["signing"]["protected"], ex["input"]["payload"].get<std::string>(), alg::eddsa, key).value() ==
          compact);
}
