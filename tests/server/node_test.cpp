// The proxy node in-process (no binary): routing, keep-alive pooling,
// framing rejection, runtime swap and graceful stop, against the support
// echo upstream on ephemeral ports.
#include <countersign/server/node.hpp>

#include <thread>

#include <catch2/catch.hpp>

#include "support/echo_upstream.hpp"
#include "support/http_client.hpp"

using namespace countersign;
using namespace countersign::test;

namespace {

config::gateway_config_ptr make_config(std::uint16_t up_port, std::string route_path)
{
    auto cfg = std::make_shared<config::gateway_config>();
    config::listen_address la;
    la.address = "127.0.0.1";
    la.port = 0;
    la.text = "127.0.0.1:0";
    cfg->node.proxy_listen = {la};
    cfg->node.workers = 2;
    cfg->node.shutdown_timeout = std::chrono::milliseconds(5000);
    config::service_config s;
    s.id = s.name = "echo";
    s.host = "127.0.0.1";
    s.port = up_port;
    s.retries = 0;
    cfg->services.push_back(s);
    config::route_config r;
    r.id = r.name = "r";
    r.service_id = "echo";
    r.paths = {std::move(route_path)};
    cfg->routes.push_back(r);
    return cfg;
}

}  // namespace

TEST_CASE("node: proxies, pools, rejects smuggling, swaps runtime, stops gracefully", "[server][node]")
{
    echo_upstream up;
    auto cfg = make_config(up.port(), "/a");
    server::node n(server::build_runtime_without_plugins(cfg), cfg->node);
    auto started = n.start();
    INFO(n.last_error());
    REQUIRE(started);
    auto port = n.bound_ports().at(0);
    REQUIRE(port != 0);

    // Route, strip_path, keep-alive on both sides.
    {
        connection c(port);
        for (int i = 0; i < 5; ++i) {
            auto r = c.request("GET", "/a/x" + std::to_string(i));
            REQUIRE(r.status == 200);
            CHECK(r.json()["path"] == "/x" + std::to_string(i));
        }
        auto r = c.request("POST", "/a/body", {}, "payload");
        REQUIRE(r.status == 200);
        CHECK(r.json()["body"] == "payload");
    }
    CHECK(up.connections() == 1);
    CHECK(get(port, "/b").status == 404);

    // Smuggling: 400 + close, upstream untouched.
    auto before = up.requests();
    auto raw = send_raw(port, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    CHECK(raw_status(raw) == 400);
    raw = send_raw(port, "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n");
    CHECK(raw_status(raw) == 400);
    CHECK(up.requests() == before);

    // Runtime swap: a kept-alive connection picks up the new routes.
    connection kept(port);
    REQUIRE(kept.request("GET", "/a").status == 200);
    auto cfg2 = make_config(up.port(), "/b");
    n.replace(server::build_runtime_without_plugins(cfg2));
    CHECK(kept.request("GET", "/a").status == 404);
    CHECK(kept.request("GET", "/b").status == 200);

    // Graceful stop with a request in flight.
    up.set_delay(std::chrono::milliseconds(800));
    http_response slow;
    std::thread t([&] { slow = get(port, "/b/slow"); });
    REQUIRE(up.wait_for_requests(before + 3));
    n.request_stop();
    t.join();
    CHECK(slow.status == 200);
    CHECK(n.wait() == 0);
    CHECK_FALSE(port_open(port));
    CHECK(n.stats().requests_total >= 11);
    CHECK(n.stats().connections_active == 0);
}
