// Hot reload in-process: the reloader against a node that is not started
// (node::current/replace are all a reload needs), and the admin GET/POST
// /config handlers through the admin router.
#include <countersign/server/reloader.hpp>

#include <optional>

#include <catch2/catch.hpp>

#include <countersign/admin/api.hpp>
#include <countersign/admin/config_endpoints.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/server/node.hpp>
#include <countersign/server/runtime.hpp>

#include "support/temp_dir.hpp"

using namespace countersign;
using nlohmann::json;

namespace {

config::env_lookup no_env()
{
    return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

const char* initial_yaml = R"(_format_version: "3.0"
countersign:
  workers: 2
services:
  - name: a
    url: http://127.0.0.1:9/
    routes:
      - name: ra
        paths: ["/a"]
)";

const char* next_yaml = R"(_format_version: "3.0"
countersign:
  workers: 2
services:
  - name: b
    url: http://127.0.0.1:9/
    routes:
      - name: rb
        paths: ["/b"]
      - name: rc
        paths: ["/c"]
    plugins:
      - name: correlation-id
)";

/// A node (not started) running `yaml`, with its reloader.
struct fixture {
    test::temp_dir dir{"countersign-reload"};
    pipeline::plugin_services services;
    std::optional<server::node> node;
    std::optional<server::reloader> reloader;

    explicit fixture(const std::string& yaml = initial_yaml)
    {
        services.data_dir = dir.path().string();
        const auto& registry = pipeline::plugin_registry::builtin();
        auto loaded = config::load_string(yaml, "initial", registry, no_env());
        INFO(loaded.errors.to_string());
        REQUIRE(loaded.ok());
        config::error_list errors;
        auto rt = server::build_runtime(loaded.config, registry, services, errors);
        INFO(errors.to_string());
        REQUIRE(rt);
        node.emplace(rt, loaded.config->node);
        reloader.emplace(*node, registry, services, no_env());
    }

    config::gateway_config_ptr running() const { return node->current()->config; }

    std::vector<std::string> route_names() const
    {
        std::vector<std::string> out;
        for (const auto& r : running()->routes)
            out.push_back(r.name);
        return out;
    }
};

std::vector<std::string> paths_of(const config::error_list& errors)
{
    std::vector<std::string> out;
    for (const auto& e : errors.errors())
        out.push_back(e.path);
    return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("reloader: a valid document swaps the runtime", "[server][reload]")
{
    fixture f;
    auto before = f.node->current();
    auto r = f.reloader->reload_from_text(next_yaml, "test");
    INFO(r.errors.to_string());
    REQUIRE(r.applied);
    CHECK(r.errors.empty());
    CHECK(r.warnings.empty());
    CHECK(r.restart_required.empty());
    CHECK(f.node->current() != before);
    CHECK(f.node->current()->config == r.config);
    CHECK(f.route_names() == std::vector<std::string>{"rb", "rc"});
    CHECK(r.config->source == "test");
    CHECK(f.reloader->stats().ok == 1);
    CHECK(f.reloader->stats().error == 0);
    // The old runtime stays valid for whoever still holds it.
    CHECK(before->config->routes.at(0).name == "ra");
}

TEST_CASE("reloader: an invalid document keeps the running config and lists every error", "[server][reload]")
{
    fixture f;
    auto before = f.node->current();
    const char* bad = R"(_format_version: "3.0"
services:
  - name: b
    url: ftp://127.0.0.1:9/
routes:
  - name: r1
    service: missing
    paths: ["/x"]
plugins:
  - name: correlation-id
    config:
      generator: dice
)";
    auto r = f.reloader->reload_from_text(bad, "test");
    REQUIRE_FALSE(r.applied);
    CHECK(r.config == nullptr);
    const auto paths = paths_of(r.errors);
    INFO(r.errors.to_string());
    CHECK(r.errors.size() >= 3);
    CHECK(contains(paths, "services[0].url"));
    CHECK(contains(paths, "routes[0].service"));
    CHECK(contains(paths, "plugins[0].config.generator"));
    CHECK(f.node->current() == before);
    CHECK(f.reloader->stats().ok == 0);
    CHECK(f.reloader->stats().error == 1);

    SECTION("a YAML syntax error")
    {
        auto r2 = f.reloader->reload_from_text("services: [\n", "test");
        REQUIRE_FALSE(r2.applied);
        REQUIRE(r2.errors.size() == 1);
        CHECK(r2.errors.errors()[0].message.find("invalid YAML") != std::string::npos);
        CHECK(f.reloader->stats().error == 2);
    }
    SECTION("an unreadable file")
    {
        auto r2 = f.reloader->reload_from_file((f.dir.path() / "missing.yaml").string());
        REQUIRE_FALSE(r2.applied);
        CHECK(r2.errors.to_string().find("missing.yaml") != std::string::npos);
        CHECK(f.node->current() == before);
    }
}

TEST_CASE("reloader: node settings are not hot-reloadable", "[server][reload]")
{
    fixture f;
    SECTION("a changed `countersign:` section is applied without it, with a warning")
    {
        std::string yaml = next_yaml;
        yaml.replace(yaml.find("workers: 2"), 10, "workers: 3\n  max_header_bytes: 16k");
        auto r = f.reloader->reload_from_text(yaml, "test");
        INFO(r.errors.to_string());
        REQUIRE(r.applied);
        CHECK(r.restart_required == std::vector<std::string>{"max_header_bytes", "workers"});
        REQUIRE(r.warnings.size() == 1);
        CHECK(r.warnings[0].find("restart required") != std::string::npos);
        CHECK(r.warnings[0].find("workers") != std::string::npos);
        // The running config shows what the node really runs.
        CHECK(f.running()->node.workers == 2);
        CHECK(f.running()->node.max_header_bytes == 32 * 1024);
        CHECK(f.route_names() == std::vector<std::string>{"rb", "rc"});
    }
    SECTION("no `countersign:` section keeps the running settings, no warning")
    {
        std::string yaml = next_yaml;
        yaml.erase(yaml.find("countersign:"), std::string("countersign:\n  workers: 2\n").size());
        REQUIRE(yaml.find("countersign") == std::string::npos);
        auto r = f.reloader->reload_from_text(yaml, "test");
        INFO(r.errors.to_string());
        REQUIRE(r.applied);
        CHECK(r.warnings.empty());
        CHECK(r.restart_required.empty());
        CHECK(f.running()->node.workers == 2);
    }
    SECTION("the same section: no warning")
    {
        auto r = f.reloader->reload_from_text(next_yaml, "test");
        REQUIRE(r.applied);
        CHECK(r.warnings.empty());
    }
}

TEST_CASE("reloader: changed_node_settings names each differing key", "[server][reload]")
{
    config::node_config a, b;
    CHECK(server::changed_node_settings(a, b).empty());
    b.data_dir = "/elsewhere";
    b.keepalive_timeout = std::chrono::milliseconds(5);
    CHECK(server::changed_node_settings(a, b) == std::vector<std::string>{"data_dir", "keepalive_timeout"});
    CHECK(server::has_node_section("countersign:\n  workers: 1\n"));
    CHECK(server::has_node_section(R"({"_format_version": "3.0", "countersign": {}})"));
    CHECK_FALSE(server::has_node_section("_format_version: \"3.0\"\nservices: []\n"));
}

TEST_CASE("admin /config: the export reads back as the same config", "[server][reload][admin]")
{
    fixture f(next_yaml);
    const auto& registry = pipeline::plugin_registry::builtin();
    const auto exported = config::to_declarative_json(*f.running(), &registry);
    for (const auto& text : {exported.dump(2), admin::to_yaml(exported)}) {
        INFO(text);
        auto r = f.reloader->reload_from_text(text, "export");
        INFO(r.errors.to_string());
        REQUIRE(r.applied);
        CHECK(r.warnings.empty());  // the node section is the running one
        CHECK(config::to_declarative_json(*r.config, &registry) == exported);
    }
}

TEST_CASE("admin /config: request bodies Kong accepts", "[server][reload][admin]")
{
    auto post = [](std::string content_type, std::string body) {
        auto req = admin::request::from_target("POST", "/config");
        if (!content_type.empty())
            req.headers.emplace_back("content-type", std::move(content_type));
        req.body = std::move(body);
        return admin::config_document(req);
    };
    auto text_of = [](const std::variant<std::string, admin::response>& v) {
        REQUIRE(std::holds_alternative<std::string>(v));
        return std::get<std::string>(v);
    };
    auto status_of = [](const std::variant<std::string, admin::response>& v) {
        REQUIRE(std::holds_alternative<admin::response>(v));
        return std::get<admin::response>(v).status;
    };
    const std::string doc = "_format_version: \"3.0\"\nservices: []\n";

    CHECK(text_of(post("", doc)) == doc);
    CHECK(text_of(post("application/yaml", doc)) == doc);
    CHECK(text_of(post("text/yaml; charset=utf-8", doc)) == doc);
    // curl --data-binary @file: the raw document under the form type.
    CHECK(text_of(post("application/x-www-form-urlencoded", doc)) == doc);
    CHECK(text_of(post("application/x-www-form-urlencoded", "config=_format_version%3A+%223.0%22%0A")) ==
          "_format_version: \"3.0\"\n");
    const std::string json_doc = R"({"_format_version":"3.0","services":[]})";
    CHECK(text_of(post("application/json", json_doc)) == json_doc);
    CHECK(text_of(post("application/json", json{{"config", doc}}.dump())) == doc);
    CHECK(json::parse(text_of(post("application/json", json{{"config", json::parse(json_doc)}}.dump()))) ==
          json::parse(json_doc));
    const std::string multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nno\r\n"
                                  "--XyZ\r\nContent-Disposition: form-data; name=\"config\"; filename=\"kong.yml\"\r\n"
                                  "Content-Type: application/octet-stream\r\n\r\n" +
                                  doc + "\r\n--XyZ--\r\n";
    CHECK(text_of(post("multipart/form-data; boundary=XyZ", multipart)) == doc);

    CHECK(status_of(post("application/json", "{not json")) == 400);
    CHECK(status_of(post("", "  \n")) == 400);
    CHECK(status_of(post("multipart/form-data; boundary=XyZ", "--XyZ--\r\n")) == 400);
    CHECK(status_of(post("image/png", doc)) == 415);
}

TEST_CASE("admin /config: POST reloads, GET exports with secrets redacted", "[server][reload][admin]")
{
    fixture f;
    auto ctx = std::make_shared<admin::context>();
    ctx->registry = &pipeline::plugin_registry::builtin();
    ctx->current_config = [&f] { return f.running(); };
    ctx->reloader = &*f.reloader;
    auto router = admin::make_router(ctx);
    auto call = [&](std::string method, std::string target, std::string body = {}) {
        auto req = admin::request::from_target(std::move(method), std::move(target));
        req.body = std::move(body);
        return router->dispatch(req);
    };

    auto ok = call("POST", "/config", next_yaml);
    INFO(ok.body);
    REQUIRE(ok.status == 201);
    auto summary = json::parse(ok.body);
    CHECK(summary["services"] == 1);
    CHECK(summary["routes"] == 2);
    CHECK(summary["plugins"] == 1);
    CHECK(summary["consumers"] == 0);
    CHECK(summary["warnings"] == json::array());
    CHECK(f.route_names() == std::vector<std::string>{"rb", "rc"});

    auto bad = call("POST", "/config", "_format_version: \"3.0\"\nroutes:\n  - paths: [\"nope\"]\n");
    INFO(bad.body);
    REQUIRE(bad.status == 400);
    auto err = json::parse(bad.body);
    CHECK(err["name"] == "invalid declarative configuration");
    REQUIRE(err["errors"].size() >= 1);
    CHECK(err["errors"][0]["path"].get<std::string>().rfind("routes[0]", 0) == 0);
    CHECK(err["errors"][0].contains("line"));
    CHECK(f.route_names() == std::vector<std::string>{"rb", "rc"});

    const char* with_secrets = R"(_format_version: "3.0"
plugins:
  - name: jwt-signer
    config:
      channel_token_optional: true
      access_token_introspection_endpoint: http://127.0.0.1:9/introspect
      access_token_introspection_authorization: Basic aWQ6c2VjcmV0LXZhbHVl
      access_token_jwks_uri: http://127.0.0.1:9/jwks
      access_token_jwks_uri_client_username: user
      access_token_jwks_uri_client_password: hunter2-jwks
      access_token_keyset: reload-test
)";
    auto s = call("POST", "/config", with_secrets);
    INFO(s.body);
    REQUIRE(s.status == 201);
    auto exported = call("GET", "/config");
    REQUIRE(exported.status == 200);
    CHECK(exported.body.find("aWQ6c2VjcmV0LXZhbHVl") == std::string::npos);
    CHECK(exported.body.find("hunter2-jwks") == std::string::npos);
    auto doc = json::parse(exported.body);
    const auto& pc = doc["plugins"].at(0)["config"];
    CHECK(pc["access_token_introspection_authorization"] == "<redacted>");
    CHECK(pc["access_token_jwks_uri_client_password"] == "<redacted>");
    CHECK(pc["access_token_jwks_uri_client_username"] == "user");
    CHECK(doc["_format_version"] == "3.0");
    CHECK(doc["countersign"]["workers"] == 2);

    auto yaml = call("GET", "/config?format=yaml");
    REQUIRE(yaml.status == 200);
    CHECK(yaml.content_type.rfind("application/yaml", 0) == 0);
    CHECK(yaml.body.find("hunter2-jwks") == std::string::npos);
    CHECK(yaml.body.find("\"<redacted>\"") != std::string::npos);
    CHECK(call("GET", "/config?format=xml").status == 400);
}
