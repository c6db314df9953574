#include <countersign/jwt_signer/introspection_cache.hpp>
#include <countersign/jwt_signer/introspection_client.hpp>

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

using answer = result<std::shared_ptr<const nlohmann::json>>;

template <class T>
T run_one(net::awaitable<T> a)
{
    net::io_context ioc;
    auto fut = net::co_spawn(ioc, std::move(a), net::use_future);
    ioc.run();
    return fut.get();
}

introspection_request request_for(const idp_server& idp, std::string token)
{
    introspection_request r;
    r.endpoint = idp.url(idp_server::introspection_path);
    r.token = std::move(token);
    r.timeout = 2s;
    return r;
}

}  // namespace

TEST_CASE("introspection: form, hint, body args and Authorization are sent", "[jwt_signer][introspection]")
{
    idp_server idp;
    idp.set_token("opaque-1", {{"active", true}, {"sub", "alice"}});
    http_introspection_client client;
    auto req = request_for(idp, "opaque-1");
    req.hint = "access_token";
    req.authorization = http_client::basic_authorization("gateway", "s3cret");
    req.body_args = parse_body_args("resource=https%3A%2F%2Fapi&a=1+2").value();
    auto r = run_one(client.introspect(req));
    REQUIRE(r.has_value());
    CHECK((**r)["sub"] == "alice");

    auto seen = idp.last_request(idp_server::introspection_path);
    REQUIRE(seen.has_value());
    CHECK(seen->method == "POST");
    CHECK(seen->headers.at("authorization") == "Basic Z2F0ZXdheTpzM2NyZXQ=");
    CHECK(seen->headers.at("content-type") == "application/x-www-form-urlencoded; charset=utf-8");
    CHECK(seen->form.at("token") == "opaque-1");
    CHECK(seen->form.at("token_type_hint") == "access_token");
    CHECK(seen->form.at("resource") == "https://api");
    CHECK(seen->form.at("a") == "1 2");
    CHECK(seen->body.rfind("token=opaque-1&token_type_hint=access_token&resource=", 0) == 0);

    SECTION("no hint, no Authorization when not configured")
    {
        auto plain = request_for(idp, "opaque-1");
        REQUIRE(run_one(client.introspect(plain)).has_value());
        auto s = idp.last_request(idp_server::introspection_path);
        CHECK(s->form.count("token_type_hint") == 0);
        CHECK(s->headers.count("authorization") == 0);
    }
}

TEST_CASE("introspection: body args parsing", "[jwt_signer][introspection]")
{
    auto args = parse_body_args("a=1&b=x%20y&&c=");
    REQUIRE(args.has_value());
    REQUIRE(args->size() == 3);
    CHECK((*args)[1] == std::pair<std::string, std::string>{"b", "x y"});
    CHECK((*args)[2].second.empty());
    CHECK(parse_body_args("a=%zz").error() == introspection_error::bad_body_args);
    CHECK(parse_body_args("=v").error() == introspection_error::bad_body_args);
}

TEST_CASE("introspection: active must be exactly true", "[jwt_signer][introspection]")
{
    idp_server idp;
    idp.set_token("off", {{"active", false}, {"error", "revoked"}});
    idp.set_token("str", {{"active", "true"}});
    idp.set_token("none", {{"sub", "x"}});
    http_introspection_client client;
    for (auto token : {"off", "str", "none", "unknown"}) {
        auto r = run_one(client.introspect(request_for(idp, token)));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == introspection_error::inactive);
    }
    idp.set_status(idp_server::introspection_path, 500);
    CHECK(run_one(client.introspect(request_for(idp, "off"))).error() == introspection_error::bad_status);
}

TEST_CASE("introspection: timeout, without a retry", "[jwt_signer][introspection]")
{
    idp_server idp;
    idp.set_token("t", {{"active", true}});
    idp.set_delay(600ms);
    http_introspection_client client;
    auto req = request_for(idp, "t");
    req.timeout = 150ms;
    auto start = std::chrono::steady_clock::now();
    auto r = run_one(client.introspect(req));
    CHECK(std::chrono::steady_clock::now() - start < 500ms);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == http_client::error::timeout);
    std::this_thread::sleep_for(600ms);  // let the server finish the slow answer
    CHECK(idp.calls(idp_server::introspection_path) == 1);
}

TEST_CASE("introspection: one retry on a connection failure", "[jwt_signer][introspection]")
{
    idp_server idp;
    idp.set_token("t", {{"active", true}});
    http_introspection_client client;
    SECTION("the retry succeeds")
    {
        idp.drop_next_connections(1);
        CHECK(run_one(client.introspect(request_for(idp, "t"))).has_value());
    }
    SECTION("only one retry")
    {
        idp.drop_next_connections(2);
        auto r = run_one(client.introspect(request_for(idp, "t")));
        REQUIRE_FALSE(r.has_value());
        CHECK(http_client::is_connection_failure(r.error()));
        idp.drop_next_connections(0);
    }
}

TEST_CASE("introspection: over HTTPS with verification", "[jwt_signer][introspection][tls]")
{
    idp_server idp({.tls = true});
    idp.set_token("t", {{"active", true}});
    http_introspection_client client;
    auto req = request_for(idp, "t");
    CHECK(run_one(client.introspect(req)).error() == http_client::error::tls_failed);
    req.tls.ca_file = test_pki::get().ca_file;
    CHECK(run_one(client.introspect(req)).has_value());
}

TEST_CASE("introspection_cache: hits, keys and TTLs", "[jwt_signer][introspection]")
{
    idp_server idp;
    manual_clock clk;
    introspection_cache_config cfg;
    cfg.max_ttl = 3600s;
    cfg.default_ttl = 60s;
    cfg.inactive_ttl = 5s;
    introspection_cache cache(nullptr, clk, cfg);
    const auto path = idp_server::introspection_path;

    SECTION("a hit makes no call; another hint, authorization or body arg is another key")
    {
        idp.set_token("t", {{"active", true}, {"expires_in", 300}});
        auto req = request_for(idp, "t");
        REQUIRE(run_one(cache.introspect(req)).has_value());
        REQUIRE(run_one(cache.introspect(req)).has_value());
        CHECK(idp.calls(path) == 1);
        CHECK(cache.stats().hits == 1);

        auto hinted = req;
        hinted.hint = "access_token";
        auto authed = req;
        authed.authorization = "Basic eA==";
        auto argued = req;
        argued.body_args = {{"resource", "x"}};
        for (const auto& r : {hinted, authed, argued})
            REQUIRE(run_one(cache.introspect(r)).has_value());
        CHECK(idp.calls(path) == 4);
        CHECK(introspection_cache::cache_key(req) != introspection_cache::cache_key(hinted));

        // use_cache = false (cache_{t}_introspection off) always calls.
        REQUIRE(run_one(cache.introspect(req, false)).has_value());
        CHECK(idp.calls(path) == 5);
    }
    SECTION("expires_in sets the TTL")
    {
        idp.set_token("t", {{"active", true}, {"expires_in", 30}});
        auto req = request_for(idp, "t");
        REQUIRE(run_one(cache.introspect(req)).has_value());
        clk.advance(29s);
        REQUIRE(run_one(cache.introspect(req)).has_value());
        CHECK(idp.calls(path) == 1);
        clk.advance(1s);
        REQUIRE(run_one(cache.introspect(req)).has_value());
        CHECK(idp.calls(path) == 2);
    }
    SECTION("exp sets the TTL, and an expired exp is not cached")
    {
        idp.set_token("t", {{"active", true}, {"exp", clk.unix_seconds() + 10}});
        idp.set_token("old", {{"active", true}, {"exp", clk.unix_seconds() - 1}});
        auto req = request_for(idp, "t");
        REQUIRE(run_one(cache.introspect(req)).has_value());
        clk.advance(9s);
        REQUIRE(run_one(cache.introspect(req)).has_value());
        CHECK(idp.calls(path) == 1);
        clk.advance(1s);
        REQUIRE(run_one(cache.introspect(req)).has_value());
        CHECK(idp.calls(path) == 2);

        auto old = request_for(idp, "old");
        REQUIRE(run_one(cache.introspect(old)).has_value());
        REQUIRE(run_one(cache.introspect(old)).has_value());
        CHECK(idp.calls(path) == 4);
    }
    SECTION("max_ttl caps, default_ttl applies without expiry")
    {
        idp.set_token("long", {{"active", true}, {"expires_in", 1000000}});
        idp.set_token("bare", {{"active", true}});
        auto lng = request_for(idp, "long");
        auto bare = request_for(idp, "bare");
        REQUIRE(run_one(cache.introspect(lng)).has_value());
        REQUIRE(run_one(cache.introspect(bare)).has_value());
        clk.advance(59s);
        REQUIRE(run_one(cache.introspect(bare)).has_value());
        CHECK(idp.calls(path) == 2);
        clk.advance(1s);
        REQUIRE(run_one(cache.introspect(bare)).has_value());
        CHECK(idp.calls(path) == 3);
        clk.advance(3540s);
        REQUIRE(run_one(cache.introspect(lng)).has_value());
        CHECK(idp.calls(path) == 4);
    }
    SECTION("inactive answers are cached briefly")
    {
        auto req = request_for(idp, "revoked");
        CHECK(run_one(cache.introspect(req)).error() == introspection_error::inactive);
        clk.advance(4s);
        CHECK(run_one(cache.introspect(req)).error() == introspection_error::inactive);
        CHECK(idp.calls(path) == 1);
        // Re-activated at the IdP: seen once the short TTL runs out.
        idp.set_token("revoked", {{"active", true}});
        clk.advance(1s);
        CHECK(run_one(cache.introspect(req)).has_value());
        CHECK(idp.calls(path) == 2);
    }
    SECTION("failures are not cached")
    {
        idp.set_status(path, 503);
        auto req = request_for(idp, "t");
        CHECK(run_one(cache.introspect(req)).error() == introspection_error::bad_status);
        CHECK(run_one(cache.introspect(req)).error() == introspection_error::bad_status);
        CHECK(idp.calls(path) == 2);
    }
}

TEST_CASE("introspection_cache: 200 concurrent misses make one call", "[jwt_signer][introspection]")
{
    idp_server idp;
    idp.set_token("t", {{"active", true}, {"expires_in", 60}});
    idp.set_delay(100ms);
    introspection_cache cache;
    auto req = request_for(idp, "t");

    net::io_context a, b;
    std::vector<std::future<answer>> futures;
    for (int i = 0; i < 200; ++i)
        futures.push_back(net::co_spawn(i % 2 ? a : b, cache.introspect(req), net::use_future));
    std::thread ta([&] { a.run(); }), tb([&] { b.run(); }), tc([&] { a.run(); });
    ta.join();
    tb.join();
    tc.join();
    for (auto& f : futures)
        CHECK(f.get().has_value());
    CHECK(idp.calls(idp_server::introspection_path) == 1);
    CHECK(cache.stats().calls == 1);
}

TEST_CASE("introspection_cache: bounded with LRU eviction", "[jwt_signer][introspection]")
{
    idp_server idp;
    for (auto t : {"a", "b", "c"})
        idp.set_token(t, {{"active", true}, {"expires_in", 600}});
    manual_clock clk;
    introspection_cache_config cfg;
    cfg.max_entries = 2;
    cfg.shards = 1;
    introspection_cache cache(nullptr, clk, cfg);
    REQUIRE(run_one(cache.introspect(request_for(idp, "a"))).has_value());
    REQUIRE(run_one(cache.introspect(request_for(idp, "b"))).has_value());
    REQUIRE(run_one(cache.introspect(request_for(idp, "a"))).has_value());  // a is now most recent
    REQUIRE(run_one(cache.introspect(request_for(idp, "c"))).has_value());  // evicts b
    CHECK(cache.stats().evictions == 1);
    CHECK(cache.stats().entries == 2);
    REQUIRE(run_one(cache.introspect(request_for(idp, "a"))).has_value());
    CHECK(idp.calls(idp_server::introspection_path) == 3);
    REQUIRE(run_one(cache.introspect(request_for(idp, "b"))).has_value());
    CHECK(idp.calls(idp_server::introspection_path) == 4);
    cache.clear();
    CHECK(cache.stats().entries == 0);
}
