// Valid documents: the values and defaults they load to, JSON input, Kong's
// older formats, references, stable ids, and reporting every error at once.
#include <countersign/config/loader.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "config/fake_validator.hpp"

namespace cfg = countersign::config;
using cfg::testing::error_strings;
using cfg::testing::fake_env;
using namespace std::chrono_literals;

namespace {

const std::string valid_dir = std::string(COUNTERSIGN_SOURCE_DIR) + "/tests/fixtures/configs/valid/";

cfg::gateway_config_ptr load_valid(const std::string& file)
{
    cfg::testing::in_source_dir();
    cfg::testing::fake_validator validator;
    auto result = cfg::load_file(valid_dir + file, validator, fake_env());
    INFO(result.errors.to_string());
    REQUIRE(result.ok());
    REQUIRE(result.errors.empty());
    return result.config;
}

cfg::load_result load_text(std::string_view text, std::map<std::string, std::string> env = {})
{
    cfg::testing::fake_validator validator;
    return cfg::load_string(text, "test", validator, fake_env(std::move(env)));
}

}  // namespace

TEST_CASE("a Kong declarative file loads with its values", "[config][valid]")
{
    auto c = load_valid("kong-declarative.yaml");
    CHECK(c->format_version == "3.0");
    CHECK(c->source == valid_dir + "kong-declarative.yaml");
    REQUIRE(c->services.size() == 3);
    REQUIRE(c->routes.size() == 4);
    REQUIRE(c->consumers.size() == 2);
    REQUIRE(c->plugins.size() == 5);

    SECTION("a service from a url")
    {
        const auto& s = c->services[0];
        CHECK(s.name == "billing");
        CHECK(s.id == "ce5c2af3-d1a0-58c4-8adc-a0d52ab33df5");  // uuid5(namespace, "services:billing")
        CHECK(s.protocol == "http");
        CHECK(s.host == "billing.internal");
        CHECK(s.port == 8080);
        CHECK(s.path == "/api");
        CHECK(s.connect_timeout == 5000ms);
        CHECK(s.read_timeout == 30000ms);
        CHECK(s.write_timeout == 60000ms);
        CHECK(s.retries == 2);
        CHECK(s.tls_verify);
        CHECK(s.tags == std::vector<std::string>{"team-billing"});
    }
    SECTION("a service from protocol/host/path, with Kong's null fields")
    {
        const auto& s = c->services[1];
        CHECK(s.id == "6e2b1c8a-4a0f-4d2e-9c51-2a7d8b3f0e11");
        CHECK(s.protocol == "https");
        CHECK(s.host == "accounts.internal");
        CHECK(s.port == 443);
        CHECK(s.path == "/v2");
        CHECK_FALSE(s.tls_verify);
        CHECK(s.ca_certificates.empty());
    }
    SECTION("an IPv6 upstream host")
    {
        const auto& s = c->services[2];
        CHECK(s.host == "::1");
        CHECK(s.port == 9000);
        CHECK(s.path.empty());
    }
    SECTION("a nested route")
    {
        const auto& r = c->routes[0];
        CHECK(r.name == "invoices");
        CHECK(r.id == "60a3cf92-37c6-5dc3-8bc1-1b6ab4e61665");
        CHECK(r.service_id == c->services[0].id);
        // Named groups are kept as plain groups: std::regex has no names.
        CHECK(r.paths == std::vector<std::string>{"/invoices", R"(~/invoices/(\d+)$)"});
        CHECK(r.methods == std::vector<std::string>{"GET", "POST"});
        CHECK_FALSE(r.strip_path);
        CHECK_FALSE(r.preserve_host);
        CHECK(r.regex_priority == 10);
        CHECK(r.path_handling == "v1");
        CHECK(r.protocols == std::vector<std::string>{"http", "https"});
    }
    SECTION("top-level routes refer to services by id, by name, or not at all")
    {
        const auto& by_host = c->routes[1];
        CHECK(by_host.service_id == "6e2b1c8a-4a0f-4d2e-9c51-2a7d8b3f0e11");
        CHECK(by_host.hosts == std::vector<std::string>{"accounts.example.com", "*.accounts.example.com"});
        CHECK(by_host.headers == std::map<std::string, std::vector<std::string>>{{"x-version", {"2", "3"}}});
        CHECK(by_host.preserve_host);
        CHECK(by_host.strip_path);
        CHECK(by_host.protocols == std::vector<std::string>{"https"});
        CHECK(by_host.paths.empty());

        const auto& unnamed = c->routes[2];
        CHECK(unnamed.name.empty());
        CHECK(unnamed.service_id == c->services[2].id);
        CHECK(unnamed.id.size() == 36);

        CHECK(c->routes[3].service_id.empty());
    }
    SECTION("consumers")
    {
        const auto& alice = c->consumers[0];
        CHECK(alice.username == "alice");
        CHECK(alice.custom_id == "alice-42");
        CHECK(alice.id == "f78e4782-b006-5f0c-93d3-4f527518b183");
        CHECK(alice.tags == std::vector<std::string>{"mobile"});
        const auto& job = c->consumers[1];
        CHECK(job.username.empty());
        CHECK(job.custom_id == "batch-job");
        CHECK(job.id == "2b7f0d9e-1c3a-4e5b-8f6a-9d0c1b2a3e4f");
    }
    SECTION("plugins are scoped by where they are written and what they name")
    {
        const auto* invoices = c->find_route("invoices");
        const auto* health = c->find_route("health");
        const auto* billing = c->find_service("billing");
        const auto* alice = c->find_consumer("alice");
        REQUIRE(invoices);
        REQUIRE(health);
        REQUIRE(billing);
        REQUIRE(alice);

        // Services first, their routes' plugins with them; then consumers; then top level.
        const auto& on_route = c->plugins[0];
        CHECK(on_route.yaml_path == "services[0].routes[0].plugins[0]");
        CHECK(on_route.name == "request-termination");
        CHECK(on_route.instance_name == "invoices-maintenance");
        CHECK_FALSE(on_route.enabled);
        CHECK(on_route.route_id == invoices->id);
        CHECK(on_route.service_id.empty());
        CHECK(on_route.consumer_id.empty());
        CHECK(on_route.config ==
              nlohmann::json{{"status_code", 503}, {"message", "invoices are read-only today"}, {"echo", false}});

        const auto& on_service = c->plugins[1];
        CHECK(on_service.yaml_path == "services[0].plugins[0]");
        CHECK(on_service.service_id == billing->id);
        CHECK(on_service.route_id.empty());
        CHECK(on_service.id == "dfca9f7e-0d82-52c2-9ea6-2ba2e8e8327f");  // uuid5 of name and scope
        CHECK(on_service.config == nlohmann::json{{"api_key", "s3cr3t"}, {"header", "X-Key"}});
        CHECK(on_service.protocols == std::vector<std::string>{"grpc", "grpcs", "http", "https"});

        const auto& on_consumer = c->plugins[2];
        CHECK(on_consumer.yaml_path == "consumers[0].plugins[0]");
        CHECK(on_consumer.consumer_id == alice->id);
        CHECK(on_consumer.route_id == invoices->id);
        CHECK(on_consumer.config["status_code"] == 403);

        const auto& global_on_route = c->plugins[3];
        CHECK(global_on_route.yaml_path == "plugins[0]");
        CHECK(global_on_route.route_id == health->id);
        CHECK(global_on_route.protocols == std::vector<std::string>{"http", "https"});
        CHECK(global_on_route.tags == std::vector<std::string>{"probes"});

        const auto& service_and_consumer = c->plugins[4];
        CHECK(service_and_consumer.service_id == billing->id);
        CHECK(service_and_consumer.consumer_id == alice->id);
        CHECK(service_and_consumer.route_id.empty());
    }
}

TEST_CASE("defaults fill every field left out", "[config][valid]")
{
    auto c = load_valid("minimal.yaml");
    REQUIRE(c->services.size() == 1);
    const auto& s = c->services[0];
    CHECK(s.protocol == "http");
    CHECK(s.port == 80);
    CHECK(s.path.empty());
    CHECK(s.connect_timeout == 60000ms);
    CHECK(s.read_timeout == 60000ms);
    CHECK(s.write_timeout == 60000ms);
    CHECK(s.retries == 5);
    CHECK(s.tls_verify);
    CHECK(s.tags.empty());

    REQUIRE(c->routes.size() == 1);
    const auto& r = c->routes[0];
    CHECK(r.name.empty());
    CHECK(r.service_id == s.id);
    CHECK(r.strip_path);
    CHECK_FALSE(r.preserve_host);
    CHECK(r.regex_priority == 0);
    CHECK(r.path_handling == "v0");
    CHECK(r.protocols == std::vector<std::string>{"http", "https"});
    CHECK(r.methods.empty());
    CHECK(r.hosts.empty());
    CHECK(r.headers.empty());

    const auto& n = c->node;
    REQUIRE(n.proxy_listen.size() == 1);
    CHECK(n.proxy_listen[0].address == "0.0.0.0");
    CHECK(n.proxy_listen[0].port == 8000);
    CHECK_FALSE(n.proxy_listen[0].ssl);
    REQUIRE(n.admin_listen.size() == 1);
    CHECK(n.admin_listen[0].address == "127.0.0.1");
    CHECK(n.admin_listen[0].port == 8001);
    CHECK(n.workers == 1);
    CHECK(n.data_dir == "./data");
    CHECK(n.log_level == "info");
    CHECK(n.access_log == "stdout");
    CHECK_FALSE(n.access_log_json);
    CHECK(n.error_log == "stderr");
    CHECK(n.ssl_cert.empty());
    CHECK(n.public_jwks_path == "/.well-known/jwks/");
    CHECK(n.max_header_bytes == 32 * 1024);
    CHECK(n.max_body_bytes == 0);
    CHECK(n.client_header_timeout == 60000ms);
    CHECK(n.client_body_timeout == 60000ms);
    CHECK(n.keepalive_timeout == 75000ms);
    CHECK(n.keepalive_requests == 10000);
    CHECK(n.max_connections == 16384);
    CHECK(n.upstream_keepalive_pool_size == 512);
    CHECK(n.upstream_keepalive_idle_timeout == 60000ms);
    CHECK(n.upstream_keepalive_max_requests == 10000);
    CHECK(n.shutdown_timeout == 10000ms);
    CHECK_FALSE(n.trust_forwarded_headers);
}

TEST_CASE("ids are stable across loads and unique per entity", "[config][valid]")
{
    auto a = load_valid("kong-declarative.yaml");
    auto b = load_valid("kong-declarative.yaml");
    for (std::size_t i = 0; i < a->routes.size(); ++i)
        CHECK(a->routes[i].id == b->routes[i].id);
    for (std::size_t i = 0; i < a->plugins.size(); ++i)
        CHECK(a->plugins[i].id == b->plugins[i].id);
    for (const auto& r : a->routes) {
        CHECK(r.id[14] == '5');  // RFC 4122 version 5 …
        CHECK(std::string("89ab").find(r.id[19]) != std::string::npos);  // … and variant
    }
    std::set<std::string> plugin_ids;
    for (const auto& p : a->plugins)
        plugin_ids.insert(p.id);
    CHECK(plugin_ids.size() == a->plugins.size());
}

TEST_CASE("find_* look entities up by id or by name", "[config][valid]")
{
    auto c = load_valid("kong-declarative.yaml");
    CHECK(c->find_service("billing") == &c->services[0]);
    CHECK(c->find_service("6e2b1c8a-4a0f-4d2e-9c51-2a7d8b3f0e11") == &c->services[1]);
    CHECK(c->find_service("nope") == nullptr);
    CHECK(c->find_service("") == nullptr);
    CHECK(c->find_route("health") == &c->routes[3]);
    CHECK(c->find_route(c->routes[2].id) == &c->routes[2]);
    CHECK(c->find_consumer("alice") == &c->consumers[0]);
    CHECK(c->find_consumer("2b7f0d9e-1c3a-4e5b-8f6a-9d0c1b2a3e4f") == &c->consumers[1]);
    CHECK(c->find_plugin("invoices-maintenance") == &c->plugins[0]);
    CHECK(c->find_plugin(c->plugins[4].id) == &c->plugins[4]);
}

TEST_CASE("a JSON document loads, with line numbers", "[config][json]")
{
    auto c = load_valid("declarative.json");
    REQUIRE(c->services.size() == 1);
    CHECK(c->services[0].protocol == "https");
    CHECK(c->services[0].port == 8443);
    CHECK(c->services[0].path == "/base");
    CHECK(c->services[0].retries == 0);
    REQUIRE(c->routes.size() == 1);
    CHECK(c->routes[0].paths == std::vector<std::string>{"/json", R"(~/items/\d+$)"});
    REQUIRE(c->plugins.size() == 1);
    CHECK(c->plugins[0].config["message"] == "caf\u00e9");
    CHECK(c->plugins[0].config["echo"] == true);
    CHECK(c->node.workers == 2);
    CHECK(c->node.access_log_json);

    auto bad = load_text("{\n  \"_format_version\": \"3.0\",\n  \"services\": [\n    {\"name\": \"a\", \"port\": 80}\n  ]\n}\n");
    CHECK(error_strings(bad) == std::vector<std::string>{"services[0]: must set url or host (line 4)"});
}

TEST_CASE("JSON that yaml-cpp cannot read is read as JSON, without lines", "[config][json]")
{
    // yaml-cpp rejects surrogate-pair escapes, which JSON allows.
    auto r = load_text(R"({"_format_version": "3.0", "plugins": [{"name": "request-termination",
        "config": {"message": "\ud83d\ude00", "status_code": 200}}]})");
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    CHECK(r.config->plugins[0].config["message"] == "\xF0\x9F\x98\x80");
    CHECK(r.config->plugins[0].config["status_code"] == 200);

    // Non-ASCII names are letters to Kong too.
    auto named = load_text(R"({"_format_version": "3.0", "services": [{"name": "\ud83d\ude00", "url": "http://a"}]})");
    INFO(named.errors.to_string());
    REQUIRE(named.ok());
    CHECK(named.config->services[0].name == "\xF0\x9F\x98\x80");
}

TEST_CASE("Kong 2.x files get Kong 3's regex paths", "[config][valid]")
{
    auto c = load_valid("legacy-2.1.yaml");
    CHECK(c->format_version == "2.1");
    REQUIRE(c->routes.size() == 1);
    CHECK(c->routes[0].paths ==
          std::vector<std::string>{"/plain/path-1.0_~x", R"(~/users/\d+/orders)", "~/already/regex"});
    auto exported = cfg::to_declarative_json(*c, nullptr);
    CHECK(exported["_format_version"] == "3.0");
}

TEST_CASE("YAML 1.1 scalars read as Kong reads them", "[config][valid]")
{
    auto r = load_text(R"(_format_version: 3.0
services:
  - name: a
    url: http://a.internal
    tls_verify: off
    retries: 3.0
    routes:
      - paths: [/a]
        strip_path: no
        preserve_host: Yes
)");
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    CHECK(r.config->format_version == "3.0");
    CHECK_FALSE(r.config->services[0].tls_verify);
    CHECK(r.config->services[0].retries == 3);
    CHECK_FALSE(r.config->routes[0].strip_path);
    CHECK(r.config->routes[0].preserve_host);
}

TEST_CASE("every error of a document is reported at once, in line order", "[config][invalid]")
{
    auto r = load_text(R"(_format_version: "3.0"
countersign:
  workers: none
services:
  - name: a
    url: ftp://a.internal
    retries: -1
    routes:
      - name: r
        paths: [nope, "~/(x"]
        hosts: ["*.*"]
consumers:
  - tags: [x]
plugins:
  - name: rate-limiting
  - name: request-termination
    route: missing
    config:
      status_code: 999
)",
                       {{"COUNTERSIGN_LOG_LEVEL", "loud"}});
    CHECK_FALSE(r.ok());
    CHECK(r.config == nullptr);
    CHECK(error_strings(r) ==
          std::vector<std::string>{
              "env COUNTERSIGN_LOG_LEVEL: must be one of: trace, debug, info, warn, error, critical, off",
              "countersign.workers: expected an integer (line 3)",
              R"(services[0].url: unknown protocol "ftp" (supported: http, https))" " (line 6)",
              "services[0].retries: must be between 0 and 32767 (line 7)",
              R"(services[0].routes[0].paths[0]: must start with "/" (line 10))",
              "services[0].routes[0].paths[1]: invalid regex: Mismatched '(' and ')' in regular expression (line 10)",
              R"(services[0].routes[0].hosts[0]: invalid wildcard "*.*": must have at most one wildcard (line 11))",
              "consumers[0]: must set at least one of username or custom_id (line 13)",
              R"(plugins[0].name: unknown plugin "rate-limiting" (known: key-holder, request-termination) (line 15))",
              R"(plugins[1].route: route "missing" not found (line 17))",
              "plugins[1].config.status_code: value should be between 100 and 599 (line 19)",
          });
}

TEST_CASE("load_file reports a file it cannot read", "[config][invalid]")
{
    cfg::testing::fake_validator validator;
    auto r = cfg::load_file("/nonexistent/countersign.yaml", validator, fake_env());
    CHECK(error_strings(r) ==
          std::vector<std::string>{R"(cannot read "/nonexistent/countersign.yaml": No such file or directory)"});
}

TEST_CASE("config_error::to_string and error_list::to_string", "[config]")
{
    CHECK(cfg::config_error{"services[0].routes[1].paths[0]", "must start with \"/\"", 14}.to_string() ==
          R"(services[0].routes[1].paths[0]: must start with "/" (line 14))");
    CHECK(cfg::config_error{"", "the document is empty", 0}.to_string() == "the document is empty");
    CHECK(cfg::config_error{"env COUNTERSIGN_WORKERS", "expected an integer", 0}.to_string() ==
          "env COUNTERSIGN_WORKERS: expected an integer");
    cfg::error_list list;
    list.add("a", "one", 1);
    list.add("b", "two");
    CHECK(list.to_string() == "a: one (line 1)\nb: two\n");
}

TEST_CASE("nested entries may repeat the entity they are under", "[config][valid]")
{
    auto r = load_text(R"(_format_version: "3.0"
services:
  - name: a
    url: http://a.internal
    routes:
      - name: r
        paths: [/r]
        service: {name: a}
        plugins:
          - name: request-termination
            route: r
    plugins:
      - name: request-termination
        service: a
consumers:
  - username: alice
    plugins:
      - name: request-termination
        consumer: {username: alice}
)");
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    const auto& c = *r.config;
    CHECK(c.routes[0].service_id == c.services[0].id);
    REQUIRE(c.plugins.size() == 3);
    CHECK(c.plugins[0].route_id == c.routes[0].id);
    CHECK(c.plugins[0].service_id.empty());
    CHECK(c.plugins[1].service_id == c.services[0].id);
    CHECK(c.plugins[2].consumer_id == c.consumers[0].id);
}

TEST_CASE("references by string match an id or a name", "[config][valid]")
{
    auto r = load_text(R"(_format_version: "3.0"
services:
  - id: 3f1e2d4c-5b6a-4789-8abc-def012345678
    name: a
    url: http://a.internal
routes:
  - name: by-id
    paths: [/x]
    service: 3F1E2D4C-5B6A-4789-8ABC-DEF012345678
  - name: by-name
    paths: [/y]
    service: a
plugins:
  - name: request-termination
    route: by-name
    consumer: 7c9e6679-7425-40de-944b-e07fc1f90ae7
consumers:
  - id: 7c9e6679-7425-40de-944b-e07fc1f90ae7
    username: bob
)");
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    const auto& c = *r.config;
    CHECK(c.routes[0].service_id == "3f1e2d4c-5b6a-4789-8abc-def012345678");
    CHECK(c.routes[1].service_id == "3f1e2d4c-5b6a-4789-8abc-def012345678");
    CHECK(c.plugins[0].route_id == c.routes[1].id);
    CHECK(c.plugins[0].consumer_id == "7c9e6679-7425-40de-944b-e07fc1f90ae7");
}

TEST_CASE("the same plugin may be configured once per scope", "[config][valid]")
{
    // Global, per service, per route, per consumer, per consumer on a route: all distinct scopes.
    auto r = load_text(R"(_format_version: "3.0"
services:
  - name: a
    url: http://a.internal
    routes: [{name: r, paths: [/r]}]
    plugins: [{name: request-termination}]
consumers:
  - username: alice
    plugins: [{name: request-termination}, {name: request-termination, route: r}]
plugins:
  - name: request-termination
  - name: request-termination
    route: r
  - name: request-termination
    route: r
    service: a
)");
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    CHECK(r.config->plugins.size() == 6);
}

TEST_CASE("route hosts: exact, wildcards and IP addresses", "[config][valid]")
{
    auto r = load_text(R"(_format_version: "3.0"
routes:
  - hosts: [API.Example.com, "*.example.org", "example.*", 10.0.0.1, "[::1]"]
)");
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    CHECK(r.config->routes[0].hosts ==
          std::vector<std::string>{"api.example.com", "*.example.org", "example.*", "10.0.0.1", "[::1]"});
}
