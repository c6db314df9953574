// The admin endpoints over a hand-built config and registry (no sockets).
#include <catch2/catch.hpp>

#include <countersign/admin/api.hpp>
#include <countersign/admin/entity_json.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/pipeline/plugin_schema.hpp>

using namespace countersign;
using admin::request;

namespace {

pipeline::plugin_registry make_registry()
{
    pipeline::plugin_registry reg;
    pipeline::plugin_descriptor d;
    d.name = "fake-auth";
    d.priority = 1234;
    d.version = "2.0.0";
    d.schema = pipeline::plugin_schema{{
        pipeline::string_field("client_secret").secret(),
        pipeline::integer_field("limit").default_value(3),
    }};
    reg.add(std::move(d));
    return reg;
}

config::gateway_config_ptr make_config()
{
    auto cfg = std::make_shared<config::gateway_config>();
    cfg->source = "/etc/countersign/test.yaml";
    config::service_config s;
    s.id = "11111111-1111-4111-8111-111111111111";
    s.name = "orders";
    s.host = "orders.internal";
    s.port = 8080;
    s.path = "/v1";
    cfg->services.push_back(s);

    config::route_config r;
    r.id = "22222222-2222-4222-8222-222222222222";
    r.name = "orders-route";
    r.service_id = s.id;
    r.paths = {"/orders"};
    r.methods = {"GET"};
    cfg->routes.push_back(r);
    config::route_config lonely;
    lonely.id = "33333333-3333-4333-8333-333333333333";
    lonely.name = "lonely";
    lonely.paths = {"/lonely"};
    cfg->routes.push_back(lonely);

    config::consumer_config c;
    c.id = "44444444-4444-4444-8444-444444444444";
    c.username = "alice";
    c.custom_id = "A-1";
    cfg->consumers.push_back(c);

    config::plugin_config p;
    p.id = "55555555-5555-4555-8555-555555555555";
    p.name = "fake-auth";
    p.instance_name = "auth-orders";
    p.service_id = s.id;
    p.config = {{"client_secret", "hunter2"}, {"limit", 3}};
    cfg->plugins.push_back(p);
    return cfg;
}

struct fixture {
    pipeline::plugin_registry registry = make_registry();
    config::gateway_config_ptr cfg = make_config();
    bool ready = true;
    std::shared_ptr<const admin::router> router;

    fixture()
    {
        auto ctx = std::make_shared<admin::context>(admin::context::for_this_process(3));
        ctx->registry = &registry;
        ctx->current_config = [this] { return cfg; };
        ctx->counters = [] {
            admin::node_counters c;
            c.connections_accepted = 7;
            c.connections_active = 2;
            c.connections_handled = 5;
            c.requests_total = 42;
            return c;
        };
        ctx->ready = [this] { return ready; };
        router = admin::make_router(ctx);
    }

    admin::response get(std::string target) const { return router->dispatch(request::from_target("GET", target)); }
    nlohmann::json get_json(std::string target, unsigned expect = 200) const
    {
        auto r = get(target);
        INFO(target << " -> " << r.body);
        REQUIRE(r.status == expect);
        return nlohmann::json::parse(r.body);
    }
};

}  // namespace

TEST_CASE_METHOD(fixture, "GET / describes the node", "[admin][api]")
{
    auto j = get_json("/");
    CHECK(j["version"] == COUNTERSIGN_VERSION);
    CHECK(j["workers"] == 3);
    CHECK(j["pid"].get<int>() > 0);
    CHECK(j["node_id"].get<std::string>().size() == 36);
    CHECK(j["config_source"] == "/etc/countersign/test.yaml");
    CHECK(j["plugins"]["available_on_server"]["fake-auth"]["priority"] == 1234);
    CHECK(j["plugins"]["available_on_server"]["fake-auth"]["version"] == "2.0.0");
    CHECK(j["plugins"]["enabled_in_cluster"] == nlohmann::json::array({"fake-auth"}));
}

TEST_CASE_METHOD(fixture, "GET /status has Kong's server counters", "[admin][api]")
{
    auto j = get_json("/status");
    CHECK(j["server"]["connections_accepted"] == 7);
    CHECK(j["server"]["connections_active"] == 2);
    CHECK(j["server"]["connections_handled"] == 5);
    CHECK(j["server"]["total_requests"] == 42);
    CHECK(j["memory"]["resident_bytes"].get<std::uint64_t>() > 0);
}

TEST_CASE_METHOD(fixture, "GET /status/ready follows the node state", "[admin][api]")
{
    CHECK(get_json("/status/ready") == nlohmann::json{{"message", "ready"}});
    ready = false;
    CHECK(get("/status/ready").status == 503);
    ready = true;
    cfg = nullptr;
    CHECK(get("/status/ready").status == 503);
}

TEST_CASE_METHOD(fixture, "entity lists use Kong's data/next shape", "[admin][api]")
{
    auto services = get_json("/services");
    CHECK(services["next"].is_null());
    REQUIRE(services["data"].size() == 1);
    CHECK(services["data"][0]["name"] == "orders");
    CHECK(services["data"][0]["port"] == 8080);
    CHECK(services["data"][0]["path"] == "/v1");
    CHECK(services["data"][0]["connect_timeout"] == 60000);

    auto routes = get_json("/routes");
    REQUIRE(routes["data"].size() == 2);
    CHECK(routes["data"][0]["service"]["id"] == "11111111-1111-4111-8111-111111111111");
    CHECK(routes["data"][1]["service"].is_null());
    CHECK(routes["data"][1]["hosts"].is_null());
    CHECK(routes["data"][0]["strip_path"] == true);

    auto consumers = get_json("/consumers");
    REQUIRE(consumers["data"].size() == 1);
    CHECK(consumers["data"][0]["username"] == "alice");
    CHECK(consumers["data"][0]["custom_id"] == "A-1");

    auto plugins = get_json("/plugins");
    REQUIRE(plugins["data"].size() == 1);
    CHECK(plugins["data"][0]["service"]["id"] == "11111111-1111-4111-8111-111111111111");
    CHECK(plugins["data"][0]["route"].is_null());
}

TEST_CASE_METHOD(fixture, "plugin configs are redacted", "[admin][api]")
{
    auto p = get_json("/plugins/55555555-5555-4555-8555-555555555555");
    CHECK(p["config"]["client_secret"] == "<redacted>");
    CHECK(p["config"]["limit"] == 3);
    CHECK(get("/plugins").body.find("hunter2") == std::string::npos);
}

TEST_CASE_METHOD(fixture, "single entities by name or id, 404 when absent", "[admin][api]")
{
    CHECK(get_json("/services/orders")["id"] == "11111111-1111-4111-8111-111111111111");
    CHECK(get_json("/services/11111111-1111-4111-8111-111111111111")["name"] == "orders");
    CHECK(get_json("/routes/orders-route")["paths"] == nlohmann::json::array({"/orders"}));
    CHECK(get_json("/consumers/alice")["id"] == "44444444-4444-4444-8444-444444444444");
    CHECK(get_json("/consumers/44444444-4444-4444-8444-444444444444")["username"] == "alice");
    CHECK(get_json("/plugins/auth-orders")["name"] == "fake-auth");

    for (const char* missing : {"/services/nope", "/routes/nope", "/consumers/nope", "/plugins/nope",
                                "/services/nope/routes", "/routes/lonely/service"}) {
        INFO(missing);
        auto r = get(missing);
        CHECK(r.status == 404);
        CHECK(nlohmann::json::parse(r.body) == nlohmann::json{{"message", "Not found"}});
    }
}

TEST_CASE_METHOD(fixture, "nested listings", "[admin][api]")
{
    auto routes = get_json("/services/orders/routes");
    REQUIRE(routes["data"].size() == 1);
    CHECK(routes["data"][0]["name"] == "orders-route");
    CHECK(get_json("/services/orders/plugins")["data"].size() == 1);
    CHECK(get_json("/routes/orders-route/plugins")["data"].size() == 0);
    CHECK(get_json("/routes/orders-route/service")["name"] == "orders");
    CHECK(get_json("/consumers/alice/plugins")["data"].size() == 0);
}

TEST_CASE_METHOD(fixture, "plugins/enabled and schemas", "[admin][api]")
{
    CHECK(get_json("/plugins/enabled") == nlohmann::json{{"enabled_plugins", {"fake-auth"}}});
    auto schema = get_json("/schemas/plugins/fake-auth");
    CHECK(schema.contains("fields"));
    CHECK(schema.dump().find("client_secret") != std::string::npos);
    auto missing = get("/schemas/plugins/nope");
    CHECK(missing.status == 404);
    CHECK(nlohmann::json::parse(missing.body)["message"] == "No plugin named 'nope'");
}

TEST_CASE_METHOD(fixture, "unknown paths and methods", "[admin][api]")
{
    CHECK(get("/nope").status == 404);
    CHECK(router->dispatch(request::from_target("DELETE", "/services/orders")).status == 405);
}
