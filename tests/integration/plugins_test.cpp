// The plugin pipeline end to end with the real binary: scoping, order,
// request-termination, correlation-id, consumer headers, disabled entries and
// a plugin suspended on a timer (the test-only `debug-delay`, registered when
// COUNTERSIGN_DEBUG_PLUGINS=1).
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <regex>
#include <algorithm>
#include <thread>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

using namespace countersign::test;
using namespace std::chrono_literals;

namespace {

const char* pipeline_config = R"(
_format_version: "3.0"
countersign:
  workers: 1
  access_log: stdout
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}/base
    routes:
      - name: open
        paths: ["/open"]
      - name: closed
        paths: ["/closed"]
        plugins:
          - name: request-termination
            config:
              status_code: 403
              message: "closed for maintenance"
      - name: echo
        paths: ["/echo"]
        plugins:
          - name: request-termination
            config:
              status_code: 200
              echo: true
      - name: triggered
        paths: ["/triggered"]
        plugins:
          - name: request-termination
            config:
              status_code: 418
              trigger: X-Stop
      - name: disabled
        paths: ["/disabled"]
        plugins:
          - name: request-termination
            enabled: false
            config:
              status_code: 410
      - name: slow
        paths: ["/slow"]
        plugins:
          - name: debug-delay
            config:
              delay_ms: 1000
plugins:
  - name: correlation-id
    config:
      header_name: X-Request-ID
      generator: uuid
      echo_downstream: true
)";

struct fixture {
    echo_upstream up;
    gateway_process gw{gateway_options{.config_yaml = pipeline_config,
                                       .vars = {{"UP", std::to_string(up.port())}},
                                       .env = {{"COUNTERSIGN_DEBUG_PLUGINS", "1"}}}};
};

const std::regex uuid_re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

}  // namespace

TEST_CASE("plugins: a route-scoped request-termination answers; an unscoped route proxies", "[integration][plugins]")
{
    fixture f;
    auto port = f.gw.proxy_port();

    auto r = get(port, "/closed/x");
    CHECK(r.status == 403);
    CHECK(r.json() == nlohmann::json{{"message", "closed for maintenance"}});
    CHECK(f.up.requests() == 0);

    r = get(port, "/open/x");
    REQUIRE(r.status == 200);
    CHECK(r.json()["path"] == "/base/x");
    CHECK(f.up.requests() == 1);

    // trigger: only requests that carry the header or query argument end here.
    r = get(port, "/triggered/a");
    CHECK(r.status == 200);
    r = get(port, "/triggered/a", {{"X-Stop", "1"}});
    CHECK(r.status == 418);
    r = get(port, "/triggered/a?X-Stop");
    CHECK(r.status == 418);
    CHECK(f.up.requests() == 2);
}

TEST_CASE("plugins: echo shows what the upstream would receive, incl. an earlier plugin's header",
          "[integration][plugins]")
{
    fixture f;
    auto r = request(f.gw.proxy_port(), "POST", "/echo/items?a=1&a=2", {{"Content-Type", "application/json"}},
                     R"({"k":"v"})");
    REQUIRE(r.status == 200);
    auto j = r.json();
    const auto& rq = j["request"];
    CHECK(rq["method"] == "POST");
    CHECK(rq["path"] == "/base/items");
    CHECK(rq["query"]["a"] == nlohmann::json::array({"1", "2"}));
    CHECK(rq["raw_body"] == R"({"k":"v"})");
    CHECK(rq["body"] == nlohmann::json{{"k", "v"}});
    REQUIRE(rq["headers"].contains("x-request-id"));  // set by correlation-id (priority 100001) before
    auto id = rq["headers"]["x-request-id"].get<std::string>();
    CHECK(std::regex_match(id, uuid_re));
    CHECK(r.header("X-Request-ID") == id);  // and echoed downstream on the exit response
    CHECK(j["matched_route"]["name"] == "echo");
    CHECK(f.up.requests() == 0);
}

TEST_CASE("plugins: the correlation id goes upstream, downstream and into the access log", "[integration][plugins]")
{
    fixture f;
    auto r = get(f.gw.proxy_port(), "/open/x");
    REQUIRE(r.status == 200);
    auto upstream_id = f.up.last_request()->header("x-request-id");
    CHECK(std::regex_match(upstream_id, uuid_re));
    CHECK(r.header("X-Request-ID") == upstream_id);
    CHECK(f.gw.wait_for_output("request_id=" + upstream_id, 5s));

    // A client-supplied id is kept.
    r = get(f.gw.proxy_port(), "/open/y", {{"X-Request-ID", "client-chosen-1"}});
    CHECK(f.up.last_request()->header("x-request-id") == "client-chosen-1");
    CHECK(r.header("X-Request-ID") == "client-chosen-1");
    CHECK(f.gw.wait_for_output("request_id=client-chosen-1", 5s));
}

TEST_CASE("plugins: consumer headers cannot be spoofed by the client", "[integration][plugins]")
{
    fixture f;
    auto r = get(f.gw.proxy_port(), "/open/x",
                 {{"X-Consumer-ID", "8d8e7f2a-0000-4000-8000-000000000000"},
                  {"X-Consumer-Username", "admin"},
                  {"X-Consumer-Custom-ID", "root"},
                  {"X-Credential-Identifier", "forged"},
                  {"X-Anonymous-Consumer", "false"}});
    REQUIRE(r.status == 200);
    auto seen = *f.up.last_request();
    for (auto h : {"x-consumer-id", "x-consumer-username", "x-consumer-custom-id", "x-credential-identifier",
                   "x-anonymous-consumer"})
        CHECK_FALSE(seen.has_header(h));

    // Nor through the echo.
    r = get(f.gw.proxy_port(), "/echo/x", {{"X-Consumer-Username", "admin"}});
    CHECK_FALSE(r.json()["request"]["headers"].contains("x-consumer-username"));
}

TEST_CASE("plugins: a disabled plugin does not run", "[integration][plugins]")
{
    fixture f;
    auto r = get(f.gw.proxy_port(), "/disabled/x");
    CHECK(r.status == 200);
    CHECK(f.up.requests() == 1);
}

TEST_CASE("plugins: a plugin suspended on a timer does not block its worker", "[integration][plugins]")
{
    fixture f;  // workers: 1
    auto port = f.gw.proxy_port();
    const auto t0 = std::chrono::steady_clock::now();

    // Ten requests that each wait 1 s in debug-delay's access phase...
    std::vector<std::future<http_response>> slow;
    for (int i = 0; i < 10; ++i)
        slow.push_back(std::async(std::launch::async, [port] { return get(port, "/slow/x"); }));
    std::this_thread::sleep_for(200ms);

    // ...while fast requests on the same worker keep being answered at once.
    for (int i = 0; i < 5; ++i) {
        auto s = std::chrono::steady_clock::now();
        auto r = get(port, "/open/fast");
        CHECK(r.status == 200);
        CHECK(std::chrono::steady_clock::now() - s < 800ms);
    }
    // The fast ones were all answered while every slow one was still waiting.
    for (auto& s : slow) CHECK(s.wait_for(0s) == std::future_status::timeout);

    for (auto& s : slow) CHECK(s.get().status == 200);
    auto total = std::chrono::steady_clock::now() - t0;
    CHECK(total >= 1000ms);
    CHECK(total < 3000ms);  // concurrent, not 10 x 1 s
}

TEST_CASE("plugins: config errors name the YAML path and line", "[integration][plugins]")
{
    temp_dir dir("countersign-plugins");
    auto file = dir.write("bad.yaml", "_format_version: \"3.0\"\n"
                                      "plugins:\n"
                                      "  - name: request-termination\n"
                                      "    config:\n"
                                      "      status_code: 700\n"
                                      "      colour: red\n"
                                      "  - name: no-such-plugin\n");
    auto r = run_cli({"check", file.string()});
    CHECK(r.exit_code != 0);
    auto all = r.out + r.err;
    CHECK(all.find("plugins[0].config.status_code: value must be between 100 and 599 (line 5)") != std::string::npos);
    CHECK(all.find("plugins[0].config.colour: unknown field (line 6)") != std::string::npos);
    CHECK(all.find("plugins[1].name: unknown plugin") != std::string::npos);
}

TEST_CASE("plugins: admin lists the plugins and serves their schemas", "[integration][plugins]")
{
    fixture f;
    auto r = get(f.gw.admin_port(), "/plugins/enabled");
    REQUIRE(r.status == 200);
    auto names = r.json()["enabled_plugins"];
    CHECK(std::find(names.begin(), names.end(), "request-termination") != names.end());
    CHECK(std::find(names.begin(), names.end(), "correlation-id") != names.end());

    r = get(f.gw.admin_port(), "/schemas/plugins/correlation-id");
    REQUIRE(r.status == 200);
    auto cfg = r.json()["fields"][1]["config"];
    CHECK(cfg["type"] == "record");
    CHECK(cfg["fields"][0]["header_name"]["default"] == "Kong-Request-ID");

    CHECK(get(f.gw.admin_port(), "/schemas/plugins/nope").status == 404);
}
