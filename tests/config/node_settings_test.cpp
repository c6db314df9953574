// The `countersign:` section and its COUNTERSIGN_* environment overrides.
#include <countersign/config/loader.hpp>

#include <thread>

#include <catch2/catch.hpp>

#include "config/fake_validator.hpp"

namespace cfg = countersign::config;
using cfg::testing::error_strings;
using cfg::testing::fake_env;
using namespace std::chrono_literals;

namespace {

const std::string minimal = "_format_version: \"3.0\"\n";

cfg::load_result load(std::string_view text, std::map<std::string, std::string> env = {})
{
    cfg::testing::in_source_dir();
    cfg::testing::fake_validator validator;
    return cfg::load_string(text, "test", validator, fake_env(std::move(env)));
}

cfg::node_config node_of(std::string_view text, std::map<std::string, std::string> env = {})
{
    auto r = load(text, std::move(env));
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    return r.config->node;
}

}  // namespace

TEST_CASE("every node setting is read from the file", "[config][node]")
{
    cfg::testing::in_source_dir();
    cfg::testing::fake_validator validator;
    auto r = cfg::load_file("tests/fixtures/configs/valid/node-settings.yaml", validator, fake_env());
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    const auto& n = r.config->node;
    REQUIRE(n.proxy_listen.size() == 2);
    CHECK(n.proxy_listen[0].address == "0.0.0.0");
    CHECK(n.proxy_listen[0].port == 9000);
    CHECK_FALSE(n.proxy_listen[0].ssl);
    CHECK(n.proxy_listen[0].text == "0.0.0.0:9000");
    CHECK(n.proxy_listen[1].address == "::1");
    CHECK(n.proxy_listen[1].port == 9443);
    CHECK(n.proxy_listen[1].ssl);
    CHECK(n.proxy_listen[1].text == "[::1]:9443 ssl");
    REQUIRE(n.admin_listen.size() == 2);  // one comma-separated string, as in kong.conf
    CHECK(n.admin_listen[0].port == 9001);
    CHECK(n.admin_listen[1].port == 9444);
    CHECK(n.admin_listen[1].ssl);
    CHECK(n.workers == 3);
    CHECK(n.data_dir == "/var/lib/countersign");
    CHECK(n.log_level == "info");  // Kong's "notice"
    CHECK(n.access_log == "/var/log/countersign/access.log");
    CHECK(n.access_log_json);
    CHECK(n.error_log == "/var/log/countersign/error.log");
    CHECK(n.ssl_cert == "tests/fixtures/configs/certs/server.crt");
    CHECK(n.ssl_cert_key == "tests/fixtures/configs/certs/server.key");
    CHECK(n.admin_ssl_cert == "tests/fixtures/configs/certs/server.crt");
    CHECK(n.admin_ssl_cert_key == "tests/fixtures/configs/certs/server.key");
    CHECK(n.public_jwks_path == "/keys/");
    CHECK(n.max_header_bytes == 64 * 1024);
    CHECK(n.max_body_bytes == 10 * 1024 * 1024);
    CHECK(n.client_header_timeout == 5000ms);
    CHECK(n.client_body_timeout == 2500ms);
    CHECK(n.keepalive_timeout == 0ms);
    CHECK(n.keepalive_requests == 100);
    CHECK(n.max_connections == 2048);
    CHECK(n.upstream_keepalive_pool_size == 0);
    CHECK(n.upstream_keepalive_idle_timeout == 60000ms);
    CHECK(n.upstream_keepalive_max_requests == 50);
    CHECK(n.shutdown_timeout == 30000ms);
    CHECK(n.trust_forwarded_headers);
}

TEST_CASE("every node setting can come from the environment", "[config][node][env]")
{
    // The same values as node-settings.yaml, as COUNTERSIGN_* variables.
    const std::map<std::string, std::string> env = {
        {"COUNTERSIGN_PROXY_LISTEN", "0.0.0.0:9000, [::1]:9443 ssl"},
        {"COUNTERSIGN_ADMIN_LISTEN", "127.0.0.1:9001,127.0.0.1:9444 ssl"},
        {"COUNTERSIGN_WORKERS", "3"},
        {"COUNTERSIGN_DATA_DIR", "/var/lib/countersign"},
        {"COUNTERSIGN_LOG_LEVEL", "notice"},
        {"COUNTERSIGN_ACCESS_LOG", "/var/log/countersign/access.log"},
        {"COUNTERSIGN_ACCESS_LOG_JSON", "on"},
        {"COUNTERSIGN_ERROR_LOG", "/var/log/countersign/error.log"},
        {"COUNTERSIGN_SSL_CERT", "tests/fixtures/configs/certs/server.crt"},
        {"COUNTERSIGN_SSL_CERT_KEY", "tests/fixtures/configs/certs/server.key"},
        {"COUNTERSIGN_ADMIN_SSL_CERT", "tests/fixtures/configs/certs/server.crt"},
        {"COUNTERSIGN_ADMIN_SSL_CERT_KEY", "tests/fixtures/configs/certs/server.key"},
        {"COUNTERSIGN_PUBLIC_JWKS_PATH", "/keys/"},
        {"COUNTERSIGN_MAX_HEADER_BYTES", "64k"},
        {"COUNTERSIGN_MAX_BODY_BYTES", "10m"},
        {"COUNTERSIGN_CLIENT_HEADER_TIMEOUT", "5s"},
        {"COUNTERSIGN_CLIENT_BODY_TIMEOUT", "2500"},
        {"COUNTERSIGN_KEEPALIVE_TIMEOUT", "0"},
        {"COUNTERSIGN_KEEPALIVE_REQUESTS", "100"},
        {"COUNTERSIGN_MAX_CONNECTIONS", "2048"},
        {"COUNTERSIGN_UPSTREAM_KEEPALIVE_POOL_SIZE", "0"},
        {"COUNTERSIGN_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT", "1m"},
        {"COUNTERSIGN_UPSTREAM_KEEPALIVE_MAX_REQUESTS", "50"},
        {"COUNTERSIGN_SHUTDOWN_TIMEOUT", "30s"},
        {"COUNTERSIGN_TRUST_FORWARDED_HEADERS", "true"},
        {"COUNTERSIGN_JWKS_REFETCH_THROTTLE", "30s"},
        {"COUNTERSIGN_TOKEN_CACHE_SIZE", "1000"},
    };
    cfg::testing::in_source_dir();
    cfg::testing::fake_validator validator;
    auto from_file = cfg::load_file("tests/fixtures/configs/valid/node-settings.yaml", validator, fake_env());
    auto from_env = load(minimal, env);
    INFO(from_env.errors.to_string());
    REQUIRE(from_file.ok());
    REQUIRE(from_env.ok());
    auto file_node = cfg::to_declarative_json(*from_file.config, nullptr)["countersign"];
    auto env_node = cfg::to_declarative_json(*from_env.config, nullptr)["countersign"];
    CHECK(env_node == file_node);
    // Every exported setting (all of node_config) was covered by a variable.
    CHECK(file_node.size() == env.size());
}

TEST_CASE("the environment beats the file", "[config][node][env]")
{
    auto n = node_of(minimal + "countersign:\n  proxy_listen: [\"0.0.0.0:8000\"]\n  workers: 2\n  access_log_json: true\n",
                     {{"COUNTERSIGN_PROXY_LISTEN", "0.0.0.0:9000, 127.0.0.1:9443 ssl"},
                      {"COUNTERSIGN_SSL_CERT", "tests/fixtures/configs/certs/server.crt"},
                      {"COUNTERSIGN_SSL_CERT_KEY", "tests/fixtures/configs/certs/server.key"},
                      {"COUNTERSIGN_WORKERS", "auto"},
                      {"COUNTERSIGN_ACCESS_LOG_JSON", "off"}});
    REQUIRE(n.proxy_listen.size() == 2);
    CHECK(n.proxy_listen[0].text == "0.0.0.0:9000");
    CHECK(n.proxy_listen[1].address == "127.0.0.1");
    CHECK(n.proxy_listen[1].port == 9443);
    CHECK(n.proxy_listen[1].ssl);
    CHECK(n.workers == std::max(1u, std::thread::hardware_concurrency()));
    CHECK_FALSE(n.access_log_json);
}

TEST_CASE("boolean settings accept true/false, on/off, yes/no and 1/0", "[config][node][env]")
{
    for (const char* yes : {"on", "true", "TRUE", "yes", "1"})
        CHECK(node_of(minimal, {{"COUNTERSIGN_ACCESS_LOG_JSON", yes}}).access_log_json);
    for (const char* no : {"off", "false", "No", "0"})
        CHECK_FALSE(node_of(minimal + "countersign:\n  access_log_json: on\n", {{"COUNTERSIGN_ACCESS_LOG_JSON", no}})
                        .access_log_json);
}

TEST_CASE("an empty variable counts as unset", "[config][node][env]")
{
    CHECK(node_of(minimal + "countersign:\n  workers: 4\n", {{"COUNTERSIGN_WORKERS", ""}}).workers == 4);
}

TEST_CASE("admin_listen: off disables the admin listener", "[config][node]")
{
    CHECK(node_of(minimal + "countersign:\n  admin_listen: off\n").admin_listen.empty());
    CHECK(node_of(minimal, {{"COUNTERSIGN_ADMIN_LISTEN", "off"}}).admin_listen.empty());
}

TEST_CASE("errors in variables name the variable", "[config][node][env]")
{
    auto r = load(minimal + "countersign:\n  workers: 2\n",
                  {{"COUNTERSIGN_WORKERS", "0"},
                   {"COUNTERSIGN_PROXY_LISTEN", "0.0.0.0:8000, 0.0.0.0"},
                   {"COUNTERSIGN_ACCESS_LOG_JSON", "json"},
                   {"COUNTERSIGN_KEEPALIVE_TIMEOUT", "soon"},
                   {"COUNTERSIGN_MAX_BODY_BYTES", "lots"},
                   {"COUNTERSIGN_SSL_CERT", "/nonexistent/cert.pem"},
                   {"COUNTERSIGN_SSL_CERT_KEY", "tests/fixtures/configs/certs/server.key"}});
    // Settings in table order, then the certificate check.
    CHECK(error_strings(r) ==
          std::vector<std::string>{
              R"(env COUNTERSIGN_PROXY_LISTEN: invalid listen address "0.0.0.0": expected ADDRESS:PORT, e.g. "0.0.0.0:8000" or "[::1]:8000")",
              "env COUNTERSIGN_WORKERS: must be between 1 and 1024",
              "env COUNTERSIGN_ACCESS_LOG_JSON: expected a boolean (true/false or on/off)",
              "env COUNTERSIGN_MAX_BODY_BYTES: expected a size in bytes, or with a unit (64k, 8m, 1g)",
              "env COUNTERSIGN_KEEPALIVE_TIMEOUT: expected a duration in milliseconds, or with a unit (500ms, 30s, 5m, 1h)",
              R"(env COUNTERSIGN_SSL_CERT: cannot read "/nonexistent/cert.pem": No such file or directory)",
          });
}

TEST_CASE("a missing certificate for an ssl listener set from the environment", "[config][node][env]")
{
    auto r = load(minimal, {{"COUNTERSIGN_PROXY_LISTEN", "0.0.0.0:8443 ssl"}});
    CHECK(error_strings(r) == std::vector<std::string>{
                                  R"(countersign.ssl_cert: required by the ssl listener "0.0.0.0:8443 ssl")",
                                  R"(countersign.ssl_cert_key: required by the ssl listener "0.0.0.0:8443 ssl")",
                              });
}

TEST_CASE("sizes and durations take units", "[config][node]")
{
    auto n = node_of(minimal + R"(countersign:
  max_header_bytes: 2048
  max_body_bytes: 1g
  client_header_timeout: 1h
  client_body_timeout: 250ms
  keepalive_timeout: 2m
  shutdown_timeout: 0
)");
    CHECK(n.max_header_bytes == 2048);
    CHECK(n.max_body_bytes == 1024ull * 1024 * 1024);
    CHECK(n.client_header_timeout == 3'600'000ms);
    CHECK(n.client_body_timeout == 250ms);
    CHECK(n.keepalive_timeout == 120'000ms);
    CHECK(n.shutdown_timeout == 0ms);

    auto r = load(minimal + "countersign:\n  client_header_timeout: 600h\n");
    CHECK(error_strings(r) == std::vector<std::string>{
                                  "countersign.client_header_timeout: must be between 1 and 2147483647 milliseconds (line 3)"});
}

TEST_CASE("log levels take spdlog's and Kong's names", "[config][node]")
{
    CHECK(node_of(minimal + "countersign:\n  log_level: warning\n").log_level == "warn");
    CHECK(node_of(minimal + "countersign:\n  log_level: crit\n").log_level == "critical");
    CHECK(node_of(minimal + "countersign:\n  log_level: DEBUG\n").log_level == "debug");
    CHECK(node_of(minimal + "countersign:\n  log_level: off\n").log_level == "off");
}
