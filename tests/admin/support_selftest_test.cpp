// Self-test of the shared integration-test support library (tests/support):
// the echo upstream driven by the test HTTP client, without the gateway.
#include <catch2/catch.hpp>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"
#include "support/tls_files.hpp"

using namespace countersign::test;

TEST_CASE("support: echo upstream echoes method, path, headers and body", "[support]")
{
    echo_upstream up;
    auto r = request(up.port(), "POST", "/a/b?x=1&y=2", {{"X-One", "1"}, {"X-Multi", "a"}, {"X-Multi", "b"}},
                     "hello");
    REQUIRE(r.status == 200);
    auto j = r.json();
    CHECK(j["method"] == "POST");
    CHECK(j["path"] == "/a/b?x=1&y=2");
    CHECK(j["headers"]["x-one"] == "1");
    CHECK(j["headers"]["x-multi"] == nlohmann::json::array({"a", "b"}));
    CHECK(j["body"] == "hello");
    CHECK(j["connection_id"] == 1);
    CHECK(up.requests() == 1);
    REQUIRE(up.last_request());
    CHECK(up.last_request()->header("X-ONE") == "1");
    CHECK(up.last_request()->header_values("x-multi").size() == 2);
}

TEST_CASE("support: keep-alive is counted per connection", "[support]")
{
    echo_upstream up;
    connection c(up.port());
    for (int i = 0; i < 3; ++i)
        CHECK(c.request("GET", "/k").json()["connection_id"] == 1);
    CHECK(up.connections() == 1);
    CHECK(up.requests() == 3);
    CHECK(c.is_open());
    get(up.port(), "/other");
    CHECK(up.connections() == 2);
    CHECK(up.last_requests().size() == 4);
}

TEST_CASE("support: chunked both ways", "[support]")
{
    echo_options o;
    o.chunked_response = true;
    echo_upstream up(o);
    request_options ro;
    ro.chunked_request = true;
    auto r = request(up.port(), "PUT", "/c", {}, "chunked body", ro);
    CHECK(r.chunked);
    CHECK(r.json()["body"] == "chunked body");
    CHECK(up.last_request()->chunked);
}

TEST_CASE("support: sink and source modes stream without storing", "[support]")
{
    echo_options sink;
    sink.sink = true;
    echo_upstream up(sink);
    connection c(up.port());
    auto r = c.stream_upload("POST", "/up", 5 * 1024 * 1024 + 3);
    CHECK(r.json()["body_bytes"] == 5 * 1024 * 1024 + 3);
    CHECK(r.json()["body"] == "");
    CHECK(up.body_bytes_received() == 5 * 1024 * 1024 + 3);

    echo_options source;
    source.source_bytes = 3 * 1024 * 1024 + 7;
    echo_upstream down(source);
    request_options ro;
    ro.discard_body = true;
    auto d = request(down.port(), "GET", "/down", {}, {}, ro);
    CHECK(d.body_bytes == 3 * 1024 * 1024 + 7);
    CHECK(d.body.empty());
}

TEST_CASE("support: status, extra headers, Connection: close", "[support]")
{
    echo_options o;
    o.status = 503;
    o.keep_alive = false;
    o.response_headers = {{"X-Up", "yes"}};
    echo_upstream up(o);
    connection c(up.port());
    auto r = c.request("GET", "/");
    CHECK(r.status == 503);
    CHECK(r.header("x-up") == "yes");
    CHECK_FALSE(r.keep_alive);
}

TEST_CASE("support: send_raw returns the raw answer", "[support]")
{
    echo_upstream up;
    auto raw = send_raw(up.port(), "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(raw_status(raw) == 200);
    CHECK(raw.find("\"/raw\"") != std::string::npos);
    CHECK(raw_status("garbage") == 0);
}

TEST_CASE("support: delay, and a client timeout throws", "[support]")
{
    echo_options o;
    o.delay = std::chrono::milliseconds(300);
    echo_upstream up(o);
    request_options quick;
    quick.timeout = std::chrono::milliseconds(50);
    CHECK_THROWS_AS(get(up.port(), "/", {}, quick), std::runtime_error);
    up.set_delay(std::chrono::milliseconds(0));
    CHECK(get(up.port(), "/").status == 200);
}

TEST_CASE("support: refused connections throw", "[support]")
{
    auto port = free_port();
    CHECK_FALSE(port_open(port));
    CHECK_THROWS_AS(get(port, "/"), std::runtime_error);
}

TEST_CASE("support: temp_dir and self-signed certificates", "[support]")
{
    std::filesystem::path where;
    {
        temp_dir d;
        where = d.path();
        d.write("a/b.txt", "content");
        CHECK(d.read("a/b.txt") == "content");
        auto cert = make_self_signed_cert(d.path());
        CHECK(read_file(cert.cert).find("BEGIN CERTIFICATE") != std::string::npos);
        CHECK(read_file(cert.key).find("PRIVATE KEY") != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(where));
    CHECK(render("a {{X}} b {{X}}", {{"X", "1"}}) == "a 1 b 1");
}
