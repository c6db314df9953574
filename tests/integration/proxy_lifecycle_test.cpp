// Proxy data plane, end to end: TLS listeners and graceful shutdown.
#include <csignal>
#include <thread>

#include <catch2/catch.hpp>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/tls_files.hpp"

using namespace countersign::test;

TEST_CASE("proxy: TLS listener", "[integration][proxy]")
{
    echo_upstream up;
    temp_dir certs("countersign-proxy-tls");
    auto cert = make_self_signed_cert(certs.path(), "localhost");
    gateway_options o;
    o.config_yaml = R"(
_format_version: "3.0"
countersign:
  workers: 1
  proxy_listen: ["127.0.0.1:{{PROXY_PORT}}", "127.0.0.1:{{TLS_PORT}} ssl"]
  ssl_cert: {{CERT}}
  ssl_cert_key: {{KEY}}
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
)";
    o.vars = {{"UP", std::to_string(up.port())}, {"CERT", cert.cert.string()}, {"KEY", cert.key.string()}};
    o.wait_ports = {};
    gateway_process gw(o);
    REQUIRE(gw.wait_ready());

    request_options ro;
    ro.tls = true;
    ro.ca_file = cert.cert.string();
    ro.sni = "localhost";
    connection c(gw.tls_port(), ro);
    for (int i = 0; i < 3; ++i) {
        auto r = c.request("GET", "/secure");
        REQUIRE(r.status == 200);
        CHECK(r.json()["headers"]["x-forwarded-proto"] == "https");
        CHECK(r.json()["headers"]["x-forwarded-port"] == std::to_string(gw.tls_port()));
    }
    // The plain listener keeps working next to it.
    auto r = get(gw.proxy_port(), "/plain");
    REQUIRE(r.status == 200);
    CHECK(r.json()["headers"]["x-forwarded-proto"] == "http");
}

TEST_CASE("proxy: SIGTERM drains an in-flight request and exits 0", "[integration][proxy]")
{
    echo_options opts;
    opts.delay = std::chrono::milliseconds(1500);
    echo_upstream up(opts);
    gateway_options o;
    o.config_yaml = R"(
_format_version: "3.0"
countersign:
  workers: 2
  shutdown_timeout: 10000
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: all
        paths: ["/"]
)";
    o.vars = {{"UP", std::to_string(up.port())}};
    gateway_process gw(o);

    // An idle keep-alive connection must not hold the shutdown up.
    connection idle(gw.proxy_port());
    up.set_delay(std::chrono::milliseconds(0));
    REQUIRE(idle.request("GET", "/warm").status == 200);
    up.set_delay(std::chrono::milliseconds(1500));

    http_response slow;
    std::string failure;
    std::thread t([&] {
        try {
            slow = get(gw.proxy_port(), "/slow");
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    REQUIRE(up.wait_for_requests(2));
    gw.send_signal(SIGTERM);
    t.join();
    CHECK(failure.empty());
    CHECK(slow.status == 200);
    CHECK_FALSE(slow.keep_alive);
    auto code = gw.wait_exit(std::chrono::seconds(10));
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK_FALSE(port_open(gw.proxy_port()));
}
