// Wycheproof primitive suites run through the JWS sign/verify layer:
// ECDSA P1363 (ES256/384/512), ECDSA DER wrapped as ES256 (all must fail),
// RSA PKCS#1 v1.5 (RS*), RSA-PSS (PS*), Ed25519 / Ed448 (EdDSA), HMAC (HS*).

#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jose;
using jose_test::unhex;
using nlohmann::json;

namespace {

std::optional<alg> alg_for_sha(std::string_view family, std::string_view sha)
{
    const int bits = sha == "SHA-256" ? 256 : sha == "SHA-384" ? 384 : sha == "SHA-512" ? 512 : 0;
    if (family == "ES")
        return bits == 256 ? alg::es256 : bits == 384 ? alg::es384 : bits == 512 ? std::optional(alg::es512) : std::nullopt;
    if (family == "RS")
        return bits == 256 ? alg::rs256 : bits == 384 ? alg::rs384 : bits == 512 ? std::optional(alg::rs512) : std::nullopt;
    if (family == "PS")
        return bits == 256 ? alg::ps256 : bits == 384 ? alg::ps384 : bits == 512 ? std::optional(alg::ps512) : std::nullopt;
    return std::nullopt;
}

struct counts {
    int valid = 0, invalid = 0, acceptable = 0;
};

// Runs every vector of a group against one key; `applicable` false means the
// group's parameters are not a JWS algorithm, so every vector must fail.
void run_group(const std::string& file, const json& group, const jwk& key, alg a, bool applicable, counts& c)
{
    for (const auto& t : group["tests"]) {
        const std::string result = t["result"].get<std::string>();
        INFO(file << " tcId " << t["tcId"].get<int>() << " " << result << " (" << t["comment"].get<std::string>()
                  << ")");
        const std::string msg = unhex(t["msg"].get<std::string>());
        const std::string sig = unhex(t[t.contains("sig") ? "sig" : "tag"].get<std::string>());
        const auto ec = verify(a, key, msg, sig);
        if (!applicable) {
            CHECK(ec);
            continue;
        }
        if (result == "valid") {
            ++c.valid;
            CHECK_FALSE(ec);
        } else if (result == "invalid") {
            ++c.invalid;
            CHECK(ec);
        } else {
            // "acceptable": RSA PKCS#1 DigestInfo without the NULL parameter
            // (flag MissingNull). OpenSSL's strict re-encoding comparison
            // rejects it; either outcome is allowed, rejecting is stricter.
            ++c.acceptable;
            CHECK(t["flags"].dump().find("MissingNull") != std::string::npos);
            CHECK(ec);
        }
    }
}

} // namespace

TEST_CASE("Wycheproof ECDSA P1363 vectors as ES256/ES384/ES512", "[jose][wycheproof][ecdsa]")
{
    for (std::string file : {"ecdsa_secp256r1_sha256_p1363_test.json", "ecdsa_secp384r1_sha384_p1363_test.json",
                             "ecdsa_secp521r1_sha512_p1363_test.json"}) {
        const json doc = jose_test::read_json("testdata/wycheproof/" + file);
        counts c;
        int groups = 0;
        for (const auto& g : doc["testGroups"]) {
            const alg a = *alg_for_sha("ES", g["sha"].get<std::string>());
            INFO(file << " key " << g["publicKeyPem"].get<std::string>());
            auto pem_key = jwk::from_pem(g["publicKeyPem"].get<std::string>(), a);
            REQUIRE(pem_key);
            auto key = pem_key;
            if (g.contains("publicKeyJwk")) {  // some edge-case groups only give PEM/DER
                key = jwk::from_json(g["publicKeyJwk"]);
                REQUIRE(key);
                CHECK(pem_key->thumbprint() == key->thumbprint());
            }
            run_group(file, g, *key, a, true, c);
            ++groups;
        }
        INFO(file);
        CHECK(c.valid + c.invalid == doc["numberOfTests"].get<int>());
        CHECK(c.valid > 0);
        CHECK(groups > 1);
    }
}

TEST_CASE("Wycheproof DER ECDSA P-256 signatures wrapped as ES256 are all rejected", "[jose][wycheproof][ecdsa]")
{
    const json doc = jose_test::read_json("testdata/wycheproof/ecdsa_secp256r1_sha256_test.json");
    int valid_der = 0;
    for (const auto& g : doc["testGroups"]) {
        auto key = jwk::from_pem(g["publicKeyPem"].get<std::string>(), alg::es256);
        REQUIRE(key);
        const std::string header64 = base64url_encode(R"({"alg":"ES256"})");
        for (const auto& t : g["tests"]) {
            if (t["result"] != "valid")
                continue;
            ++valid_der;
            INFO("tcId " << t["tcId"].get<int>());
            const std::string der = unhex(t["sig"].get<std::string>());
            // as the raw JWS signature over the vector's message ...
            CHECK(verify(alg::es256, *key, unhex(t["msg"].get<std::string>()), der));
            // ... and as a full ES256 JWS
            const std::string token =
                header64 + "." + base64url_encode(unhex(t["msg"].get<std::string>())) + "." + base64url_encode(der);
            auto parsed = parse_compact(token);
            REQUIRE(parsed);
            CHECK(verify_jws(*parsed, *key, all_algs));
        }
    }
    CHECK(valid_der == 174);
}

TEST_CASE("Wycheproof RSA PKCS#1 v1.5 vectors as RS256/RS384/RS512", "[jose][wycheproof][rsa]")
{
    for (int bits : {2048, 3072, 4096})
        for (std::string sha : {"256", "384", "512"}) {
            const std::string file = "rsa_signature_" + std::to_string(bits) + "_sha" + sha + "_test.json";
            const json doc = jose_test::read_json("testdata/wycheproof/" + file);
            counts c;
            for (const auto& g : doc["testGroups"]) {
                const alg a = *alg_for_sha("RS", g["sha"].get<std::string>());
                auto key = jwk::from_pem(g["publicKeyPem"].get<std::string>(), a);
                INFO(file);
                REQUIRE(key);
                run_group(file, g, *key, a, true, c);
            }
            INFO(file);
            CHECK(c.valid + c.invalid + c.acceptable == doc["numberOfTests"].get<int>());
            CHECK(c.acceptable == 1);
        }
}

TEST_CASE("Wycheproof RSA-PSS vectors as PS256/PS384/PS512", "[jose][wycheproof][rsa]")
{
    for (std::string file :
         {"rsa_pss_2048_sha256_mgf1_32_test.json", "rsa_pss_2048_sha384_mgf1_48_test.json",
          "rsa_pss_3072_sha256_mgf1_32_test.json", "rsa_pss_4096_sha256_mgf1_32_test.json",
          "rsa_pss_4096_sha384_mgf1_48_test.json", "rsa_pss_4096_sha512_mgf1_32_test.json",
          "rsa_pss_4096_sha512_mgf1_64_test.json"}) {
        const json doc = jose_test::read_json("testdata/wycheproof/" + file);
        counts c;
        for (const auto& g : doc["testGroups"]) {
            const alg a = *alg_for_sha("PS", g["sha"].get<std::string>());
            // JWS pins MGF1 to the same hash and sLen to the hash length.
            // Groups with other parameters (sha512 with sLen 32) are not a
            // JWS algorithm: even their "valid" signatures must be rejected.
            const bool applicable = g["mgf"] == "MGF1" && g["mgfSha"] == g["sha"] &&
                                    g["sLen"].get<std::size_t>() == hash_size(a);
            auto key = jwk::from_pem(g["publicKeyPem"].get<std::string>(), a);
            INFO(file);
            REQUIRE(key);
            run_group(file, g, *key, a, applicable, c);
        }
        INFO(file);
        if (file.find("sha512_mgf1_32") == std::string::npos)
            CHECK(c.valid + c.invalid == doc["numberOfTests"].get<int>());
    }
}

TEST_CASE("Wycheproof Ed25519 and Ed448 vectors as EdDSA", "[jose][wycheproof][eddsa]")
{
    for (std::string file : {"ed25519_test.json", "ed448_test.json"}) {
        const json doc = jose_test::read_json("testdata/wycheproof/" + file);
        counts c;
        for (const auto& g : doc["testGroups"]) {
            auto key = jwk::from_json(g["publicKeyJwk"]);
            INFO(file << " " << g["publicKeyJwk"].dump());
            REQUIRE(key);
            auto pem_key = jwk::from_pem(g["publicKeyPem"].get<std::string>(), alg::eddsa);
            REQUIRE(pem_key);
            CHECK(pem_key->to_public_json()["x"] == g["publicKeyJwk"]["x"]);
            run_group(file, g, *key, alg::eddsa, true, c);
        }
        INFO(file);
        CHECK(c.valid + c.invalid == doc["numberOfTests"].get<int>());
    }
}

TEST_CASE("Wycheproof HMAC vectors as HS256/HS384/HS512", "[jose][wycheproof][hmac]")
{
    const std::pair<std::string, alg> files[] = {{"hmac_sha256_test.json", alg::hs256},
                                                 {"hmac_sha384_test.json", alg::hs384},
                                                 {"hmac_sha512_test.json", alg::hs512}};
    for (const auto& [file, a] : files) {
        const json doc = jose_test::read_json("testdata/wycheproof/" + file);
        int applicable_groups = 0, refused_keys = 0, truncated_groups = 0;
        for (const auto& g : doc["testGroups"]) {
            const auto key_bits = g["keySize"].get<std::size_t>();
            const auto tag_bits = g["tagSize"].get<std::size_t>();
            INFO(file << " keySize " << key_bits << " tagSize " << tag_bits);
            for (const auto& t : g["tests"]) {
                const auto key = jwk::from_secret(unhex(t["key"].get<std::string>()), a);
                if (key_bits < hash_size(a) * 8) {
                    // RFC 7518 §3.2: HS keys shorter than the hash are refused
                    CHECK(key.error() == error::weak_key);
                    ++refused_keys;
                    continue;
                }
                REQUIRE(key);
                const auto ec = verify(a, *key, unhex(t["msg"].get<std::string>()), unhex(t["tag"].get<std::string>()));
                INFO("tcId " << t["tcId"].get<int>() << " " << t["result"].get<std::string>());
                if (tag_bits != hash_size(a) * 8)
                    CHECK(ec == error::bad_signature_length);  // JWS tags are never truncated
                else if (t["result"] == "valid")
                    CHECK_FALSE(ec);
                else
                    CHECK(ec);
            }
            if (key_bits >= hash_size(a) * 8 && tag_bits == hash_size(a) * 8)
                ++applicable_groups;
            if (tag_bits != hash_size(a) * 8)
                ++truncated_groups;
        }
        CHECK(applicable_groups == 2);
        CHECK(refused_keys == 6);
        CHECK(truncated_groups == 3);
    }
}
