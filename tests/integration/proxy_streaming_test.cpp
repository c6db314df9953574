// Proxy data plane, end to end: keep-alive on both sides, chunked bodies in
// both directions, and large bodies streamed with bounded gateway memory.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

using namespace countersign::test;

namespace {

// Peak resident set of a process, in KiB (VmHWM).
long peak_rss_kib(int pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

}  // namespace

TEST_CASE("proxy: keep-alive on both sides reuses the upstream connection", "[integration][proxy]")
{
    echo_upstream up;
    gateway_process gw(one_route_yaml(up.port(), "  workers: 1\n"));
    connection c(gw.proxy_port());
    for (int i = 0; i < 10; ++i) {
        auto r = c.request("GET", "/k/" + std::to_string(i));
        REQUIRE(r.status == 200);
        CHECK(r.keep_alive);
        CHECK(r.json()["path"] == "/k/" + std::to_string(i));
    }
    // Fresh client connections still share the pooled upstream connection.
    for (int i = 0; i < 5; ++i)
        REQUIRE(get(gw.proxy_port(), "/fresh").status == 200);
    CHECK(up.requests() == 15);
    CHECK(up.connections() == 1);
}

TEST_CASE("proxy: an idempotent request on a pooled connection the upstream closed goes out again on a new one",
          "[integration][proxy]")
{
    // The upstream answers as keep-alive and closes at once, so every pooled
    // connection is dead by the time the next request takes it.
    echo_options opts;
    opts.close_after_response = true;
    echo_upstream up(opts);
    gateway_process gw(one_route_yaml(up.port(), "  workers: 1\n"));
    connection c(gw.proxy_port());
    const char* methods[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "GET"};
    int n = 0;
    for (const char* m : methods) {
        auto r = c.request(m, "/again/" + std::to_string(n++));
        REQUIRE(r.status == 200);
        CHECK(r.keep_alive);  // the client never saw the dead connection
        if (std::string_view(m) == "GET")
            CHECK(r.json()["path"] == "/again/" + std::to_string(n - 1));
    }
    // Each request reached the upstream exactly once, each on a connection
    // of its own; the five that took a dead pooled connection were sent
    // again.
    CHECK(up.requests() == 6);
    CHECK(up.connections() == 6);
    const auto metrics = get(gw.admin_port(), "/metrics").body;
    CHECK(metrics.find("countersign_upstream_stale_retries_total 5\n") != std::string::npos);
    CHECK(metrics.find("countersign_upstream_connections_reused_total 5\n") != std::string::npos);
}

TEST_CASE("proxy: a POST is not sent twice: it gets a checked pooled connection", "[integration][proxy]")
{
    echo_options opts;
    opts.close_after_response = true;
    echo_upstream up(opts);
    gateway_process gw(one_route_yaml(up.port(), "  workers: 1\n"));
    connection c(gw.proxy_port());
    REQUIRE(c.request("GET", "/first").status == 200);
    // The pooled connection is dead; a POST must not be resent, so it is
    // checked before use. Wait until the upstream has closed it (the
    // upstream's close is in order before its next accept).
    REQUIRE(up.wait_for_requests(1, std::chrono::seconds(10)));
    auto r = c.request("POST", "/once", {}, "payload");
    // Either the peek saw the close (the usual case) and a new connection
    // carried it, or the close had not reached the gateway yet and the POST
    // failed with 502: never a second copy upstream.
    CHECK(up.requests() == (r.status == 200 ? 2u : 1u));
    const auto metrics = get(gw.admin_port(), "/metrics").body;
    CHECK(metrics.find("countersign_upstream_stale_retries_total 0\n") != std::string::npos);
}

TEST_CASE("proxy: chunked request and chunked response", "[integration][proxy]")
{
    echo_options opts;
    opts.chunked_response = true;
    echo_upstream up(opts);
    gateway_process gw(one_route_yaml(up.port(), "  workers: 1\n"));

    request_options ro;
    ro.chunked_request = true;
    std::string body(100'000, 'x');
    auto r = request(gw.proxy_port(), "POST", "/chunky", {}, body, ro);
    REQUIRE(r.status == 200);
    CHECK(r.chunked);
    CHECK(r.json()["body_bytes"] == body.size());
    auto rec = up.last_request();
    REQUIRE(rec);
    CHECK(rec->chunked);
    CHECK(rec->body == body);

    // Keep-alive survives chunked exchanges.
    connection c(gw.proxy_port(), ro);
    for (int i = 0; i < 3; ++i) {
        auto rr = c.request("POST", "/again", {}, "abc");
        REQUIRE(rr.status == 200);
        CHECK(rr.json()["body"] == "abc");
    }
}

TEST_CASE("proxy: a 256 MiB upload and download stream with bounded memory", "[integration][proxy][slow]")
{
    constexpr std::uint64_t size = 256ull << 20;
    SECTION("upload")
    {
        echo_options opts;
        opts.sink = true;
        echo_upstream up(opts);
        gateway_process gw(one_route_yaml(up.port(), "  workers: 1\n"));
        request_options ro;
        ro.timeout = std::chrono::seconds(120);
        connection c(gw.proxy_port(), ro);
        auto r = c.stream_upload("POST", "/upload", size);
        REQUIRE(r.status == 200);
        CHECK(r.json()["body_bytes"] == size);
        CHECK(up.body_bytes_received() == size);
        auto rss = peak_rss_kib(gw.pid());
        INFO("gateway VmHWM " << rss << " KiB");
        CHECK(rss > 0);
        CHECK(rss < 64 * 1024);
    }
    SECTION("download")
    {
        echo_options opts;
        opts.source_bytes = size;
        echo_upstream up(opts);
        gateway_process gw(one_route_yaml(up.port(), "  workers: 1\n"));
        request_options ro;
        ro.timeout = std::chrono::seconds(120);
        ro.discard_body = true;
        auto r = request(gw.proxy_port(), "GET", "/download", {}, {}, ro);
        REQUIRE(r.status == 200);
        CHECK(r.body_bytes == size);
        auto rss = peak_rss_kib(gw.pid());
        INFO("gateway VmHWM " << rss << " KiB");
        CHECK(rss > 0);
        CHECK(rss < 64 * 1024);
    }
}
