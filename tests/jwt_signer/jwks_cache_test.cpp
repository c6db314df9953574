#include <countersign/jwt_signer/jwks_cache.hpp>

#include "support/idp_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <thread>

using namespace countersign;
using namespace countersign::jwt_signer;
using namespace std::chrono_literals;
using countersign::test::idp_server;
using countersign::test::test_pki;

namespace {

template <class T>
T run_one(net::awaitable<T> a)
{
    net::io_context ioc;
    auto fut = net::co_spawn(ioc, std::move(a), net::use_future);
    ioc.run();
    return fut.get();
}

// Public JWK with kid `kid` for `a` (fresh key material each call).
nlohmann::json public_jwk(const std::string& kid, jose::alg a = jose::alg::es256)
{
    auto k = jose::jwk::generate(a);
    REQUIRE(k.has_value());
    return k->with_kid(kid).to_public_json();
}

nlohmann::json jwks_of(std::initializer_list<nlohmann::json> keys)
{
    auto arr = nlohmann::json::array();
    for (const auto& k : keys)
        arr.push_back(k);
    return nlohmann::json{{"keys", arr}};
}

jwks_source_options fast_options()
{
    jwks_source_options o;
    o.connect_timeout = 2s;
    o.read_timeout = 2s;
    return o;
}

key_query query(std::string_view kid, jose::alg a = jose::alg::es256) { return key_query{std::string(kid), a, {}, {}}; }

// Runs `n` find_key calls spread over two io_contexts with two threads each,
// so the waiters really sit on different executors and threads.
std::vector<result<key_match>> find_concurrently(jwks_cache& cache, const std::string& uri,
                                                 const jwks_source_options& opts, std::string kid, int n)
{
    net::io_context a, b;
    std::vector<std::future<result<key_match>>> futures;
    for (int i = 0; i < n; ++i) {
        auto& ioc = i % 2 ? a : b;
        futures.push_back(net::co_spawn(ioc, cache.find_key(uri, opts, query(kid)), net::use_future));
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
        threads.emplace_back([&] { a.run(); });
        threads.emplace_back([&] { b.run(); });
    }
    for (auto& t : threads)
        t.join();
    std::vector<result<key_match>> out;
    for (auto& f : futures)
        out.push_back(f.get());
    return out;
}

const jwks_source_stats& stats_of(const std::vector<jwks_source_stats>& all, const std::string& uri)
{
    for (const auto& s : all)
        if (s.uri == uri)
            return s;
    FAIL("no stats for " << uri);
    return all.front();
}

}  // namespace

TEST_CASE("jwks_cache: no I/O at construction; first get fetches once", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("k1"), public_jwk("k2")}));
    manual_clock clk;
    jwks_cache cache(clk);
    const auto uri = idp.url("/jwks");
    CHECK(cache.peek(uri, fast_options()) == nullptr);
    CHECK(idp.calls("/jwks") == 0);

    auto snap = run_one(cache.get(uri, fast_options()));
    REQUIRE(snap.has_value());
    CHECK((*snap)->current->size() == 2);
    CHECK((*snap)->previous == nullptr);
    CHECK((*snap)->jwks_uri == uri);
    auto again = run_one(cache.get(uri, fast_options()));
    REQUIRE(again.has_value());
    CHECK(*again == *snap);
    CHECK(idp.calls("/jwks") == 1);
    CHECK(cache.peek(uri, fast_options()) == *snap);

    const auto s = stats_of(cache.stats(), uri);
    CHECK(s.fetch_ok == 1);
    CHECK(s.keys == 2);
}

TEST_CASE("jwks_cache: 200 concurrent requests for a new URI make one fetch", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("k1")}));
    idp.set_delay(100ms);
    manual_clock clk;
    jwks_cache cache(clk);
    auto results = find_concurrently(cache, idp.url("/jwks"), fast_options(), "k1", 200);
    for (const auto& r : results) {
        REQUIRE(r.has_value());
        CHECK(r->how == key_match_kind::kid_and_alg);
    }
    CHECK(idp.calls("/jwks") == 1);
}

TEST_CASE("jwks_cache: an unknown kid refetches exactly once under 200 concurrent requests", "[jwt_signer][jwks]")
{
    idp_server idp;
    auto k1 = public_jwk("k1");
    idp.set_jwks(jwks_of({k1}));
    manual_clock clk;
    jwks_cache cache(clk);
    const auto uri = idp.url("/jwks");
    REQUIRE(run_one(cache.get(uri, fast_options())).has_value());

    // The IdP rotates in k2; the throttle window since the first fetch has passed.
    idp.set_jwks(jwks_of({k1, public_jwk("k2")}));
    idp.set_delay(100ms);
    clk.advance(301s);
    auto results = find_concurrently(cache, uri, fast_options(), "k2", 200);
    for (const auto& r : results) {
        REQUIRE(r.has_value());
        CHECK(r->key->kid() == "k2");
        CHECK(r->how == key_match_kind::kid_and_alg);
    }
    CHECK(idp.calls("/jwks") == 2);
    CHECK(stats_of(cache.stats(), uri).unknown_kid_refetches == 1);
}

TEST_CASE("jwks_cache: unknown-kid refetches are throttled", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("k1")}));
    manual_clock clk;
    jwks_cache_config cfg;
    cfg.unknown_kid_refetch_interval = 300s;
    jwks_cache cache(clk, cfg);
    const auto uri = idp.url("/jwks");

    // Just fetched: a random kid does not refetch. With an ES256 key in the
    // set, Kong's last resort (first key with the same alg) answers.
    auto m = run_one(cache.find_key(uri, fast_options(), query("nope")));
    REQUIRE(m.has_value());
    CHECK(m->how == key_match_kind::alg_fallback);
    CHECK(idp.calls("/jwks") == 1);
    // No key of that alg at all: not found, still no refetch.
    auto rs = run_one(cache.find_key(uri, fast_options(), query("nope", jose::alg::rs256)));
    REQUIRE_FALSE(rs.has_value());
    CHECK(rs.error() == jwks_error::key_not_found);
    CHECK(idp.calls("/jwks") == 1);
    CHECK(stats_of(cache.stats(), uri).refetch_throttled == 2);

    clk.advance(299s);
    CHECK_FALSE(run_one(cache.find_key(uri, fast_options(), query("nope", jose::alg::rs256))).has_value());
    CHECK(idp.calls("/jwks") == 1);

    clk.advance(2s);
    CHECK_FALSE(run_one(cache.find_key(uri, fast_options(), query("nope", jose::alg::rs256))).has_value());
    CHECK(idp.calls("/jwks") == 2);
    // ... and that refetch restarts the window.
    CHECK_FALSE(run_one(cache.find_key(uri, fast_options(), query("other", jose::alg::rs256))).has_value());
    CHECK(idp.calls("/jwks") == 2);
}

TEST_CASE("jwks_cache: IdP down - cached keys keep serving, a new kid fails fast", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("k1")}));
    manual_clock clk;
    jwks_cache cache(clk);
    const auto uri = idp.url("/jwks");
    auto opts = fast_options();
    opts.rotate_period = 60s;
    REQUIRE(run_one(cache.get(uri, opts)).has_value());

    idp.stop_listening();
    clk.advance(400s);  // past rotate_period and the unknown-kid throttle

    auto start = std::chrono::steady_clock::now();
    auto known = run_one(cache.find_key(uri, opts, query("k1")));  // due refetch fails: stale set serves
    REQUIRE(known.has_value());
    CHECK(known->key->kid() == "k1");
    auto unknown = run_one(cache.find_key(uri, opts, query("k9", jose::alg::rs256)));  // within backoff: no attempt
    CHECK_FALSE(unknown.has_value());
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    CHECK(stats_of(cache.stats(), uri).fetch_failed == 1);

    // After the backoff one more attempt is made (and fails fast: refused).
    clk.advance(11s);
    CHECK(run_one(cache.find_key(uri, opts, query("k1"))).has_value());
    CHECK(stats_of(cache.stats(), uri).fetch_failed == 2);

    // The IdP recovers: the next due refetch succeeds.
    idp.start_listening();
    clk.advance(11s);
    CHECK(run_one(cache.find_key(uri, opts, query("k1"))).has_value());
    CHECK(stats_of(cache.stats(), uri).fetch_ok == 2);
}

TEST_CASE("jwks_cache: a source that never loaded fails, then fails fast", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.stop_listening();
    manual_clock clk;
    jwks_cache cache(clk);
    const auto uri = idp.url("/jwks");
    auto first = run_one(cache.get(uri, fast_options()));
    REQUIRE_FALSE(first.has_value());
    CHECK(first.error() == http_client::error::connect_failed);
    auto second = run_one(cache.get(uri, fast_options()));
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error() == jwks_error::unavailable);
}

TEST_CASE("jwks_cache: Cache-Control max-age is honoured within bounds", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("k1")}));
    manual_clock clk;
    jwks_cache_config cfg;
    cfg.min_max_age = 60s;
    cfg.max_max_age = 3600s;
    jwks_cache cache(clk, cfg);
    const auto uri = idp.url("/jwks");

    SECTION("within bounds")
    {
        idp.set_max_age(120);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        clk.advance(119s);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        CHECK(idp.calls("/jwks") == 1);
        clk.advance(1s);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        CHECK(idp.calls("/jwks") == 2);
    }
    SECTION("below the minimum is raised to it")
    {
        idp.set_max_age(0);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        clk.advance(59s);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        CHECK(idp.calls("/jwks") == 1);
        clk.advance(1s);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        CHECK(idp.calls("/jwks") == 2);
    }
    SECTION("above the maximum is lowered to it")
    {
        idp.set_max_age(1'000'000);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        clk.advance(3600s);
        REQUIRE(run_one(cache.get(uri, fast_options())).has_value());
        CHECK(idp.calls("/jwks") == 2);
    }
}

TEST_CASE("jwks_cache: rotate_period refetches and keeps the previous generation", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("old")}));
    manual_clock clk;
    jwks_cache cache(clk);
    const auto uri = idp.url("/jwks");
    auto opts = fast_options();
    opts.rotate_period = 60s;
    auto first = run_one(cache.get(uri, opts));
    REQUIRE(first.has_value());

    idp.set_jwks(jwks_of({public_jwk("new")}));
    clk.advance(30s);
    CHECK(run_one(cache.get(uri, opts)).value() == *first);
    clk.advance(30s);
    auto second = run_one(cache.get(uri, opts));
    REQUIRE(second.has_value());
    CHECK((*second)->generation > (*first)->generation);
    CHECK(idp.calls("/jwks") == 2);

    auto old = run_one(cache.find_key(uri, opts, query("old")));
    REQUIRE(old.has_value());
    CHECK(old->from_previous);
    auto fresh = run_one(cache.find_key(uri, opts, query("new")));
    REQUIRE(fresh.has_value());
    CHECK_FALSE(fresh->from_previous);

    SECTION("without the previous generation the old kid is not found by kid")
    {
        CHECK_FALSE(select_key(*second, query("old", jose::alg::rs256), false, true).has_value());
    }
}

TEST_CASE("jwks_cache: openid-configuration is followed to its jwks_uri", "[jwt_signer][jwks]")
{
    idp_server idp;
    idp.set_jwks(jwks_of({public_jwk("k1")}));
    jwks_cache cache;
    auto snap = run_one(cache.get(idp.url(idp_server::discovery_path), fast_options()));
    REQUIRE(snap.has_value());
    CHECK((*snap)->jwks_uri == idp.url("/jwks"));
    CHECK((*snap)->current->find_by_kid("k1") != nullptr);
    CHECK(idp.calls(idp_server::discovery_path) == 1);
    CHECK(idp.calls("/jwks") == 1);
    CHECK(is_discovery_uri("https://idp.example/realms/x/.well-known/openid-configuration"));
    CHECK_FALSE(is_discovery_uri("https://idp.example/jwks"));
}

TEST_CASE("jwks_cache: malformed documents are fetch failures", "[jwt_signer][jwks]")
{
    idp_server idp;
    jwks_cache cache;
    const auto uri = idp.url("/jwks");
    SECTION("a bare array")
    {
        idp.set_jwks_body("[]");
        CHECK(run_one(cache.get(uri, fast_options())).error() == jwks_error::not_a_jwks);
    }
    SECTION("not JSON")
    {
        idp.set_jwks_body("<html>");
        CHECK(run_one(cache.get(uri, fast_options())).error() == jwks_error::bad_json);
    }
    SECTION("a non-200 status")
    {
        idp.set_status("/jwks", 500);
        CHECK(run_one(cache.get(uri, fast_options())).error() == jwks_error::bad_status);
    }
    SECTION("discovery that downgrades https to http")
    {
        idp_server tls_idp({.tls = true});
        tls_idp.set_discovery_jwks_uri("http://127.0.0.1:1/jwks");
        auto opts = fast_options();
        opts.tls.verify = false;
        CHECK(run_one(cache.get(tls_idp.url(idp_server::discovery_path), opts)).error() ==
              jwks_error::bad_discovery);
    }
}

TEST_CASE("jwks_cache: HTTPS, Basic credentials and mTLS", "[jwt_signer][jwks][tls]")
{
    auto jwks = jwks_of({public_jwk("k1")});
    jwks_cache cache;

    SECTION("verification on: untrusted fails, trusted CA works, verification off works")
    {
        idp_server idp({.tls = true});
        idp.set_jwks(jwks);
        const auto uri = idp.url("/jwks");
        auto opts = fast_options();
        CHECK(run_one(cache.get(uri, opts)).error() == http_client::error::tls_failed);
        opts.tls.ca_file = test_pki::get().ca_file;
        CHECK(run_one(cache.get(uri, opts)).has_value());
        auto off = fast_options();
        off.tls.verify = false;
        CHECK(run_one(cache.get(uri, off)).has_value());
        // Different trust settings are different sources.
        CHECK(cache.stats().size() == 3);
    }
    SECTION("Basic credentials")
    {
        idp_server idp({.tls = true});
        idp.set_jwks(jwks);
        idp.require_basic("kong", "secret");
        const auto uri = idp.url("/jwks");
        auto opts = fast_options();
        opts.tls.ca_file = test_pki::get().ca_file;
        CHECK(run_one(cache.get(uri, opts)).error() == jwks_error::bad_status);
        opts.basic = http_client::basic_credentials{"kong", "secret"};
        CHECK(run_one(cache.get(uri, opts)).has_value());
    }
    SECTION("client certificate")
    {
        idp_server idp({.tls = true, .require_client_cert = true});
        idp.set_jwks(jwks);
        auto opts = fast_options();
        opts.tls.ca_file = test_pki::get().ca_file;
        opts.tls.client_cert_pem = test_pki::get().client_cert_pem;
        opts.tls.client_key_pem = test_pki::get().client_key_pem;
        CHECK(run_one(cache.get(idp.url("/jwks"), opts)).has_value());
    }
}

TEST_CASE("jwks_cache: select_key follows Kong's order", "[jwt_signer][jwks]")
{
    auto es = jose::jwk::generate(jose::alg::es256).value().with_kid("a").with_alg(jose::alg::es256).value();
    auto noalg_json = jose::jwk::generate(jose::alg::es256).value().with_kid("b").to_public_json();
    noalg_json.erase("alg");
    auto noalg = jose::jwk::from_json(noalg_json).value();
    REQUIRE_FALSE(noalg.algorithm().has_value());
    auto snap = std::make_shared<jwks_snapshot>();
    snap->current = std::make_shared<jose::jwk_set>(std::vector<std::shared_ptr<const jose::jwk>>{
        std::make_shared<const jose::jwk>(es), std::make_shared<const jose::jwk>(noalg)});
    std::shared_ptr<const jwks_snapshot> s = snap;

    CHECK(select_key(s, query("a"), true, false)->how == key_match_kind::kid_and_alg);
    CHECK(select_key(s, query("b"), true, false)->how == key_match_kind::kid);
    // kid found but with another alg: still the kid match (the verifier then
    // rejects the alg mismatch, as Kong does).
    CHECK(select_key(s, query("a", jose::alg::es384), true, false)->how == key_match_kind::kid);
    CHECK_FALSE(select_key(s, query("zz"), true, false).has_value());
    auto fb = select_key(s, query("zz"), true, true);
    REQUIRE(fb.has_value());
    CHECK(fb->how == key_match_kind::alg_fallback);
    CHECK(fb->key->kid() == "a");  // keys without alg are never a fallback
    CHECK_FALSE(select_key(s, query("zz", jose::alg::es384), true, true).has_value());
}
