#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jose;
using jose_test::test_key;
using nlohmann::json;

TEST_CASE("JWKS parse skips unusable keys with reasons", "[jose][jwks]")
{
    json keys = json::array();
    auto add = [&](json k, std::string kid) {
        k["kid"] = kid;
        keys.push_back(k);
    };
    add(test_key(alg::rs256).to_public_json(), "rsa");
    add(test_key(alg::es256).to_public_json(), "ec");
    add(test_key(alg::eddsa).to_public_json(), "ed");
    add({{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}}, "tiny");
    add({{"kty", "EC"}, {"crv", "P-256"}, {"x", "bad"}}, "broken");
    add({{"kty", "OKP"}, {"crv", "X25519"}, {"x", base64url_encode(std::string(32, 'x'))}}, "x25519");
    auto enc = test_key(alg::es384).to_public_json();
    enc["use"] = "enc";
    add(enc, "enc");
    keys.push_back("not an object");
    std::vector<std::string> skipped;
    auto set = jwk_set::parse({{"keys", keys}}, {}, &skipped);
    CHECK(set.size() == 3);
    CHECK(skipped.size() == 5);
    REQUIRE(set.find_by_kid("ec"));
    CHECK(set.find_by_kid("ec")->crv() == "P-256");
    CHECK_FALSE(set.find_by_kid("tiny"));
    CHECK_FALSE(set.find_by_kid(""));
    CHECK_FALSE(set.find_by_kid("nope"));
    // published form: public members only
    const json pub = set.to_public_json();
    REQUIRE(pub["keys"].size() == 3);
    for (const auto& k : pub["keys"])
        for (const char* m : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
            CHECK_FALSE(k.contains(m));

    std::vector<std::string> reasons;
    CHECK(jwk_set::parse(json::array(), {}, &reasons).empty());
    CHECK(reasons.size() == 1);
    CHECK(jwk_set::parse({{"keys", "x"}}).empty());
}

TEST_CASE("JWKS: mixed symmetry, duplicate kids, policies", "[jose][jwks][security]")
{
    json mixed = {{"keys",
                   {{{"kty", "oct"}, {"kid", "h"}, {"k", base64url_encode(std::string(32, 'k'))}},
                    test_key(alg::es256).to_public_json()}}};
    mixed["keys"][1]["kid"] = "e";
    auto set = jwk_set::parse(mixed);
    CHECK(set.size() == 1);
    CHECK_FALSE(set.find_by_kid("h"));
    CHECK(set.find_by_kid("e"));

    json dup = {{"keys", {test_key(alg::es256).to_public_json(), test_key(alg::es384).to_public_json(),
                          test_key(alg::eddsa).to_public_json()}}};
    dup["keys"][0]["kid"] = "same";
    dup["keys"][1]["kid"] = "same";
    dup["keys"][2]["kid"] = "other";
    std::vector<std::string> reasons;
    auto dset = jwk_set::parse(dup, {}, &reasons);
    CHECK(dset.size() == 1);
    CHECK_FALSE(dset.find_by_kid("same"));
    CHECK(reasons.size() == 2);

    // a fetched JWKS: no oct keys, no private members
    key_policy fetched;
    fetched.allow_symmetric = false;
    fetched.allow_private = false;
    json fset = {{"keys", {test_key(alg::es256).to_private_json(), test_key(alg::es384).to_public_json(),
                           {{"kty", "oct"}, {"k", base64url_encode(std::string(32, 'k'))}}}}};
    auto f = jwk_set::parse(fset, fetched);
    REQUIRE(f.size() == 1);
    CHECK(f.keys()[0]->crv() == "P-384");
    // symmetric keys are never published
    json sym = {{"keys", {{{"kty", "oct"}, {"kid", "h"}, {"k", base64url_encode(std::string(32, 'k'))}}}}};
    auto s = jwk_set::parse(sym);
    CHECK(s.size() == 1);
    CHECK(s.to_public_json()["keys"].empty());
}

TEST_CASE("JWKS lookup by x5t and x5t#S256", "[jose][jwks]")
{
    auto k = test_key(alg::es256).to_public_json();
    k["kid"] = "a";
    k["x5t"] = base64url_encode(std::string(20, '\x01'));
    k["x5t#S256"] = base64url_encode(std::string(32, '\x02'));
    auto set = jwk_set::parse({{"keys", {k}}});
    REQUIRE(set.size() == 1);
    CHECK(set.find_by_x5t(k["x5t"].get<std::string>()));
    CHECK(set.find_by_x5t_s256(k["x5t#S256"].get<std::string>()));
    CHECK_FALSE(set.find_by_x5t(""));
    CHECK_FALSE(set.find_by_x5t_s256("nope"));
    k["x5t"] = base64url_encode(std::string(19, '\x01'));  // wrong SHA-1 length
    CHECK(jwk_set::parse({{"keys", {k}}}).empty());
}
