// The admin listener of the real binary: every endpoint, shapes and 404s.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/tls_files.hpp"

using namespace countersign::test;

namespace {

const char* admin_config = R"(_format_version: "3.0"
countersign:
  workers: 2
services:
  - name: orders
    id: 0b6b0a4e-8a3c-4e0f-9b1e-7d0c3c1f2a01
    url: http://127.0.0.1:{{UP}}/v1
    routes:
      - name: orders-route
        paths: ["/orders"]
    plugins:
      - name: correlation-id
        id: 5f1a7a8e-31c1-4b55-a0a4-3f6c1b0e9d02
routes:
  - name: free-route
    paths: ["/free"]
    plugins:
      - name: request-termination
        config:
          status_code: 418
          message: teapot
consumers:
  - username: alice
    custom_id: A-1
)";

struct fixture {
    echo_upstream up;
    gateway_process gw{gateway_options{admin_config, {{"UP", std::to_string(up.port())}}}};

    nlohmann::json get_json(const std::string& target, unsigned expect = 200)
    {
        auto r = get(gw.admin_port(), target);
        INFO(target << " -> " << r.status << " " << r.body);
        REQUIRE(r.status == expect);
        CHECK(r.header("content-type") == "application/json; charset=utf-8");
        return r.json();
    }
};

}  // namespace

TEST_CASE("admin: GET / describes the node", "[integration][admin]")
{
    fixture f;
    auto j = f.get_json("/");
    CHECK(j["version"] == COUNTERSIGN_VERSION);
    CHECK(j["pid"] == f.gw.pid());
    CHECK(j["workers"] == 2);
    CHECK(j["node_id"].get<std::string>().size() == 36);
    CHECK(!j["hostname"].get<std::string>().empty());
    CHECK(j["config_source"].get<std::string>().find("countersign.yaml") != std::string::npos);
    CHECK(j["plugins"]["available_on_server"].contains("request-termination"));
    CHECK(j["plugins"]["available_on_server"].contains("correlation-id"));
}

TEST_CASE("admin: GET /status counts connections and requests", "[integration][admin]")
{
    fixture f;
    // Requests without a matching route are answered by the gateway itself.
    for (int i = 0; i < 3; ++i)
        CHECK(get(f.gw.proxy_port(), "/no-route-here").status == 404);
    auto j = f.get_json("/status");
    CHECK(j["server"]["total_requests"].get<std::uint64_t>() >= 3);
    CHECK(j["server"]["connections_accepted"].get<std::uint64_t>() >= 3);
    CHECK(j["server"].contains("connections_active"));
    CHECK(j["server"].contains("connections_handled"));
    CHECK(j["memory"]["resident_bytes"].get<std::uint64_t>() > 0);
}

TEST_CASE("admin: GET /status/ready", "[integration][admin]")
{
    fixture f;
    CHECK(f.get_json("/status/ready") == nlohmann::json{{"message", "ready"}});
}

TEST_CASE("admin: entity listings in Kong's shape", "[integration][admin]")
{
    fixture f;
    auto services = f.get_json("/services");
    CHECK(services["next"].is_null());
    REQUIRE(services["data"].size() == 1);
    CHECK(services["data"][0]["name"] == "orders");
    CHECK(services["data"][0]["host"] == "127.0.0.1");
    CHECK(services["data"][0]["port"] == f.up.port());
    CHECK(services["data"][0]["path"] == "/v1");

    auto routes = f.get_json("/routes");
    REQUIRE(routes["data"].size() == 2);
    auto plugins = f.get_json("/plugins");
    REQUIRE(plugins["data"].size() == 2);
    auto consumers = f.get_json("/consumers");
    REQUIRE(consumers["data"].size() == 1);
    CHECK(consumers["data"][0]["username"] == "alice");

    auto svc_routes = f.get_json("/services/orders/routes");
    REQUIRE(svc_routes["data"].size() == 1);
    CHECK(svc_routes["data"][0]["name"] == "orders-route");
    CHECK(svc_routes["data"][0]["service"]["id"] == "0b6b0a4e-8a3c-4e0f-9b1e-7d0c3c1f2a01");
}

TEST_CASE("admin: single entities and 404s", "[integration][admin]")
{
    fixture f;
    CHECK(f.get_json("/services/orders")["id"] == "0b6b0a4e-8a3c-4e0f-9b1e-7d0c3c1f2a01");
    CHECK(f.get_json("/services/0b6b0a4e-8a3c-4e0f-9b1e-7d0c3c1f2a01")["name"] == "orders");
    CHECK(f.get_json("/routes/free-route")["paths"] == nlohmann::json::array({"/free"}));
    CHECK(f.get_json("/consumers/alice")["custom_id"] == "A-1");
    auto plugin = f.get_json("/plugins/5f1a7a8e-31c1-4b55-a0a4-3f6c1b0e9d02");
    CHECK(plugin["name"] == "correlation-id");
    CHECK(plugin["service"]["id"] == "0b6b0a4e-8a3c-4e0f-9b1e-7d0c3c1f2a01");
    CHECK(plugin["config"].is_object());

    for (const char* missing : {"/services/nope", "/routes/nope", "/plugins/nope", "/consumers/nope",
                                "/services/nope/routes", "/no/such/endpoint"}) {
        INFO(missing);
        CHECK(f.get_json(missing, 404) == nlohmann::json{{"message", "Not found"}});
    }
    CHECK(f.get_json("/services", 200)["data"].size() == 1);
    auto wrong_method = request(f.gw.admin_port(), "DELETE", "/services/orders");
    CHECK(wrong_method.status == 405);
    CHECK(wrong_method.json() == nlohmann::json{{"message", "Method not allowed"}});
}

TEST_CASE("admin: plugins/enabled and plugin schemas", "[integration][admin]")
{
    fixture f;
    auto enabled = f.get_json("/plugins/enabled")["enabled_plugins"];
    CHECK(std::find(enabled.begin(), enabled.end(), "request-termination") != enabled.end());
    CHECK(std::find(enabled.begin(), enabled.end(), "correlation-id") != enabled.end());

    auto schema = f.get_json("/schemas/plugins/request-termination");
    CHECK(schema.contains("fields"));
    CHECK(schema.dump().find("status_code") != std::string::npos);
    CHECK(f.get_json("/schemas/plugins/nope", 404)["message"] == "No plugin named 'nope'");
}

TEST_CASE("admin: keep-alive, HEAD and limits", "[integration][admin]")
{
    fixture f;
    connection c(f.gw.admin_port());
    for (int i = 0; i < 3; ++i)
        CHECK(c.request("GET", "/status").status == 200);
    auto head = c.request("HEAD", "/services");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(c.request("GET", "/services").status == 200);

    auto big_header = request(f.gw.admin_port(), "GET", "/", {{"X-Big", std::string(64 * 1024, 'a')}});
    CHECK(big_header.status == 431);
    // One body limit for the whole admin API (16 MiB, for POST /config), as
    // in Kong; the declared length alone is refused.
    CHECK(raw_status(send_raw(f.gw.admin_port(),
                              "POST /services HTTP/1.1\r\nHost: x\r\nContent-Length: 16777217\r\n\r\n")) == 413);
    CHECK(raw_status(send_raw(f.gw.admin_port(), "GARBAGE\r\n\r\n")) == 400);
}

TEST_CASE("admin: bound to loopback when admin_listen is not set", "[integration][admin]")
{
    // Needs the default port 8001; skipped when something else holds it.
    if (port_open(8001) || port_open(8001, "0.0.0.0")) {
        WARN("port 8001 is in use: default admin_listen not checked");
        return;
    }
    gateway_options opts;
    opts.config_yaml = R"(_format_version: "3.0"
countersign:
  proxy_listen: ["127.0.0.1:{{PROXY_PORT}}"]
)";
    opts.listen_env = false;
    opts.wait_admin = false;
    opts.wait_ports = {8001};
    gateway_process gw(opts);
    CHECK(get(8001, "/status/ready").status == 200);

    // The listening socket on 8001 is 127.0.0.1 (0100007F) and nothing else.
    std::ifstream tcp("/proc/net/tcp");
    std::string line;
    std::vector<std::string> listeners;
    while (std::getline(tcp, line)) {
        std::istringstream in(line);
        std::string slot, local, remote, state;
        in >> slot >> local >> remote >> state;
        if (state == "0A" && local.size() > 5 && local.substr(local.size() - 5) == ":1F41")
            listeners.push_back(local);
    }
    CHECK(listeners == std::vector<std::string>{"0100007F:1F41"});
}

TEST_CASE("admin: TLS admin listener", "[integration][admin]")
{
    temp_dir certs;
    auto cert = make_self_signed_cert(certs.path());
    gateway_options opts;
    opts.config_yaml = R"(_format_version: "3.0"
countersign:
  admin_listen: ["127.0.0.1:{{ADMIN_PORT}} ssl"]
  admin_ssl_cert: {{CERT}}
  admin_ssl_cert_key: {{KEY}}
)";
    opts.vars = {{"CERT", cert.cert.string()}, {"KEY", cert.key.string()}};
    gateway_process gw(opts);
    request_options tls;
    tls.tls = true;
    tls.ca_file = cert.cert.string();
    tls.sni = "localhost";
    auto r = get(gw.admin_port(), "/status/ready", {}, tls);
    CHECK(r.status == 200);
    CHECK(r.json()["message"] == "ready");
}

TEST_CASE("admin: readiness turns 503 during graceful shutdown, then exit 0", "[integration][admin]")
{
    echo_options slow_opts;
    slow_opts.delay = std::chrono::milliseconds(3000);
    echo_upstream slow(slow_opts);
    gateway_options opts;
    opts.config_yaml = R"(_format_version: "3.0"
services:
  - name: slow
    url: http://127.0.0.1:{{UP}}
    routes:
      - paths: ["/"]
)";
    opts.vars = {{"UP", std::to_string(slow.port())}};
    gateway_process gw(opts);
    connection admin(gw.admin_port());
    CHECK(admin.request("GET", "/status/ready").status == 200);

    std::atomic<unsigned> in_flight_status{0};
    std::thread in_flight([&] {
        try {
            in_flight_status = get(gw.proxy_port(), "/slow").status;
        } catch (const std::exception&) {
            in_flight_status = 1;
        }
    });
    REQUIRE(slow.wait_for_requests(1));
    gw.send_signal(SIGTERM);
    // While the request drains, the admin API still answers, but not ready.
    unsigned status = 0;
    for (int i = 0; i < 100 && status != 503; ++i) {
        status = get(gw.admin_port(), "/status/ready").status;
        if (status != 503)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(status == 503);
    in_flight.join();
    CHECK(in_flight_status == 200);
    auto code = gw.wait_exit(std::chrono::seconds(20));
    REQUIRE(code);
    CHECK(*code == 0);
}
