// The verified-token and minted-token caches, end to end: what they may
// never do (outlive exp, survive a key removal or a rotation, be shared by
// two plugin configurations) and what a warm request saves. Cache behaviour
// is read from the gateway's own /metrics counters.
#include "jwt_signer_support.hpp"

#include <sstream>
#include <thread>

using namespace jwt_it;

namespace {

/// Sum of every sample of `name` (any labels) whose line contains `filter`.
double metric(const gateway_process& gw, const std::string& name, const std::string& filter = "")
{
    auto r = get(gw.admin_port(), "/metrics");
    REQUIRE(r.status == 200);
    double sum = 0;
    std::istringstream in(r.body);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.compare(0, name.size(), name) != 0) continue;
        const char next = line.size() > name.size() ? line[name.size()] : ' ';
        if (next != ' ' && next != '{') continue;
        if (!filter.empty() && line.find(filter) == std::string::npos) continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

std::string node_section(const std::string& extra)
{
    return "countersign:\n  workers: 2\n  data_dir: \"{{DIR}}/data\"\n" + extra;
}

std::string with_node_settings(std::string yaml, const std::string& extra)
{
    const std::string head = "countersign:\n  workers: 2\n  data_dir: \"{{DIR}}/data\"\n";
    auto at = yaml.find(head);
    REQUIRE(at != std::string::npos);
    yaml.replace(at, head.size(), node_section(extra));
    return yaml;
}

std::string kid_of(const std::string& token)
{
    return json::parse(jose::base64url_decode(token.substr(0, token.find('.'))).value())["kid"];
}

/// What every test here starts from: an IdP serving the test keys, the
/// echo upstream, and a plugin config that verifies the access token
/// against the IdP's JWKS (no channel token required) plus `extra`.
struct cache_setup {
    idp_server idp;
    echo_upstream up;

    cache_setup() { idp.set_jwks(idp_keys::get().jwks); }

    json config(const json& extra = json::object()) const
    {
        json cfg{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)}, {"channel_token_optional", true}};
        cfg.update(extra);
        return cfg;
    }
};

}  // namespace

TEST_CASE("jwt-signer caches: a cached verification never outlives the token's exp",
          "[integration][jwt_signer][cache]")
{
    cache_setup setup;
    auto& up = setup.up;
    const json cfg = setup.config();
    gateway_process gw(gateway_yaml(up.port(), cfg));

    auto claims = default_claims();
    const auto exp = now_s() + 2;
    claims["exp"] = exp;
    const auto token = idp_keys::get().token(claims);
    // A verification that ran while the JWKS was being fetched is not
    // cached (the keys changed under it), and the caches admit a token on
    // its second sighting: the second request notes it, the third stores
    // it, the fourth hits.
    for (int i = 0; i < 4; ++i)
        REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    CHECK(metric(gw, "countersign_verified_token_cache_hits_total") >= 1);

    // Wait (not for speed: for the clock to pass exp) and try again.
    while (now_s() <= exp) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto before = up.requests();
    auto r = get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}});
    CHECK(r.status == 401);
    CHECK(up.requests() == before);
    CHECK(metric(gw, "countersign_jwt_signer_results_total", "result=\"expired\"") == 1);
}

TEST_CASE("jwt-signer caches: a cached token that fails a claim check fails it on every request",
          "[integration][jwt_signer][cache]")
{
    // The verified-token cache keeps the outcome of the checks that do not
    // depend on the time (issuer, audience, scopes, ...); a hit must give
    // the same answer as a fresh verification, not a pass.
    cache_setup setup;
    auto& up = setup.up;
    const json cfg = setup.config(json{{"access_token_issuers_allowed", json::array({"https://idp.example"})},
                                       {"access_token_scopes_required", json::array({"tea"})}});
    gateway_process gw(gateway_yaml(up.port(), cfg));

    const auto token = idp_keys::get().token(default_claims());  // scope "openid coffee"
    const auto first = get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}});
    CHECK(first.status == 403);
    for (int i = 0; i < 3; ++i) {
        auto r = get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}});
        CHECK(r.status == first.status);
        CHECK(r.header("www-authenticate") == first.header("www-authenticate"));
    }
    CHECK(metric(gw, "countersign_verified_token_cache_hits_total") >= 1);
    CHECK(metric(gw, "countersign_jwt_signer_results_total", "result=\"scope\"") == 4);
    CHECK(up.requests() == 0);

    // The same issuer with the scope passes, cached or not: the checks are
    // per token, not per issuer.
    auto claims = default_claims();
    claims["scope"] = "tea";
    const auto good = idp_keys::get().token(claims);
    for (int i = 0; i < 3; ++i)
        CHECK(get(gw.proxy_port(), "/api", {{"Authorization", bearer(good)}}).status == 200);
    CHECK(up.requests() == 3);
}

TEST_CASE("jwt-signer caches: removing the IdP key drops the cached verification after the refetch",
          "[integration][jwt_signer][cache]")
{
    cache_setup setup;
    auto& idp = setup.idp;
    auto& up = setup.up;
    const json cfg = setup.config();
    gateway_process gw(with_node_settings(gateway_yaml(up.port(), cfg), "  jwks_refetch_throttle: 0s\n"));

    const auto token = idp_keys::get().token(default_claims(), "rs");
    for (int i = 0; i < 4; ++i)  // fetch, note, store, hit
        REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    const double hits = metric(gw, "countersign_verified_token_cache_hits_total");
    CHECK(hits >= 1);

    // The IdP rotates twice: "rs" is gone, new keys sign. Each token with an
    // unknown kid makes the gateway refetch. The JWKS cache keeps the keys
    // of the previous fetch too, so "rs" is gone after the second refetch.
    for (const std::string kid : {"rs2", "rs3"}) {
        auto k = jose::jwk::generate(jose::alg::rs256).value().with_kid(kid).with_alg(jose::alg::rs256).value();
        idp.set_jwks(json{{"keys", json::array({k.public_key().value().to_public_json()})}});
        const auto fetches = idp.calls(idp_server::jwks_path);
        const auto new_token =
            jose::sign_compact(json{{"typ", "JWT"}, {"kid", kid}}, default_claims().dump(), jose::alg::rs256, k)
                .value();
        REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(new_token)}}).status == 200);
        CHECK(idp.calls(idp_server::jwks_path) == fetches + 1);
    }

    // The old token was cached, but its key is gone now.
    const auto before = up.requests();
    auto r = get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}});
    CHECK(r.status == 401);
    CHECK(up.requests() == before);
    CHECK(metric(gw, "countersign_verified_token_cache_hits_total") == hits);
}

TEST_CASE("jwt-signer caches: a warm request reuses the minted token; rotation re-signs with the new kid",
          "[integration][jwt_signer][cache]")
{
    cache_setup setup;
    auto& idp = setup.idp;
    auto& up = setup.up;
    const json cfg = setup.config(json{{"access_token_signing_algorithm", "ES256"}});
    gateway_process gw(gateway_yaml(up.port(), cfg));

    const auto token = idp_keys::get().token(default_claims());
    // Second-sighting admission: the first request notes the minted token,
    // the second stores it, the third reuses it. (The verified cache is a
    // request behind: the first verification ran during the JWKS fetch.)
    for (int i = 0; i < 3; ++i)
        REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    const auto first = upstream_token(*up.last_request());
    const double signings = metric(gw, "countersign_signings_total");
    const double verified_misses = metric(gw, "countersign_verified_token_cache_misses_total");
    const auto jwks_calls = idp.calls(idp_server::jwks_path);
    CHECK(signings == 2);  // the third request reused the minted token
    CHECK(metric(gw, "countersign_minted_token_cache_hits_total") == 1);

    // Warm: no network I/O, no public-key operation (no verify, no sign).
    REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    CHECK(upstream_token(*up.last_request()) == first);
    CHECK(metric(gw, "countersign_signings_total") == signings);
    CHECK(metric(gw, "countersign_verified_token_cache_misses_total") == verified_misses);
    CHECK(metric(gw, "countersign_minted_token_cache_hits_total") >= 1);
    CHECK(idp.calls(idp_server::jwks_path) == jwks_calls);

    // Rotation: the next request carries a token signed by the new generation.
    REQUIRE(request(gw.admin_port(), "POST", "/jwt-signer/jwks/kong/rotate").status == 200);
    REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    const auto after = upstream_token(*up.last_request());
    CHECK(kid_of(after) != kid_of(first));
    const json pub = public_jwks(gw);
    std::string why;
    CHECK(pyjwt_verify(after, pub, &why));
    INFO(why);
    CHECK(metric(gw, "countersign_signings_total") == signings + 1);
}

TEST_CASE("jwt-signer caches: two plugin configurations never share an entry", "[integration][jwt_signer][cache]")
{
    cache_setup setup;
    auto& up = setup.up;
    std::string yaml = R"(_format_version: "3.0"
countersign:
  workers: 1
  data_dir: "{{DIR}}/data"
services:
  - name: echo
    url: http://127.0.0.1:)" + std::to_string(up.port()) + R"(
    routes:
)";
    for (std::string issuer : {"one", "two"}) {
        const json cfg =
            setup.config(json{{"access_token_issuer", issuer}, {"access_token_signing_algorithm", "ES256"}});
        yaml += "      - name: r-" + issuer + "\n        paths: [\"/" + issuer + "\"]\n        plugins:\n"
                "          - name: jwt-signer\n            config: " + cfg.dump() + "\n";
    }
    gateway_process gw(yaml);

    const auto token = idp_keys::get().token(default_claims());
    REQUIRE(get(gw.proxy_port(), "/one", {{"Authorization", bearer(token)}}).status == 200);
    REQUIRE(get(gw.proxy_port(), "/one", {{"Authorization", bearer(token)}}).status == 200);
    const auto one = upstream_token(*up.last_request());
    const double misses = metric(gw, "countersign_verified_token_cache_misses_total");
    const double minted_misses = metric(gw, "countersign_minted_token_cache_misses_total");

    REQUIRE(get(gw.proxy_port(), "/two", {{"Authorization", bearer(token)}}).status == 200);
    const auto two = upstream_token(*up.last_request());
    CHECK(metric(gw, "countersign_verified_token_cache_misses_total") == misses + 1);
    CHECK(metric(gw, "countersign_minted_token_cache_misses_total") == minted_misses + 1);
    const json pub = public_jwks(gw);
    auto c1 = pyjwt_verify(one, pub);
    auto c2 = pyjwt_verify(two, pub);
    REQUIRE(c1);
    REQUIRE(c2);
    CHECK((*c1)["claims"]["iss"] == "one");
    CHECK((*c2)["claims"]["iss"] == "two");
}

TEST_CASE("jwt-signer caches: a config reload drops both caches", "[integration][jwt_signer][cache][reload]")
{
    cache_setup setup;
    auto& up = setup.up;
    const json cfg = setup.config(json{{"access_token_signing_algorithm", "ES256"}});
    gateway_process gw(gateway_yaml(up.port(), cfg));

    const auto token = idp_keys::get().token(default_claims());
    // Until both caches hold the token: the fourth request hits both.
    for (int i = 0; i < 4; ++i)
        REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    REQUIRE(metric(gw, "countersign_verified_token_cache_hits_total") >= 1);
    REQUIRE(metric(gw, "countersign_minted_token_cache_hits_total") >= 1);
    const auto before_reload = upstream_token(*up.last_request());
    const double verified_misses = metric(gw, "countersign_verified_token_cache_misses_total");
    const double minted_misses = metric(gw, "countersign_minted_token_cache_misses_total");
    const double signings = metric(gw, "countersign_signings_total");

    // The same document again: a new generation with new plugin instances.
    auto r = request(gw.admin_port(), "POST", "/config", {{"Content-Type", "application/yaml"}}, gw.config_text());
    INFO(r.body);
    REQUIRE((r.status == 200 || r.status == 201));
    CHECK(metric(gw, "countersign_config_reloads_total", "result=\"ok\"") == 1);

    REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    CHECK(metric(gw, "countersign_verified_token_cache_misses_total") == verified_misses + 1);
    CHECK(metric(gw, "countersign_minted_token_cache_misses_total") == minted_misses + 1);
    CHECK(metric(gw, "countersign_signings_total") == signings + 1);
    // Same keys (a reload never touches them): the new token has the same kid.
    CHECK(kid_of(upstream_token(*up.last_request())) == kid_of(before_reload));
}

TEST_CASE("jwt-signer: keyset_rotate_period rotates the signing keyset as requests come in",
          "[integration][jwt_signer][cache]")
{
    // The period check is throttled to once a second per slot (it takes the
    // node-wide rotation lock); the rotation must still happen. A 1 s period
    // and a guard of 20 s: the test waits for an event, not a speed.
    cache_setup setup;
    const json cfg = setup.config(
        json{{"access_token_signing_algorithm", "ES256"}, {"access_token_keyset_rotate_period", 1}});
    gateway_process gw(gateway_yaml(setup.up.port(), cfg));
    const auto token = idp_keys::get().token(default_claims());
    REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
    const auto first_kid = kid_of(upstream_token(*setup.up.last_request()));
    std::string kid = first_kid;
    const auto guard = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (kid == first_kid && std::chrono::steady_clock::now() < guard) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        REQUIRE(get(gw.proxy_port(), "/api", {{"Authorization", bearer(token)}}).status == 200);
        kid = kid_of(upstream_token(*setup.up.last_request()));
    }
    CHECK(kid != first_kid);
    // The new generation is published, so an upstream can verify it.
    std::string why;
    CHECK(pyjwt_verify(upstream_token(*setup.up.last_request()), public_jwks(gw), &why));
    INFO(why);
}
