#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace countersign::jose;
using jose_test::read_json;
using jose_test::test_key;
using nlohmann::json;

namespace {

error code_of(boost::system::error_code ec) { return static_cast<error>(ec.value()); }

const char* const forbidden[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

void check_no_private_members(const json& j)
{
    INFO(j.dump());
    REQUIRE(j.is_object());
    for (const char* m : forbidden)
        CHECK_FALSE(j.contains(m));
}

std::string rsa_pem(int bits)
{
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
    REQUIRE(k);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    EVP_PKEY_free(k);
    return pem;
}

} // namespace

TEST_CASE("RFC 7520 JWK examples import and round-trip", "[jose][jwk][rfc7520]")
{
    const std::pair<const char*, const char*> files[] = {
        {"3_1.ec_public_key.json", "dHri3SADZkrush5HU_50AoRhcKFryN-PI6jPBtPL55M"},
        {"3_2.ec_private_key.json", "dHri3SADZkrush5HU_50AoRhcKFryN-PI6jPBtPL55M"},
        {"3_3.rsa_public_key.json", "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"},
        {"3_4.rsa_private_key.json", "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"},
        {"3_5.symmetric_key_mac_computation.json", "RtoRur_1Dir5M4wuOfqNkDYOf9O_4RJ-aHkTA75RLA8"},
    };
    for (const auto& [file, thumb] : files) {
        INFO(file);
        const json j = read_json(std::string("testdata/jose-cookbook/jwk/") + file);
        auto k = jwk::from_json(j);
        REQUIRE(k);
        CHECK(k->thumbprint() == thumb);
        CHECK(k->kid() == j["kid"].get<std::string>());
        CHECK(k->is_private() == (j.contains("d") || j.contains("k")));
        // private export reproduces the input exactly
        CHECK(k->to_private_json() == j);
        if (k->is_symmetric()) {
            CHECK(k->to_public_json().is_null());
            continue;
        }
        json pub = j;
        for (const char* m : forbidden)
            pub.erase(m);
        CHECK(k->to_public_json() == pub);
        check_no_private_members(k->to_public_json());
    }
    // 3.6 is an encryption key: refused for signatures
    CHECK(code_of(jwk::from_json(read_json("testdata/jose-cookbook/jwk/3_6.symmetric_key_encryption.json")).error()) ==
          error::key_use_mismatch);
}

TEST_CASE("public export never leaks private members", "[jose][jwk][security]")
{
    for (alg a : all_algs) {
        for (std::string_view okp : {"Ed25519", "Ed448"}) {
            if (a != alg::eddsa && okp == "Ed448")
                continue;
            INFO(to_string(a) << " " << okp);
            const jwk& k = test_key(a, okp);
            if (k.is_symmetric()) {
                CHECK(k.to_public_json().is_null());
                CHECK(k.to_pem_public().empty());
                CHECK(k.public_key().error() == error::symmetric_key_not_exportable);
                continue;
            }
            CHECK(k.is_private());
            const json pub = k.to_public_json();
            check_no_private_members(pub);
            CHECK(pub["kty"] == std::string(k.kty()));
            // the public export imports as a public key with the same thumbprint
            auto back = jwk::from_json(pub);
            REQUIRE(back);
            CHECK_FALSE(back->is_private());
            CHECK(back->thumbprint() == k.thumbprint());
            // private export round-trips and carries the private members
            const json priv = k.to_private_json();
            CHECK(priv.contains("d"));
            auto again = jwk::from_json(priv);
            REQUIRE(again);
            CHECK(again->is_private());
            CHECK(again->to_private_json() == priv);
            // PEM round-trip
            auto from_priv_pem = jwk::from_pem(k.to_pem_private());
            REQUIRE(from_priv_pem);
            CHECK(from_priv_pem->is_private());
            CHECK(from_priv_pem->thumbprint() == k.thumbprint());
            auto from_pub_pem = jwk::from_pem(k.to_pem_public());
            REQUIRE(from_pub_pem);
            CHECK_FALSE(from_pub_pem->is_private());
            CHECK(from_pub_pem->to_pem_private().empty());
            check_no_private_members(from_pub_pem->to_private_json());
        }
    }
    // key_ops of a private key: only "verify" survives the public export
    auto j = test_key(alg::es256).to_private_json();
    j["key_ops"] = {"sign", "verify"};
    j["kid"] = "k";
    auto k = jwk::from_json(j).value();
    CHECK(k.to_public_json()["key_ops"] == json::array({"verify"}));
    CHECK(k.to_public_json()["kid"] == "k");
}

TEST_CASE("key generation covers every supported size and curve", "[jose][jwk]")
{
    CHECK(jwk::generate(alg::rs256, 3072).value().bits() == 3072);
    CHECK(code_of(jwk::generate(alg::rs256, 1024).error()) == error::bad_key);
    CHECK(test_key(alg::rs256).bits() == 2048);
    CHECK(test_key(alg::es256).crv() == "P-256");
    CHECK(test_key(alg::es384).crv() == "P-384");
    CHECK(test_key(alg::es512).crv() == "P-521");
    CHECK(test_key(alg::eddsa).crv() == "Ed25519");
    CHECK(test_key(alg::eddsa, "Ed448").crv() == "Ed448");
    CHECK(code_of(jwk::generate(alg::eddsa, 2048, "X25519").error()) == error::unsupported_curve);
    for (int bits : {256, 384, 512}) {
        auto k = jwk::generate_oct(bits);
        REQUIRE(k);
        CHECK(k->secret().size() == static_cast<std::size_t>(bits / 8));
        CHECK(k->is_symmetric());
    }
    CHECK(code_of(jwk::generate_oct(128).error()) == error::bad_key);
    CHECK(jwk::generate(alg::hs512).value().secret().size() == 64);
    const jwk fresh = jwk::generate(alg::es256).value();
    CHECK(fresh.algorithm() == alg::es256);
    CHECK(fresh.use() == "sig");
    CHECK(fresh.with_kid("abc").kid() == "abc");
}

TEST_CASE("RSA 4096 generation works", "[jose][jwk][.slow]")
{
    CHECK(jwk::generate(alg::ps512, 4096).value().bits() == 4096);
}

TEST_CASE("small, huge and weak RSA keys are refused", "[jose][jwk][security]")
{
    CHECK(code_of(jwk::from_pem(rsa_pem(1024)).error()) == error::weak_key);
    CHECK(code_of(jwk::from_pem(rsa_pem(2040)).error()) == error::weak_key);
    key_policy lax;
    lax.min_rsa_bits = 1024;
    CHECK(jwk::from_pem(rsa_pem(1024), alg::rs256, lax).has_value());
    key_policy strict;
    strict.max_rsa_bits = 2048;
    auto big = test_key(alg::rs256).to_public_json();
    CHECK(jwk::from_json(big, strict).has_value());
    strict.max_rsa_bits = 2047;
    CHECK(code_of(jwk::from_json(big, strict).error()) == error::key_too_large);
    // e = 1, e even
    auto e1 = big;
    e1["e"] = "AQ";
    CHECK(code_of(jwk::from_json(e1).error()) == error::weak_key);
    e1["e"] = "AQAA";
    CHECK(code_of(jwk::from_json(e1).error()) == error::weak_key);
    // ROCA fingerprint (Wycheproof json_web_key_test tcId 7)
    const json wp = read_json("testdata/wycheproof/json_web_key_test.json");
    for (const auto& g : wp["testGroups"])
        if (g["comment"] == "jws_rsa_roca_key")
            CHECK(code_of(jwk::from_json(g["public"]["keys"][0]).error()) == error::weak_key);
}

TEST_CASE("JWK validation: members, curves, alg agreement", "[jose][jwk][security]")
{
    const json ec = test_key(alg::es256).to_public_json();
    auto bad = [&](json j) { return code_of(jwk::from_json(j).error()); };
    json j = ec;
    j["alg"] = "ES384";
    CHECK(bad(j) == error::alg_key_mismatch);  // crv P-256 with ES384
    j["alg"] = "RS256";
    CHECK(bad(j) == error::alg_key_mismatch);
    j["alg"] = "ES521";
    CHECK(bad(j) == error::unsupported_alg);
    j["alg"] = "none";
    CHECK(bad(j) == error::alg_none);
    j = ec;
    j["crv"] = "P-384";
    CHECK(bad(j) == error::bad_key);  // coordinates are the wrong size for P-384
    j = ec;
    j["crv"] = "secp256k1";
    CHECK(bad(j) == error::unsupported_curve);
    j = ec;
    std::string y = base64url_decode(j["y"].get<std::string>()).value();
    y.back() ^= 1;
    j["y"] = base64url_encode(y);
    CHECK(bad(j) == error::not_on_curve);
    j = ec;
    j["x"] = base64url_encode(std::string(31, 'A'));
    CHECK(bad(j) == error::bad_key);
    j = ec;
    j.erase("y");
    CHECK(bad(j) == error::missing_member);
    j = ec;
    j["x"] = j["x"].get<std::string>() + "=";
    CHECK(bad(j) == error::bad_key);
    j = ec;
    j["kty"] = "RSA";
    CHECK(bad(j) == error::missing_member);
    j["kty"] = "XYZ";
    CHECK(bad(j) == error::unsupported_key_type);
    j.erase("kty");
    CHECK(bad(j) == error::missing_member);
    j = ec;
    j["kid"] = 5;
    CHECK(bad(j) == error::bad_key);
    CHECK(bad(json::array()) == error::bad_key);
    // EC private key whose d does not match x/y
    auto priv = test_key(alg::es256).to_private_json();
    priv["d"] = test_key(alg::es384).to_private_json()["d"].get<std::string>().substr(0, 43);
    CHECK(code_of(jwk::from_json(priv).error()) == error::bad_key);
    // OKP
    json okp = test_key(alg::eddsa).to_public_json();
    okp["crv"] = "X25519";
    CHECK(bad(okp) == error::unsupported_curve);
    okp = test_key(alg::eddsa).to_public_json();
    okp["alg"] = "ES256";
    CHECK(bad(okp) == error::alg_key_mismatch);
    auto okp_priv = test_key(alg::eddsa).to_private_json();
    okp_priv["x"] = jwk::generate(alg::eddsa).value().to_public_json()["x"];
    CHECK(bad(okp_priv) == error::bad_key);
    // RSA partial CRT, CRT without d, oth
    auto rsa = test_key(alg::rs256).to_private_json();
    auto partial = rsa;
    partial.erase("qi");
    CHECK(bad(partial) == error::bad_key);
    auto no_d = rsa;
    no_d.erase("d");
    CHECK(bad(no_d) == error::bad_key);
    auto oth = rsa;
    oth["oth"] = json::array();
    CHECK(bad(oth) == error::bad_key);
    auto wrong_p = rsa;
    wrong_p["p"] = rsa["q"];
    CHECK(bad(wrong_p) == error::bad_key);
    // RSA private key without CRT parameters still signs
    auto d_only = rsa;
    for (const char* m : {"p", "q", "dp", "dq", "qi"})
        d_only.erase(m);
    auto dk = jwk::from_json(d_only);
    REQUIRE(dk);
    CHECK_FALSE(verify(alg::rs256, test_key(alg::rs256), "m", sign(alg::rs256, *dk, "m").value()));
}

TEST_CASE("HMAC keys: length checked against the alg", "[jose][jwk][security]")
{
    CHECK(code_of(jwk::from_json({{"kty", "oct"}, {"k", ""}}).error()) == error::weak_key);
    CHECK(code_of(jwk::from_json({{"kty", "oct"}, {"k", base64url_encode(std::string(31, 'k'))}}).error()) ==
          error::weak_key);
    auto k32 = jwk::from_json({{"kty", "oct"}, {"k", base64url_encode(std::string(32, 'k'))}});
    REQUIRE(k32);
    CHECK(k32->compatible_with(alg::hs256));
    CHECK_FALSE(k32->compatible_with(alg::hs384));
    CHECK_FALSE(k32->compatible_with(alg::rs256));
    CHECK(code_of(sign(alg::hs512, *k32, "x").error()) == error::weak_key);
    CHECK(code_of(jwk::from_json({{"kty", "oct"}, {"alg", "HS512"}, {"k", base64url_encode(std::string(48, 'k'))}})
                      .error()) == error::weak_key);
    CHECK(code_of(jwk::from_json({{"kty", "oct"}, {"alg", "A256GCM"}, {"k", base64url_encode(std::string(32, 'k'))}})
                      .error()) == error::unsupported_alg);
    CHECK(code_of(jwk::from_secret(std::string(2000, 'k')).error()) == error::key_too_large);
    key_policy no_sym;
    no_sym.allow_symmetric = false;
    CHECK(code_of(jwk::from_json({{"kty", "oct"}, {"k", base64url_encode(std::string(32, 'k'))}}, no_sym).error()) ==
          error::symmetric_key_not_allowed);
    key_policy no_priv;
    no_priv.allow_private = false;
    CHECK(code_of(jwk::from_json(test_key(alg::es256).to_private_json(), no_priv).error()) ==
          error::private_key_not_allowed);
    CHECK(jwk::from_json(test_key(alg::es256).to_public_json(), no_priv).has_value());
}

TEST_CASE("PEM import: certificates give x5t, garbage is refused", "[jose][jwk]")
{
    CHECK(code_of(jwk::from_pem("not a pem").error()) == error::bad_key);
    CHECK(code_of(jwk::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").error()) ==
          error::bad_key);
    // self-signed certificate over the ES256 test key
    const jwk& k = test_key(alg::es256);
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, k.pkey());
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("countersign-test"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    REQUIRE(X509_sign(cert, k.pkey(), EVP_sha256()) > 0);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    const std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    X509_free(cert);
    auto from_cert = jwk::from_pem(pem, alg::es256);
    REQUIRE(from_cert);
    CHECK_FALSE(from_cert->is_private());
    CHECK(from_cert->thumbprint() == k.thumbprint());
    CHECK(from_cert->x5t().size() == 27);
    CHECK(from_cert->x5t_s256().size() == 43);
    CHECK(from_cert->to_public_json()["x5t#S256"] == std::string(from_cert->x5t_s256()));
    // wrong alg for a PEM key
    CHECK(code_of(jwk::from_pem(pem, alg::es384).error()) == error::alg_key_mismatch);
}
