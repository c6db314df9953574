#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/rsa.h>

using namespace countersign::jose;
using jose_test::test_key;
using nlohmann::json;

namespace {

error code_of(boost::system::error_code ec) { return static_cast<error>(ec.value()); }

std::string make_token(alg a, const jwk& key, std::string_view payload = R"({"sub":"alice"})",
                       json header = json::object())
{
    return sign_compact(header, payload, a, key).value();
}

error verify_token(const std::string& token, const jwk& key, std::span<const alg> allowed = all_algs)
{
    auto parsed = parse_compact(token);
    REQUIRE(parsed);
    auto ec = verify_jws(*parsed, key, allowed);
    return ec ? code_of(ec) : error{};
}

struct alg_case {
    alg a;
    const char* okp;
};
const alg_case every_alg[] = {{alg::hs256, ""}, {alg::hs384, ""}, {alg::hs512, ""}, {alg::rs256, ""},
                              {alg::rs384, ""}, {alg::rs512, ""}, {alg::ps256, ""}, {alg::ps384, ""},
                              {alg::ps512, ""}, {alg::es256, ""}, {alg::es384, ""}, {alg::es512, ""},
                              {alg::eddsa, "Ed25519"}, {alg::eddsa, "Ed448"}};

std::string replace_sig(const std::string& token, std::string_view raw_sig)
{
    return token.substr(0, token.rfind('.') + 1) + base64url_encode(raw_sig);
}

} // namespace

TEST_CASE("alg names are exact and case-sensitive", "[jose][alg][security]")
{
    for (alg a : all_algs)
        CHECK(alg_from_string(to_string(a)).value() == a);
    for (std::string_view none : {"none", "None", "NONE", "nOnE", "NoNe", "nonE"})
        CHECK(alg_from_string(none).error() == error::alg_none);
    for (std::string_view bad : {"RS256 ", " RS256", "rs256", "RS1", "ES256K", "HS", "", "EDDSA", "eddsa", "ES521",
                                 "none ", "RSA-OAEP", "A256GCM"})
        CHECK(alg_from_string(bad).error() == error::unsupported_alg);
    CHECK(to_string(alg::eddsa) == "EdDSA");
    CHECK(std::string(jose_category().name()) == "countersign.jose");
    boost::system::error_code ec = error::bad_signature;
    CHECK(ec.category() == jose_category());
    CHECK(ec == error::bad_signature);
}

TEST_CASE("every algorithm signs and verifies a compact JWS", "[jose][jws]")
{
    for (const auto& c : every_alg) {
        INFO(to_string(c.a) << " " << c.okp);
        const jwk& key = test_key(c.a, c.okp);
        const auto token = make_token(c.a, key, R"({"sub":"alice"})", {{"kid", "k1"}, {"typ", "JWT"}});
        auto parsed = parse_compact(token);
        REQUIRE(parsed);
        CHECK(parsed->alg_name() == to_string(c.a));
        CHECK(parsed->kid() == "k1");
        CHECK(parsed->payload == R"({"sub":"alice"})");
        CHECK_FALSE(verify_jws(*parsed, key, all_algs));
        // the public half alone verifies
        if (!key.is_symmetric()) {
            auto pub = key.public_key();
            REQUIRE(pub);
            CHECK_FALSE(pub->is_private());
            CHECK_FALSE(verify_jws(*parsed, *pub, all_algs));
            CHECK(code_of(sign(c.a, *pub, "x").error()) == error::private_key_required);
        }
        // tampered payload
        auto bad = parse_compact(make_token(c.a, key, R"({"sub":"alice"})"));
        REQUIRE(bad);
        bad->signing_input.back() ^= 1;
        CHECK(code_of(verify_jws(*bad, key, all_algs)) == error::bad_signature);
        // expected signature lengths
        auto sig = sign(c.a, key, "payload").value();
        switch (family_of(c.a)) {
        case alg_family::hmac: CHECK(sig.size() == hash_size(c.a)); break;
        case alg_family::rsa_pkcs1:
        case alg_family::rsa_pss: CHECK(sig.size() == 256); break;
        case alg_family::ecdsa: CHECK(sig.size() == (c.a == alg::es512 ? 132u : 2 * hash_size(c.a))); break;
        case alg_family::eddsa: CHECK(sig.size() == (std::string_view(c.okp) == "Ed448" ? 114u : 64u)); break;
        }
        CHECK_FALSE(verify(c.a, key, "payload", sig));
    }
}

TEST_CASE("wrong-length signatures are rejected before crypto", "[jose][jws][security]")
{
    for (const auto& c : every_alg) {
        INFO(to_string(c.a) << " " << c.okp);
        const jwk& key = test_key(c.a, c.okp);
        const auto sig = sign(c.a, key, "msg").value();
        for (const std::string& mutated :
             {std::string(), sig.substr(0, sig.size() - 1), std::string(1, '\0') + sig, sig + std::string(1, '\0'),
              sig + sig, sig.substr(0, sig.size() / 2)})
            CHECK(code_of(verify(c.a, key, "msg", mutated)) == error::bad_signature_length);
    }
    // HS256 tag truncated to 16 bytes
    const jwk& hkey = test_key(alg::hs256);
    const auto token = make_token(alg::hs256, hkey);
    const auto full = parse_compact(token).value().signature;
    CHECK(verify_token(replace_sig(token, full.substr(0, 16)), hkey) == error::bad_signature_length);
    CHECK(verify_token(replace_sig(token, ""), hkey) == error::bad_signature_length);
}

TEST_CASE("alg none is rejected in every spelling", "[jose][jws][security]")
{
    const jwk& rsa = test_key(alg::rs256);
    const auto valid = make_token(alg::rs256, rsa);
    const auto payload64 = valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.') - 1);
    const auto valid_sig = valid.substr(valid.rfind('.') + 1);
    for (std::string none : {"none", "None", "NONE", "nOnE"}) {
        for (std::string extra : {"", R"(,"kid":"k1")"}) {
            const auto h = base64url_encode(R"({"alg":")" + none + "\"" + extra + "}");
            CHECK(verify_token(h + "." + payload64 + ".", rsa) == error::alg_none);
            CHECK(verify_token(h + "." + payload64 + "." + valid_sig, rsa) == error::alg_none);
            CHECK(verify_token(h + "." + payload64 + ".", test_key(alg::hs256)) == error::alg_none);
        }
    }
    // RFC 7515 Appendix A.5
    CHECK(verify_token("eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmN"
                       "vbS9pc19yb290Ijp0cnVlfQ.",
                       rsa) == error::alg_none);
    // missing alg
    const auto no_alg = base64url_encode(R"({"kid":"k1"})") + "." + payload64 + "." + valid_sig;
    CHECK(verify_token(no_alg, rsa) == error::missing_alg);
    // unknown alg
    for (std::string name : {"RS256 ", "rs256", "RS1", "ES256K"}) {
        const auto t = base64url_encode(R"({"alg":")" + name + "\"}") + "." + payload64 + "." + valid_sig;
        CHECK(verify_token(t, rsa) == error::unsupported_alg);
    }
}

TEST_CASE("the allow-list and the key decide the algorithm", "[jose][jws][security]")
{
    const jwk& rsa = test_key(alg::rs256);
    const auto rs_token = make_token(alg::rs256, rsa);
    const alg only_ps[] = {alg::ps256};
    CHECK(verify_token(rs_token, rsa, only_ps) == error::alg_not_allowed);
    // key pinned to PS512: RS*/PS256/PS384 tokens from the same RSA key are refused (WP tcIds 331-340)
    auto pinned = rsa.with_alg(alg::ps512);
    REQUIRE(pinned);
    for (alg a : {alg::rs256, alg::rs384, alg::rs512, alg::ps256, alg::ps384}) {
        INFO(to_string(a));
        CHECK(verify_token(make_token(a, rsa), *pinned) == error::alg_key_mismatch);
        CHECK(code_of(sign(a, *pinned, "x").error()) == error::alg_key_mismatch);
    }
    CHECK(verify_token(make_token(alg::ps512, rsa), *pinned) == error{});
    CHECK_FALSE(pinned->compatible_with(alg::rs256));
    CHECK(pinned->compatible_with(alg::ps512));
    // ES256 token checked with a P-384 key, Ed25519 key for ES256, EC key for EdDSA
    CHECK(verify_token(make_token(alg::es256, test_key(alg::es256)), test_key(alg::es384)) == error::alg_key_mismatch);
    CHECK(verify_token(make_token(alg::es256, test_key(alg::es256)), test_key(alg::eddsa)) == error::alg_key_mismatch);
    CHECK(verify_token(make_token(alg::eddsa, test_key(alg::eddsa)), test_key(alg::es256)) == error::alg_key_mismatch);
    CHECK_FALSE(test_key(alg::es384).compatible_with(alg::es256));
    CHECK_FALSE(test_key(alg::es256).compatible_with(alg::rs256));
    CHECK(test_key(alg::eddsa, "Ed448").compatible_with(alg::eddsa));
}

TEST_CASE("algorithm confusion: HS256 with public key bytes never verifies", "[jose][jws][security]")
{
    for (alg asym : {alg::rs256, alg::es256, alg::eddsa}) {
        const jwk& key = test_key(asym);
        auto pub = key.public_key().value();
        const std::string pem = pub.to_pem_public();
        std::string pem_trimmed = pem;
        while (!pem_trimmed.empty() && pem_trimmed.back() == '\n')
            pem_trimmed.pop_back();
        const std::string jwk_text = pub.to_public_json().dump();
        for (const std::string& secret : {pem, pem_trimmed, jwk_text}) {
            auto attacker = jwk::from_secret(secret, alg::hs256);
            REQUIRE(attacker);
            const auto forged = make_token(alg::hs256, *attacker);
            CHECK(verify_token(forged, pub) == error::alg_key_mismatch);
            CHECK(verify_token(forged, key) == error::alg_key_mismatch);
            CHECK(code_of(verify(alg::hs256, pub, "x", std::string(32, 'a'))) == error::alg_key_mismatch);
        }
    }
}

TEST_CASE("ECDSA: r||s only, zero and out-of-range values rejected", "[jose][jws][security]")
{
    struct curve {
        alg a;
        std::size_t half;
        const char* order_hex;
    };
    const curve curves[] = {
        {alg::es256, 32, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"},
        {alg::es384, 48, "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"},
        {alg::es512, 66,
         "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b"
         "8899c47aebb6fb71e91386409"},
    };
    for (const auto& c : curves) {
        INFO(to_string(c.a));
        const jwk& key = test_key(c.a);
        std::string order = jose_test::unhex(c.order_hex);
        order.insert(0, c.half - order.size(), '\0');
        std::string order_m1 = order;
        order_m1.back() = static_cast<char>(order_m1.back() - 1);
        const std::string zero(c.half, '\0');
        std::string one(c.half, '\0');
        one.back() = 1;
        for (const auto& r : {zero, one, order_m1, order})
            for (const auto& s : {zero, one, order_m1, order})
                CHECK(code_of(verify(c.a, key, "msg", r + s)) == error::bad_signature);
        // a valid signature in DER form is refused (length), never parsed as DER
        const auto rs = sign(c.a, key, "msg").value();
        CHECK_FALSE(verify(c.a, key, "msg", rs));
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_get_digestbyname(c.a == alg::es256   ? "SHA256"
                                                                      : c.a == alg::es384 ? "SHA384"
                                                                                          : "SHA512"),
                                   nullptr, key.pkey()) == 1);
        unsigned char der[200];
        std::size_t der_len = sizeof der;
        REQUIRE(EVP_DigestSign(ctx, der, &der_len, reinterpret_cast<const unsigned char*>("msg"), 3) == 1);
        EVP_MD_CTX_free(ctx);
        CHECK(code_of(verify(c.a, key, "msg", std::string(reinterpret_cast<char*>(der), der_len))) ==
              error::bad_signature_length);
        // high-s malleated form (n - s) is a valid ECDSA signature; JWS does not forbid it
    }
}

TEST_CASE("PS*: salt length is pinned to the hash length", "[jose][jws][security]")
{
    const jwk& key = test_key(alg::ps256);
    const std::string msg = "eyJhbGciOiJQUzI1NiJ9.e30";
    auto pss_sign = [&](int salt) {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX* pctx = nullptr;
        REQUIRE(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key.pkey()) == 1);
        REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
        REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1);
        unsigned char sig[512];
        std::size_t len = sizeof sig;
        REQUIRE(EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1);
        EVP_MD_CTX_free(ctx);
        return std::string(reinterpret_cast<char*>(sig), len);
    };
    CHECK_FALSE(verify(alg::ps256, key, msg, pss_sign(32)));
    CHECK(code_of(verify(alg::ps256, key, msg, pss_sign(0))) == error::bad_signature);
    CHECK(code_of(verify(alg::ps256, key, msg, pss_sign(64))) == error::bad_signature);
    CHECK(code_of(verify(alg::ps256, key, msg, pss_sign(20))) == error::bad_signature);
    // an RS256 signature is not a PS256 signature and vice versa
    CHECK(code_of(verify(alg::ps256, key, msg, sign(alg::rs256, key, msg).value())) == error::bad_signature);
    CHECK(code_of(verify(alg::rs256, key, msg, sign(alg::ps256, key, msg).value())) == error::bad_signature);
    CHECK(code_of(verify(alg::rs384, key, msg, sign(alg::rs256, key, msg).value())) == error::bad_signature);
}

TEST_CASE("use and key_ops are enforced", "[jose][jws][security]")
{
    auto base = test_key(alg::es256).to_private_json();
    base["key_ops"] = {"verify"};
    auto verify_only = jwk::from_json(base).value();
    CHECK(code_of(sign_compact(json::object(), "x", alg::es256, verify_only).error()) == error::key_use_mismatch);
    base["key_ops"] = {"sign"};
    auto sign_only = jwk::from_json(base).value();
    const auto token = sign_compact(json::object(), "x", alg::es256, sign_only).value();
    CHECK(verify_token(token, sign_only) == error::key_use_mismatch);
    CHECK(verify_token(token, verify_only) == error{});
    base.erase("key_ops");
    base["use"] = "enc";
    CHECK(code_of(jwk::from_json(base).error()) == error::key_use_mismatch);
    base["use"] = "sig";
    base["key_ops"] = {"encrypt"};
    CHECK(code_of(jwk::from_json(base).error()) == error::key_use_mismatch);
}

TEST_CASE("sign_compact validates the header", "[jose][jws]")
{
    const jwk& key = test_key(alg::hs256);
    CHECK(code_of(sign_compact(json::array(), "x", alg::hs256, key).error()) == error::bad_header);
    CHECK(code_of(sign_compact({{"alg", "HS384"}}, "x", alg::hs256, key).error()) == error::bad_header);
    CHECK(code_of(sign_compact({{"zip", "DEF"}}, "x", alg::hs256, key).error()) == error::zip_unsupported);
    CHECK(code_of(sign_compact({{"crit", {"x"}}, {"x", 1}}, "x", alg::hs256, key).error()) == error::unknown_crit);
    CHECK(sign_compact({{"alg", "HS256"}}, "x", alg::hs256, key).has_value());
    // RFC 7797 unencoded payload round trip
    auto unenc = sign_compact({{"b64", false}, {"crit", {"b64"}}}, "$.02", alg::hs256, key);
    CHECK(code_of(unenc.error()) == error::malformed_token);
    auto t = sign_compact({{"b64", false}, {"crit", {"b64"}}}, "$02", alg::hs256, key).value();
    parse_limits l;
    l.allow_unencoded_payload = true;
    auto parsed = parse_compact(t, l).value();
    CHECK(parsed.payload == "$02");
    CHECK_FALSE(verify_jws(parsed, key, all_algs));
}
