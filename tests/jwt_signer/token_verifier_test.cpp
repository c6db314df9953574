// token_verifier: classification, header policy, key selection through the
// JWKS cache (with a fake fetcher), attack cases, verification off.
#include <catch2/catch.hpp>

#include <countersign/jose/base64url.hpp>
#include <countersign/jose/jwk.hpp>
#include <countersign/jose/jws.hpp>
#include <countersign/jwt_signer/jwks_cache.hpp>
#include <countersign/jwt_signer/token_verifier.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <map>

using namespace countersign;
using namespace countersign::jwt_signer;
using json = nlohmann::json;

namespace {

class fake_fetcher final : public jwks_fetcher {
public:
    explicit fake_fetcher(json jwks) : jwks_(std::move(jwks)) {}
    net::awaitable<result<jwks_document>> fetch(std::string uri, jwks_source_options) override
    {
        ++calls;
        jwks_document d;
        d.jwks = jwks_;
        d.jwks_uri = uri;
        co_return d;
    }
    std::atomic<int> calls{0};

private:
    json jwks_;
};

template <class T>
T run(net::awaitable<T> aw)
{
    net::io_context ioc;
    std::optional<T> out;
    net::co_spawn(ioc, [&]() -> net::awaitable<void> { out.emplace(co_await std::move(aw)); }, net::detached);
    ioc.run();
    return std::move(*out);
}

struct keys {
    std::map<std::string, jose::jwk> by_name;
    json jwks = {{"keys", json::array()}};

    keys()
    {
        add("rsa", jose::alg::rs256);
        add("ec", jose::alg::es256);
        add("ed", jose::alg::eddsa);
        add("ps", jose::alg::ps384);
    }
    void add(const std::string& kid, jose::alg a)
    {
        auto k = jose::jwk::generate(a).value().with_kid(kid).with_alg(a).value();
        by_name.emplace(kid, k);
        jwks["keys"].push_back(k.public_key().value().to_public_json());
    }
};

const keys& test_keys()
{
    static const keys k;
    return k;
}

std::string sign(const json& header, const json& payload, jose::alg a, const jose::jwk& key)
{
    return jose::sign_compact(header, payload.dump(), a, key).value();
}

std::string b64(const std::string& s) { return jose::base64url_encode(s); }

struct fixture {
    std::shared_ptr<fake_fetcher> fetcher = std::make_shared<fake_fetcher>(test_keys().jwks);
    manual_clock clk;
    std::shared_ptr<jwks_cache> cache = std::make_shared<jwks_cache>(clk, jwks_cache_config{}, fetcher);

    token_verifier make(bool enable_hs = false, bool verify = true, std::string uri = "https://idp/jwks")
    {
        verifier_settings s;
        s.verify_signature = verify;
        s.jwks_uri = std::move(uri);
        s.allowed_algs = allowed_algorithms(enable_hs);
        return token_verifier(s, cache);
    }
};

const json claims{{"sub", "alice"}, {"iss", "https://idp"}};

}  // namespace

TEST_CASE("classify_token follows Kong's rules", "[jwt_signer][verifier]")
{
    const std::string h = b64(R"({"alg":"RS256"})");
    CHECK(classify_token(h + "." + b64("{}") + ".sig") == token_type::jws);
    CHECK(classify_token(h + ".." + "sig") == token_type::jws);
    CHECK(classify_token(h + ".YWFh.YmJi.Y2Nj.ZGRk") == token_type::jwe);
    CHECK(classify_token("opaque-token-123") == token_type::opaque);
    CHECK(classify_token("abc.def.ghi") == token_type::opaque);        // header not JSON
    CHECK(classify_token(b64("[1]") + ".e30.x") == token_type::opaque);  // header not an object
    CHECK(classify_token(h + ".e30") == token_type::opaque);           // 2 segments
}

TEST_CASE("token_verifier accepts each asymmetric family from the JWKS", "[jwt_signer][verifier]")
{
    fixture f;
    auto v = f.make();
    for (auto [kid, a] : std::vector<std::pair<std::string, jose::alg>>{
             {"rsa", jose::alg::rs256}, {"ec", jose::alg::es256}, {"ed", jose::alg::eddsa}, {"ps", jose::alg::ps384}}) {
        INFO(kid);
        auto tok = sign({{"typ", "JWT"}, {"kid", kid}}, claims, a, test_keys().by_name.at(kid));
        auto r = run(v.verify(tok));
        INFO(r.status.detail);
        CHECK(r.status.ok());
        CHECK(r.payload == claims);
    }
    CHECK(f.fetcher->calls == 1);  // one fetch for all
    // typ at+jwt and no typ are fine; without kid the alg fallback finds the key
    auto& rsa = test_keys().by_name.at("rsa");
    CHECK(run(v.verify(sign({{"typ", "at+JWT"}, {"kid", "rsa"}}, claims, jose::alg::rs256, rsa))).status.ok());
    CHECK(run(v.verify(sign(json::object(), claims, jose::alg::rs256, rsa))).status.ok());
}

TEST_CASE("token_verifier rejects the header attacks", "[jwt_signer][verifier]")
{
    fixture f;
    auto v = f.make();
    auto& rsa = test_keys().by_name.at("rsa");
    const std::string p = b64(claims.dump());

    SECTION("alg none in any spelling")
    {
        for (std::string alg : {"none", "None", "NONE", "nOnE"}) {
            auto tok = b64(json{{"alg", alg}, {"kid", "rsa"}}.dump()) + "." + p + ".";
            CHECK(run(v.verify(tok)).status.code == auth_errc::alg_not_allowed);
        }
    }
    SECTION("HS256 while disabled, and HS256 keyed with the RSA public key while enabled")
    {
        auto secret = rsa.public_key().value().to_pem_public();
        auto hs_key = jose::jwk::from_secret(secret).value();
        auto tok = sign({{"kid", "rsa"}}, claims, jose::alg::hs256, hs_key);
        CHECK(run(v.verify(tok)).status.code == auth_errc::alg_not_allowed);
        auto v_hs = f.make(true);
        auto r = run(v_hs.verify(tok));
        CHECK_FALSE(r.status.ok());
    }
    SECTION("typ must be JWT or at+jwt")
    {
        auto tok = sign({{"typ", "id_token"}, {"kid", "rsa"}}, claims, jose::alg::rs256, rsa);
        CHECK(run(v.verify(tok)).status.code == auth_errc::alg_not_allowed);
    }
    SECTION("jku, x5u, jwk and x5c never supply the key")
    {
        auto attacker = jose::jwk::generate(jose::alg::rs256).value().with_kid("rsa");
        for (const char* h : {"jku", "x5u"}) {
            auto tok = sign({{"kid", "rsa"}, {h, "http://127.0.0.1:1/evil"}}, claims, jose::alg::rs256, attacker);
            CHECK(run(v.verify(tok)).status.code == auth_errc::bad_signature);
        }
        auto tok = sign({{"kid", "attacker"}, {"jwk", attacker.public_key().value().to_public_json()}}, claims,
                        jose::alg::rs256, attacker);
        CHECK_FALSE(run(v.verify(tok)).status.ok());
    }
    SECTION("kid path traversal and oversized kid")
    {
        auto tok = sign({{"kid", "../../../../../../dev/null"}}, claims, jose::alg::rs256,
                        jose::jwk::generate(jose::alg::rs256).value());
        CHECK_FALSE(run(v.verify(tok)).status.ok());
        auto big = sign({{"kid", std::string(1000, 'k')}}, claims, jose::alg::rs256, rsa);
        CHECK(run(v.verify(big)).status.code == auth_errc::no_key);
    }
    SECTION("key alg must agree with the header alg")
    {
        // the ES256 key asked for with an RS256 token
        auto tok = sign({{"kid", "ec"}}, claims, jose::alg::rs256, rsa);
        CHECK(run(v.verify(tok)).status.code == auth_errc::alg_not_allowed);
    }
    SECTION("tampered payload, oversized token, payload not an object")
    {
        auto tok = sign({{"kid", "rsa"}}, claims, jose::alg::rs256, rsa);
        auto dot = tok.find('.');
        auto dot2 = tok.find('.', dot + 1);
        auto tampered = tok.substr(0, dot) + "." + b64(json{{"sub", "admin"}}.dump()) + tok.substr(dot2);
        CHECK(run(v.verify(tampered)).status.code == auth_errc::bad_signature);
        auto big = sign({{"kid", "rsa"}}, {{"pad", std::string(9000, 'x')}}, jose::alg::rs256, rsa);
        CHECK(run(v.verify(big)).status.code == auth_errc::too_large);
        auto arr = jose::sign_compact({{"kid", "rsa"}}, "[1,2]", jose::alg::rs256, rsa).value();
        CHECK(run(v.verify(arr)).status.code == auth_errc::unsupported_token);
    }
    SECTION("no jwks_uri")
    {
        auto v2 = f.make(false, true, "");
        auto tok = sign({{"kid", "rsa"}}, claims, jose::alg::rs256, rsa);
        CHECK(run(v2.verify(tok)).status.code == auth_errc::no_jwks_uri);
    }
}

TEST_CASE("token_verifier with verification off only decodes", "[jwt_signer][verifier]")
{
    fixture f;
    auto v = f.make(false, false, "");
    auto tok = b64(R"({"alg":"none"})") + "." + b64(claims.dump()) + ".";
    auto r = run(v.verify(tok));
    CHECK(r.status.ok());
    CHECK(r.payload == claims);
    CHECK(f.fetcher->calls == 0);
    CHECK(run(v.verify(b64(R"({"alg":"none"})") + "." + b64("[]") + ".")).status.code == auth_errc::unsupported_token);
    CHECK(decode_jws_unverified(std::string(9000, 'a')).status.code == auth_errc::too_large);
}
