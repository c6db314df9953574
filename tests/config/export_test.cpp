// The running config going out: the declarative document of GET /config, and
// single entities in Kong's Admin API shape.
#include <countersign/config/loader.hpp>

#include <catch2/catch.hpp>

#include "config/fake_validator.hpp"

namespace cfg = countersign::config;
using cfg::testing::fake_env;

namespace {

cfg::gateway_config_ptr load_valid(const std::string& file)
{
    cfg::testing::in_source_dir();
    cfg::testing::fake_validator validator;
    auto r = cfg::load_file("tests/fixtures/configs/valid/" + file, validator, fake_env());
    INFO(r.errors.to_string());
    REQUIRE(r.ok());
    return r.config;
}

}  // namespace

TEST_CASE("the declarative export redacts plugin secrets when asked", "[config][export]")
{
    auto c = load_valid("kong-declarative.yaml");
    cfg::testing::fake_validator validator;

    auto redacted = cfg::to_declarative_json(*c, &validator);
    const auto& key_holder = redacted["plugins"][1];
    REQUIRE(key_holder["name"] == "key-holder");
    CHECK(key_holder["config"]["api_key"] == "<redacted>");
    CHECK(key_holder["config"]["header"] == "X-Key");
    CHECK(redacted.dump().find("s3cr3t") == std::string::npos);

    auto plain = cfg::to_declarative_json(*c, nullptr);
    CHECK(plain["plugins"][1]["config"]["api_key"] == "s3cr3t");
}

TEST_CASE("the declarative export has Kong's shape and loads back to the same config", "[config][export]")
{
    auto c = load_valid("kong-declarative.yaml");
    auto exported = cfg::to_declarative_json(*c, nullptr);

    CHECK(exported["_format_version"] == "3.0");
    CHECK(exported["services"].size() == 3);
    CHECK(exported["routes"].size() == 4);
    CHECK(exported["consumers"].size() == 2);
    CHECK(exported["plugins"].size() == 5);
    // References by id; unset fields left out.
    CHECK(exported["routes"][0]["service"] == nlohmann::json{{"id", c->services[0].id}});
    CHECK_FALSE(exported["routes"][3].contains("service"));
    CHECK(exported["plugins"][0]["route"] == nlohmann::json{{"id", c->routes[0].id}});
    CHECK_FALSE(exported["plugins"][0].contains("service"));
    CHECK(exported["countersign"]["proxy_listen"] == nlohmann::json{"0.0.0.0:8000"});
    CHECK(exported["countersign"]["client_header_timeout"] == 60000);

    cfg::testing::fake_validator validator;
    auto again = cfg::load_string(exported.dump(2), "export", validator, fake_env());
    INFO(again.errors.to_string());
    REQUIRE(again.ok());
    CHECK(cfg::to_declarative_json(*again.config, nullptr) == exported);
}

TEST_CASE("node settings survive the export", "[config][export]")
{
    auto c = load_valid("node-settings.yaml");
    auto exported = cfg::to_declarative_json(*c, nullptr);
    CHECK(exported["countersign"]["proxy_listen"] == nlohmann::json{"0.0.0.0:9000", "[::1]:9443 ssl"});
    CHECK(exported["countersign"]["max_body_bytes"] == 10 * 1024 * 1024);

    cfg::testing::fake_validator validator;
    auto again = cfg::load_string(exported.dump(), "export", validator, fake_env());
    INFO(again.errors.to_string());
    REQUIRE(again.ok());
    CHECK(cfg::to_declarative_json(*again.config, nullptr) == exported);

    auto no_admin = cfg::load_string("{\"_format_version\": \"3.0\", \"countersign\": {\"admin_listen\": \"off\"}}",
                                     "test", validator, fake_env());
    REQUIRE(no_admin.ok());
    CHECK(cfg::to_declarative_json(*no_admin.config, nullptr)["countersign"]["admin_listen"] == "off");
}

TEST_CASE("single entities render in Kong's Admin API shape", "[config][export]")
{
    auto c = load_valid("kong-declarative.yaml");
    cfg::testing::fake_validator validator;

    auto service = cfg::to_json(c->services[1]);
    CHECK(service == nlohmann::json{
                         {"id", "6e2b1c8a-4a0f-4d2e-9c51-2a7d8b3f0e11"},
                         {"name", "accounts"},
                         {"protocol", "https"},
                         {"host", "accounts.internal"},
                         {"port", 443},
                         {"path", "/v2"},
                         {"connect_timeout", 60000},
                         {"read_timeout", 60000},
                         {"write_timeout", 60000},
                         {"retries", 5},
                         {"tls_verify", false},
                         {"ca_certificates", nullptr},
                         {"enabled", true},
                         {"tags", nullptr},
                     });

    auto route = cfg::to_json(c->routes[1]);
    CHECK(route["service"] == nlohmann::json{{"id", "6e2b1c8a-4a0f-4d2e-9c51-2a7d8b3f0e11"}});
    CHECK(route["name"] == "accounts-by-host");
    CHECK(route["paths"].is_null());
    CHECK(route["methods"].is_null());
    CHECK(route["hosts"] == nlohmann::json{"accounts.example.com", "*.accounts.example.com"});
    CHECK(route["headers"] == nlohmann::json{{"x-version", {"2", "3"}}});
    CHECK(route["protocols"] == nlohmann::json{"https"});
    CHECK(route["strip_path"] == true);
    CHECK(route["preserve_host"] == true);
    CHECK(route["regex_priority"] == 0);
    CHECK(route["path_handling"] == "v0");
    CHECK(cfg::to_json(c->routes[3])["service"].is_null());

    auto consumer = cfg::to_json(c->consumers[1]);
    CHECK(consumer == nlohmann::json{{"id", "2b7f0d9e-1c3a-4e5b-8f6a-9d0c1b2a3e4f"},
                                     {"username", nullptr},
                                     {"custom_id", "batch-job"},
                                     {"tags", nullptr}});

    auto plugin = cfg::to_json(c->plugins[4], &validator);
    CHECK(plugin["name"] == "key-holder");
    CHECK(plugin["service"] == nlohmann::json{{"id", c->services[0].id}});
    CHECK(plugin["consumer"] == nlohmann::json{{"id", c->consumers[0].id}});
    CHECK(plugin["route"].is_null());
    CHECK(plugin["enabled"] == true);
    CHECK(plugin["instance_name"].is_null());
    CHECK(plugin["protocols"] == nlohmann::json{"grpc", "grpcs", "http", "https"});
    CHECK(plugin["config"] == nlohmann::json{{"api_key", nullptr}, {"header", "X-Key"}});
    CHECK(cfg::to_json(c->plugins[1], &validator)["config"]["api_key"] == "<redacted>");
    CHECK(cfg::to_json(c->plugins[1], nullptr)["config"]["api_key"] == "s3cr3t");
}
