#include <catch2/catch.hpp>

#include <regex>
#include <set>
#include <thread>

#include <boost/asio/co_spawn.hpp>

#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/plugins/correlation_id.hpp>
#include <countersign/plugins/uuid.hpp>

using namespace countersign;
using namespace countersign::pipeline;
using namespace countersign::plugins;
using json = nlohmann::json;

namespace {

void run(const plugin& p, request_context& ctx)
{
    net::io_context io;
    std::exception_ptr failure;
    net::co_spawn(io, p.access(ctx), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

correlation_id make(const json& conf)
{
    config::error_list errors;
    auto filled = plugin_registry::builtin().validate("correlation-id", conf, "c", {}, errors);
    REQUIRE(errors.empty());
    return correlation_id(correlation_id::parse(filled));
}

const std::regex uuid_re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

}  // namespace

TEST_CASE("correlation-id: defaults and validation")
{
    config::error_list errors;
    auto filled = plugin_registry::builtin().validate("correlation-id", nullptr, "c", {}, errors);
    CHECK(errors.empty());
    CHECK(filled == json{{"header_name", "Kong-Request-ID"}, {"generator", "uuid#counter"}, {"echo_downstream", false}});
    config::error_list e2;
    plugin_registry::builtin().validate("correlation-id", {{"generator", "random"}}, "c", {}, e2);
    REQUIRE(e2.size() == 1);
    CHECK(e2.errors()[0].to_string() == "c.generator: expected one of: uuid, uuid#counter, tracker");
}

TEST_CASE("correlation-id: sets the header upstream when absent and keeps an incoming one")
{
    auto p = make({{"generator", "uuid"}});
    http::request_header<> h;
    request_context ctx;
    ctx.request = &h;
    run(p, ctx);
    auto v = std::string(h["Kong-Request-ID"]);
    CHECK(std::regex_match(v, uuid_re));
    CHECK(ctx.request_id == v);

    http::request_header<> h2;
    h2.set("kong-request-id", "from-client");
    request_context c2;
    c2.request = &h2;
    run(p, c2);
    CHECK(h2["Kong-Request-ID"] == "from-client");
    CHECK(c2.request_id == "from-client");
}

TEST_CASE("correlation-id: uuid#counter counts per worker thread")
{
    auto p = make({{"header_name", "X-Req"}});
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        http::request_header<> h;
        request_context ctx;
        ctx.request = &h;
        run(p, ctx);
        ids.push_back(std::string(h["X-Req"]));
    }
    auto base = ids[0].substr(0, ids[0].find('#'));
    CHECK(std::regex_match(base, uuid_re));
    auto n0 = std::stoull(ids[0].substr(ids[0].find('#') + 1));
    CHECK(ids[1] == base + "#" + std::to_string(n0 + 1));
    CHECK(ids[2] == base + "#" + std::to_string(n0 + 2));

    std::string other;
    std::thread([&] { other = correlation_id::generate(id_generator::uuid_counter, request_context{}); }).join();
    CHECK(other.substr(0, other.find('#')) != base);
}

TEST_CASE("correlation-id: tracker")
{
    request_context ctx;
    ctx.host = "gw";
    ctx.server_port = 8000;
    ctx.client_ip = "10.0.0.1";
    ctx.client_port = 5555;
    manual_clock clk(1'700'000'000);
    ctx.clk = &clk;
    auto id = correlation_id::generate(id_generator::tracker, ctx);
    CHECK(std::regex_match(id, std::regex(R"(^gw-8000-\d+-10\.0\.0\.1:5555-\d+-1700000000\.000$)")));
}

TEST_CASE("correlation-id: echo_downstream in header_filter")
{
    auto off = make(json::object());
    auto on = make({{"echo_downstream", true}});
    http::request_header<> h;
    request_context ctx;
    ctx.request = &h;
    run(on, ctx);
    http::response_header<> res;
    off.header_filter(ctx, res);
    CHECK(res.find("Kong-Request-ID") == res.end());
    on.header_filter(ctx, res);
    CHECK(res["Kong-Request-ID"] == ctx.request_id);
}

TEST_CASE("random uuids are v4 and distinct")
{
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        auto u = random_uuid();
        REQUIRE(std::regex_match(u, uuid_re));
        seen.insert(u);
    }
    CHECK(seen.size() == 10000);
}

TEST_CASE("registry: builtin plugins, names and schema JSON")
{
    const auto& r = plugin_registry::builtin();
    CHECK(r.known("correlation-id"));
    CHECK(r.known("request-termination"));
    CHECK_FALSE(r.known("jwt"));
    auto names = r.names();
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(r.find("correlation-id")->priority == 100001);
    CHECK(r.find("request-termination")->priority == 2);
    auto j = to_json(r.find("request-termination")->schema);
    CHECK(j["fields"][1]["config"]["fields"][0]["status_code"]["default"] == 503);

    config::error_list errors;
    r.validate("nope", json::object(), "plugins[3].config", [](const std::string& p) { return p == "plugins[3].name" ? 4 : 0; },
               errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors.errors()[0].to_string().starts_with("plugins[3].name: unknown plugin 'nope' (known plugins: "));
    CHECK(errors.errors()[0].line == 4);
}
