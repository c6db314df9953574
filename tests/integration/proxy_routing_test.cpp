// Proxy data plane, end to end with the real binary: routing, path
// rewriting, Host handling and the headers the gateway adds or removes.
#include <catch2/catch.hpp>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

using namespace countersign::test;

namespace {

const char* routing_config = R"(
_format_version: "3.0"
countersign:
  workers: 2
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}/base
    routes:
      - name: strip
        paths: ["/strip"]
      - name: keep
        paths: ["/keep"]
        strip_path: false
      - name: host-route
        hosts: ["api.example.com"]
        paths: ["/"]
      - name: post-only
        methods: ["POST"]
        paths: ["/method"]
      - name: preserve
        paths: ["/preserve"]
        preserve_host: true
      - name: longer
        paths: ["/strip/longer"]
        strip_path: false
  - name: other
    url: http://127.0.0.1:{{UP2}}
    routes:
      - name: get-only
        methods: ["GET"]
        paths: ["/method"]
)";

struct fixture {
    echo_upstream up;
    echo_upstream up2;
    gateway_process gw{gateway_options{routing_config,
                                       {{"UP", std::to_string(up.port())}, {"UP2", std::to_string(up2.port())}}}};
};

}  // namespace

TEST_CASE("proxy: routing by path, host and method; strip_path; 404", "[integration][proxy]")
{
    fixture f;
    auto port = f.gw.proxy_port();

    auto r = get(port, "/strip/x?q=1");
    REQUIRE(r.status == 200);
    CHECK(r.json()["path"] == "/base/x?q=1");

    r = get(port, "/keep/x");
    REQUIRE(r.status == 200);
    CHECK(r.json()["path"] == "/base/keep/x");

    r = get(port, "/strip/longer/y");  // longer prefix wins over /strip
    REQUIRE(r.status == 200);
    CHECK(r.json()["path"] == "/base/strip/longer/y");

    r = get(port, "/anything", {{"Host", "api.example.com"}});
    REQUIRE(r.status == 200);
    CHECK(r.json()["path"] == "/base/anything");

    r = request(port, "POST", "/method", {}, "hello");
    REQUIRE(r.status == 200);
    CHECK(r.json()["body"] == "hello");
    CHECK(f.up.last_request()->target == "/base");
    r = get(port, "/method");
    REQUIRE(r.status == 200);
    CHECK(f.up2.requests() == 1);

    r = get(port, "/nowhere");
    CHECK(r.status == 404);
    CHECK(r.json() == nlohmann::json{{"message", "no Route matched with those values"}});
    CHECK(r.header("content-type").find("application/json") == 0);
}

TEST_CASE("proxy: preserve_host and the upstream Host", "[integration][proxy]")
{
    fixture f;
    auto port = f.gw.proxy_port();
    auto r = get(port, "/preserve", {{"Host", "client.example:1234"}});
    REQUIRE(r.status == 200);
    CHECK(r.json()["headers"]["host"] == "client.example:1234");

    r = get(port, "/strip", {{"Host", "client.example:1234"}});
    REQUIRE(r.status == 200);
    CHECK(r.json()["headers"]["host"] == "127.0.0.1:" + std::to_string(f.up.port()));
}

TEST_CASE("proxy: forwarding headers, hop-by-hop and consumer header removal", "[integration][proxy]")
{
    fixture f;
    auto port = f.gw.proxy_port();
    auto r = get(port, "/strip/p?x=1",
                 {{"Host", "Front.Example:8443"},
                  {"X-Forwarded-For", "6.6.6.6"},
                  {"X-Forwarded-Proto", "https"},
                  {"X-Real-IP", "6.6.6.6"},
                  {"X-Consumer-ID", "spoofed"},
                  {"X-Consumer-Username", "spoofed"},
                  {"X-Anonymous-Consumer", "true"},
                  {"X_Consumer_ID", "spoofed"},
                  {"Connection", "keep-alive, X-Hop"},
                  {"X-Hop", "drop me"},
                  {"Keep-Alive", "timeout=5"},
                  {"TE", "trailers"},
                  {"Upgrade", "h2c"},
                  {"Proxy-Connection", "keep-alive"},
                  {"X-End-To-End", "kept"}});
    REQUIRE(r.status == 200);
    auto rec = f.up.last_request();
    REQUIRE(rec);
    CHECK(rec->header("x-forwarded-for") == "127.0.0.1");
    CHECK(rec->header_values("x-forwarded-for").size() == 1);
    CHECK(rec->header("x-forwarded-proto") == "http");
    CHECK(rec->header("x-forwarded-host") == "front.example");
    CHECK(rec->header("x-forwarded-port") == std::to_string(port));
    CHECK(rec->header("x-forwarded-path") == "/strip/p");
    CHECK(rec->header("x-forwarded-prefix") == "/strip");
    CHECK(rec->header("x-real-ip") == "127.0.0.1");
    for (auto name : {"x-consumer-id", "x-consumer-username", "x-anonymous-consumer", "x_consumer_id", "x-hop",
                      "keep-alive", "te", "upgrade", "proxy-connection"})
        CHECK_FALSE(rec->has_header(name));
    CHECK(rec->header("x-end-to-end") == "kept");
    CHECK(rec->header("connection") != "X-Hop");
}

TEST_CASE("proxy: a new request on a keep-alive connection after Connection: close is refused", "[integration][proxy]")
{
    fixture f;
    connection c(f.gw.proxy_port());
    auto r = c.request("GET", "/strip/a", {{"Connection", "close"}});
    CHECK(r.status == 200);
    CHECK_FALSE(r.keep_alive);
}
