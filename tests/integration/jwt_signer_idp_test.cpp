// jwt-signer against the loopback IdP, the parts jwt_signer_auth_test does not
// cover: the unknown-kid refetch under load and its throttle, introspection
// timeouts and retries, JWKS and introspection over HTTPS (CA, verification,
// mTLS), and the HS family from a JWKS. Every rejection asserts that the
// upstream saw nothing.
#include "jwt_signer_support.hpp"

#include "support/tls_files.hpp"

#include <algorithm>
#include <vector>

using namespace jwt_it;

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

const idp_server::options https_idp{.tls = true};
const idp_server::options mtls_idp{.tls = true, .require_client_cert = true};

/// gateway_yaml with one more line in the `countersign:` section.
std::string with_node_setting(std::string yaml, const std::string& line)
{
    const std::string section = "countersign:\n";
    const auto at = yaml.find(section);
    REQUIRE(at != std::string::npos);
    yaml.insert(at + section.size(), "  " + line + "\n");
    return yaml;
}

struct rig {
    idp_server idp;
    echo_upstream up;
    std::unique_ptr<gateway_process> gw;

    explicit rig(idp_server::options idp_opts = {}) : idp(idp_opts) {}

    /// Starts the gateway: a global jwt-signer with `cfg`, plus `node_line`
    /// in the countersign: section when given.
    void start(const json& cfg, const std::string& node_line = "")
    {
        auto yaml = gateway_yaml(up.port(), cfg);
        if (!node_line.empty()) yaml = with_node_setting(std::move(yaml), node_line);
        gw = std::make_unique<gateway_process>(yaml);
    }
    http_response call(const std::string& token)
    {
        return get(gw->proxy_port(), "/api", {{"Authorization", bearer(token)}});
    }

    /// Asserts Kong's rejection answer and that the upstream count did not move.
    void expect_reject(const http_response& r, unsigned status, const std::string& error,
                       const std::string& description, std::size_t upstream_before)
    {
        INFO(r.body);
        CHECK(r.status == status);
        const char* msg = status == 401 ? "Unauthorized" : status == 403 ? "Forbidden" : "An unexpected error occurred";
        CHECK(r.json() == json{{"message", msg}});
        CHECK(r.header("www-authenticate") ==
              "Bearer realm=\"127.0.0.1\", error=\"" + error + "\", error_description=\"" + description + "\"");
        CHECK(up.requests() == upstream_before);
    }
};

/// A fresh IdP signing key with its public JWKS entry.
struct signing_key {
    jose::jwk key;
    jose::alg alg;

    signing_key(const std::string& kid, jose::alg a)
        : key(jose::jwk::generate(a).value().with_kid(kid).with_alg(a).value()), alg(a)
    {
    }
    json public_jwk() const { return key.public_key().value().to_public_json(); }
    std::string token(const json& claims) const
    {
        return jose::sign_compact({{"typ", "JWT"}, {"kid", std::string(key.kid())}}, claims.dump(), alg, key).value();
    }
};

json jwks_of(std::initializer_list<json> keys)
{
    json list = json::array();
    for (const auto& k : keys) list.push_back(k);
    return json{{"keys", list}};
}

/// The status of every raw response, after sending `tokens.size()` requests
/// at once: all connections are opened first, then every request is written,
/// then the answers are read, so they are all in flight together.
std::vector<unsigned> concurrent_statuses(std::uint16_t port, const std::vector<std::string>& tokens)
{
    std::vector<connection> conns;
    conns.reserve(tokens.size());
    for (std::size_t i = 0; i < tokens.size(); ++i) conns.emplace_back(port);
    for (std::size_t i = 0; i < tokens.size(); ++i)
        conns[i].write_raw("GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + tokens[i] +
                           "\r\nConnection: close\r\n\r\n");
    std::vector<unsigned> out;
    out.reserve(tokens.size());
    for (auto& c : conns) out.push_back(raw_status(c.read_until_close(seconds(60))));
    return out;
}

}  // namespace

//------------------------------------------------------------------------------
// Unknown kid: one refetch under load, and Kong's throttle

TEST_CASE("jwt-signer idp: an unknown kid makes exactly one JWKS refetch under 200 concurrent requests",
          "[integration][jwt_signer][jwt_signer_idp]")
{
    rig t;
    const signing_key a("key-a", jose::alg::rs256);
    const signing_key b("key-b", jose::alg::es256);
    t.idp.set_jwks(jwks_of({a.public_jwk()}));
    t.start({{"access_token_jwks_uri", t.idp.url(idp_server::jwks_path)}, {"channel_token_optional", true}},
            "jwks_refetch_throttle: 0s");

    REQUIRE(t.call(a.token(default_claims())).status == 200);  // warms the cache with key A
    REQUIRE(t.idp.calls(idp_server::jwks_path) == 1);

    // The IdP rotates to key B; its answer is slow, so the whole burst piles
    // up behind one fetch (a fast answer must give the same counts).
    t.idp.set_jwks(jwks_of({b.public_jwk()}));
    t.idp.set_delay(milliseconds(300));
    const auto upstream_before = t.up.requests();
    std::vector<std::string> tokens;
    for (int i = 0; i < 200; ++i) {
        auto claims = default_claims();
        claims["n"] = i;
        tokens.push_back(b.token(claims));
    }
    const auto statuses = concurrent_statuses(t.gw->proxy_port(), tokens);
    t.idp.set_delay(milliseconds(0));

    const auto ok = std::count(statuses.begin(), statuses.end(), 200u);
    CHECK(ok == 200);
    CHECK(t.idp.calls(idp_server::jwks_path) == 2);
    CHECK(t.up.requests() == upstream_before + 200);

    // Key A now sits in the previous generation: still accepted, no fetch.
    CHECK(t.call(a.token(default_claims())).status == 200);
    CHECK(t.idp.calls(idp_server::jwks_path) == 2);
}

TEST_CASE("jwt-signer idp: with the default 5m throttle an unknown kid right after a fetch does not refetch",
          "[integration][jwt_signer][jwt_signer_idp]")
{
    rig t;
    const signing_key a("key-a", jose::alg::rs256);
    const signing_key b("key-b", jose::alg::es256);
    t.idp.set_jwks(jwks_of({a.public_jwk()}));
    t.start({{"access_token_jwks_uri", t.idp.url(idp_server::jwks_path)}, {"channel_token_optional", true}});

    REQUIRE(t.call(a.token(default_claims())).status == 200);
    REQUIRE(t.idp.calls(idp_server::jwks_path) == 1);

    t.idp.set_jwks(jwks_of({a.public_jwk(), b.public_jwk()}));
    const auto before = t.up.requests();
    for (int i = 0; i < 3; ++i)
        t.expect_reject(t.call(b.token(default_claims())), 401, "invalid_token",
                        "the access token could not be verified", before);
    CHECK(t.idp.calls(idp_server::jwks_path) == 1);
    CHECK(t.call(a.token(default_claims())).status == 200);
}

//------------------------------------------------------------------------------
// Introspection: timeout and retry

TEST_CASE("jwt-signer idp: introspection slower than the timeout fails fast with 401",
          "[integration][jwt_signer][jwt_signer_idp]")
{
    rig t;
    t.idp.set_token("opaque-slow", json{{"active", true}, {"sub", "bob"}, {"exp", now_s() + 300}});
    t.start({{"access_token_introspection_endpoint", t.idp.url(idp_server::introspection_path)},
             {"access_token_introspection_timeout", 300},
             {"channel_token_optional", true}});

    // The IdP would answer after 30 s; the gateway gives up after 300 ms.
    t.idp.set_delay(seconds(30));
    const auto t0 = steady_clock::now();
    const auto r = t.call("opaque-slow");
    const auto elapsed = steady_clock::now() - t0;
    t.expect_reject(r, 401, "invalid_token", "the access token is invalid", 0);
    CHECK(elapsed < seconds(10));  // the bound is 2 x 300 ms; 10 s only guards against waiting for the IdP
    // A read timeout is not a connection failure: no retry.
    CHECK(t.idp.calls(idp_server::introspection_path) == 1);

    // The failure was not cached: once the IdP is fast again the token passes.
    t.idp.set_delay(milliseconds(0));
    CHECK(t.call("opaque-slow").status == 200);
    CHECK(t.idp.calls(idp_server::introspection_path) == 2);
    CHECK(t.up.requests() == 1);
}

TEST_CASE("jwt-signer idp: introspection is retried once on a connection failure",
          "[integration][jwt_signer][jwt_signer_idp]")
{
    rig t;
    t.idp.set_token("opaque-a", json{{"active", true}, {"sub", "bob"}, {"exp", now_s() + 300}});
    t.idp.set_token("opaque-b", json{{"active", true}, {"sub", "bob"}, {"exp", now_s() + 300}});
    t.start({{"access_token_introspection_endpoint", t.idp.url(idp_server::introspection_path)},
             {"access_token_introspection_timeout", 5000},
             {"channel_token_optional", true}});

    // First connection reset without an answer: the retry succeeds.
    t.idp.reset_calls();
    t.idp.drop_next_connections(1);
    CHECK(t.call("opaque-a").status == 200);
    CHECK(t.idp.connections() == 2);
    CHECK(t.idp.calls(idp_server::introspection_path) == 1);

    // Both attempts reset: 401, and no third attempt.
    t.idp.reset_calls();
    t.idp.drop_next_connections(2);
    const auto before = t.up.requests();
    t.expect_reject(t.call("opaque-b"), 401, "invalid_token", "the access token is invalid", before);
    CHECK(t.idp.connections() == 2);
    CHECK(t.idp.calls(idp_server::introspection_path) == 0);
}

//------------------------------------------------------------------------------
// HTTPS IdP

namespace {

/// A plugin config using `idp` for the JWKS and for introspection.
json tls_config(const idp_server& idp, bool verify, const std::string& ca_file)
{
    json c{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)},
           {"access_token_introspection_endpoint", idp.url(idp_server::introspection_path)},
           {"access_token_endpoints_ssl_verify", verify},
           {"channel_token_optional", true}};
    if (!ca_file.empty()) c["endpoints_ca_file"] = ca_file;
    return c;
}

}  // namespace

TEST_CASE("jwt-signer idp: JWKS and introspection over HTTPS with CA verification",
          "[integration][jwt_signer][jwt_signer_idp][tls]")
{
    const auto& pki = test_pki::get();
    temp_dir dir("countersign-idp-tls");
    // A CA that did not issue the IdP's certificate.
    const auto stranger = make_self_signed_cert(dir.path(), "localhost", "stranger");

    struct row {
        const char* name;
        bool verify;
        std::string ca_file;
        bool ok;
    };
    const row rows[] = {
        {"verify on, the IdP's CA", true, pki.ca_file, true},
        {"verify on, system store", true, "", false},
        {"verify on, another self-signed CA", true, stranger.cert.string(), false},
        {"verify off, no CA", false, "", true},
    };
    for (const auto& r : rows) {
        INFO(r.name);
        rig t(https_idp);
        t.idp.set_jwks(idp_keys::get().jwks);
        t.idp.set_token("opaque-tls", json{{"active", true}, {"sub", "bob"}, {"exp", now_s() + 300}});
        REQUIRE(t.idp.base_url().rfind("https://", 0) == 0);
        t.start(tls_config(t.idp, r.verify, r.ca_file));

        const auto jwt = t.call(idp_keys::get().token(default_claims()));
        const auto opaque = t.call("opaque-tls");
        if (r.ok) {
            CHECK(jwt.status == 200);
            CHECK(opaque.status == 200);
            CHECK(t.idp.calls(idp_server::jwks_path) == 1);
            CHECK(t.idp.calls(idp_server::introspection_path) == 1);
            CHECK(t.up.requests() == 2);
        } else {
            t.expect_reject(jwt, 401, "invalid_token", "the access token could not be verified", 0);
            t.expect_reject(opaque, 401, "invalid_token", "the access token is invalid", 0);
            // The gateway did connect, but no request got past the handshake.
            CHECK(t.idp.connections() >= 2);
            CHECK(t.idp.calls(idp_server::jwks_path) == 0);
            CHECK(t.idp.calls(idp_server::introspection_path) == 0);
        }
    }
}

TEST_CASE("jwt-signer idp: mTLS JWKS fetch presents the client certificate",
          "[integration][jwt_signer][jwt_signer_idp][tls]")
{
    const auto& pki = test_pki::get();
    for (bool with_cert : {true, false}) {
        INFO("client certificate: " << with_cert);
        rig t(mtls_idp);
        t.idp.set_jwks(idp_keys::get().jwks);
        json cfg{{"access_token_jwks_uri", t.idp.url(idp_server::jwks_path)},
                 {"access_token_endpoints_ssl_verify", true},
                 {"endpoints_ca_file", pki.ca_file},
                 {"channel_token_optional", true}};
        if (with_cert)
            cfg["access_token_jwks_uri_client_certificate"] = {{"cert", pki.client_cert_file},
                                                               {"key", pki.client_key_file}};
        t.start(cfg);

        const auto r = t.call(idp_keys::get().token(default_claims()));
        if (with_cert) {
            CHECK(r.status == 200);
            CHECK(t.idp.calls(idp_server::jwks_path) == 1);
            CHECK(t.up.requests() == 1);
        } else {
            t.expect_reject(r, 401, "invalid_token", "the access token could not be verified", 0);
            CHECK(t.idp.connections() >= 1);
            CHECK(t.idp.calls(idp_server::jwks_path) == 0);
        }
    }
}

//------------------------------------------------------------------------------
// HS family from a JWKS

namespace {

std::string alg_name(jose::alg a) { return std::string(jose::to_string(a)); }

struct hs_keys {
    std::vector<std::pair<jose::jwk, jose::alg>> keys;
    json jwks = idp_keys::get().jwks;  // the asymmetric keys, plus the oct ones below

    hs_keys()
    {
        const std::pair<int, jose::alg> family[] = {
            {256, jose::alg::hs256}, {384, jose::alg::hs384}, {512, jose::alg::hs512}};
        for (const auto& [bits, a] : family) {
            auto k = jose::jwk::generate_oct(bits, a).value().with_kid(alg_name(a));
            jwks["keys"].push_back(k.to_private_json());  // an oct JWK carries its secret `k`
            keys.emplace_back(std::move(k), a);
        }
    }
    std::string token(std::size_t i, const json& claims) const
    {
        const auto& [k, a] = keys.at(i);
        return jose::sign_compact({{"typ", "JWT"}, {"kid", std::string(k.kid())}}, claims.dump(), a, k).value();
    }
};

json hs_config(const idp_server& idp, bool enable_hs)
{
    return json{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)},
                {"channel_token_optional", true},
                {"enable_hs_signatures", enable_hs}};
}

}  // namespace

TEST_CASE("jwt-signer idp: HS tokens are rejected while enable_hs_signatures is off",
          "[integration][jwt_signer][jwt_signer_idp]")
{
    const hs_keys hs;
    REQUIRE(hs.jwks["keys"].back().value("kty", "") == "oct");
    REQUIRE(hs.jwks["keys"].back().contains("k"));
    for (bool enable : {false, true}) {
        INFO("enable_hs_signatures: " << enable);
        rig t;
        t.idp.set_jwks(hs.jwks);
        t.start(hs_config(t.idp, enable));

        // The oct keys do not spoil the set: the asymmetric ones still work.
        REQUIRE(t.call(idp_keys::get().token(default_claims(), "rs")).status == 200);
        const auto before = t.up.requests();
        if (!enable) {
            for (std::size_t i = 0; i < hs.keys.size(); ++i) {
                INFO(alg_name(hs.keys[i].second));
                t.expect_reject(t.call(hs.token(i, default_claims())), 401, "invalid_token",
                                "the access token could not be verified", before);
            }
        }
        // Even with HS on, HS256 keyed with the RSA public key is refused.
        const auto& rs = idp_keys::get().keys.at("rs");
        const auto confused = jose::jwk::from_secret(rs.public_key().value().to_pem_public()).value();
        t.expect_reject(t.call(jose::sign_compact({{"typ", "JWT"}, {"kid", "rs"}}, default_claims().dump(),
                                                  jose::alg::hs256, confused)
                                   .value()),
                        401, "invalid_token", "the access token could not be verified", before);
    }
}

// HS keys come from oct JWKs of a set that holds only symmetric keys (a set
// mixing oct and asymmetric keys drops the oct ones: see the test above).
TEST_CASE("jwt-signer idp: HS256/384/512 from an oct JWK are accepted with enable_hs_signatures",
          "[integration][jwt_signer][jwt_signer_idp]")
{
    const hs_keys hs;
    rig t;
    json oct_only{{"keys", json::array()}};
    for (const auto& k : hs.jwks["keys"])
        if (k.value("kty", "") == "oct") oct_only["keys"].push_back(k);
    REQUIRE(oct_only["keys"].size() == 3);
    t.idp.set_jwks(oct_only);
    t.start(hs_config(t.idp, true));
    for (std::size_t i = 0; i < hs.keys.size(); ++i) {
        INFO(alg_name(hs.keys[i].second));
        auto claims = default_claims();
        claims["alg_used"] = alg_name(hs.keys[i].second);
        const auto r = t.call(hs.token(i, claims));
        CHECK(r.status == 200);
        if (r.status == 200) {
            auto v = pyjwt_verify(upstream_token(*t.up.last_request()), merged(admin_jwks(*t.gw)));
            REQUIRE(v);
            CHECK((*v)["claims"]["alg_used"] == claims["alg_used"]);
        }
    }
    // A wrong secret still fails.
    const auto wrong = jose::jwk::generate_oct(256, jose::alg::hs256).value().with_kid("HS256");
    const auto before = t.up.requests();
    t.expect_reject(t.call(jose::sign_compact({{"typ", "JWT"}, {"kid", "HS256"}}, default_claims().dump(),
                                              jose::alg::hs256, wrong)
                               .value()),
                    401, "invalid_token", "the access token could not be verified", before);
}
