#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>

#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/plugins/request_echo.hpp>
#include <countersign/plugins/request_termination.hpp>

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

std::vector<std::string> validate(const json& conf, json* out = nullptr)
{
    config::error_list errors;
    auto filled = plugin_registry::builtin().validate("request-termination", conf, "plugins[0].config",
                                                      [](const std::string&) { return 0; }, errors);
    if (out) *out = filled;
    std::vector<std::string> m;
    for (const auto& e : errors.errors()) m.push_back(e.to_string());
    return m;
}

request_termination make(const json& conf)
{
    json filled;
    auto errors = validate(conf, &filled);
    INFO(errors.size());
    REQUIRE(errors.empty());
    return request_termination(request_termination::parse(filled));
}

struct request {
    http::request_header<> header;
    request_context ctx;
    explicit request(std::string target = "/")
    {
        header.method(http::verb::get);
        header.target(target);
        header.set(http::field::host, "gw.example");
        ctx.request = &header;
    }
};

}  // namespace

TEST_CASE("request-termination: defaults and validation")
{
    json filled;
    CHECK(validate(json::object(), &filled).empty());
    CHECK(filled == json{{"status_code", 503}, {"message", nullptr}, {"content_type", nullptr}, {"body", nullptr},
                         {"echo", false}, {"trigger", nullptr}});

    CHECK(validate({{"status_code", 600}}) ==
          std::vector<std::string>{"plugins[0].config.status_code: value must be between 100 and 599"});
    CHECK(validate({{"message", "a"}, {"body", "b"}}) ==
          std::vector<std::string>{"plugins[0].config: message cannot be used with content_type or body"});
    CHECK(validate({{"content_type", "text/plain"}}) ==
          std::vector<std::string>{"plugins[0].config: content_type requires a body"});
    CHECK(validate({{"echo", true}, {"body", "x"}}) ==
          std::vector<std::string>{"plugins[0].config: echo cannot be used with content_type and body"});
    CHECK(validate({{"trigger", "bad header"}}).size() == 1);
    CHECK(validate({{"colour", "red"}}) == std::vector<std::string>{"plugins[0].config.colour: unknown field"});
    CHECK(validate({{"body", "<b>x</b>"}, {"content_type", "text/html"}}).empty());
}

TEST_CASE("request-termination: default message per status")
{
    request rq;
    run(make(json::object()), rq.ctx);
    REQUIRE(rq.ctx.exit);
    CHECK(rq.ctx.exit->status == 503);
    CHECK(rq.ctx.exit->body == R"({"message":"Service unavailable"})");
    CHECK(rq.ctx.exit->content_type == "application/json; charset=utf-8");

    request r2;
    run(make({{"status_code", 418}}), r2.ctx);
    CHECK(r2.ctx.exit->status == 418);
    CHECK(r2.ctx.exit->body.empty());

    request r3;
    run(make({{"status_code", 403}, {"message", "Go away \"now\""}}), r3.ctx);
    CHECK(r3.ctx.exit->body == R"({"message":"Go away \"now\""})");
}

TEST_CASE("request-termination: raw body with content type")
{
    request rq;
    run(make({{"status_code", 200}, {"body", "<h1>hi</h1>"}, {"content_type", "text/html"}}), rq.ctx);
    CHECK(rq.ctx.exit->status == 200);
    CHECK(rq.ctx.exit->body == "<h1>hi</h1>");
    CHECK(rq.ctx.exit->content_type == "text/html");
}

TEST_CASE("request-termination: trigger by header or query argument")
{
    auto p = make({{"trigger", "X-Debug"}});
    request none("/a?x=1");
    run(p, none.ctx);
    CHECK_FALSE(none.ctx.exit);

    request by_header("/a");
    by_header.header.set("x-debug", "1");
    run(p, by_header.ctx);
    CHECK(by_header.ctx.exit);

    request by_query("/a?foo=1&X-Debug");
    run(p, by_query.ctx);
    CHECK(by_query.ctx.exit);
}

TEST_CASE("request-termination: echo describes the request as forwarded")
{
    config::service_config svc{.id = "S1", .name = "api", .protocol = "http", .host = "backend", .port = 8080, .path = "/v2"};
    config::route_config route{.id = "R1", .name = "r", .service_id = "S1", .paths = {"/api"}};
    auto p = make({{"echo", true}, {"status_code", 200}});

    request rq("/v2/users?id=7&tag=a&tag=b&flag&q=a+b%21");  // as rewritten by the session
    rq.ctx.route = &route;
    rq.ctx.service = &svc;
    rq.header.method(http::verb::post);
    rq.header.set("Kong-Request-ID", "abc#1");
    rq.header.set(http::field::content_type, "application/json");
    rq.header.set(http::field::content_length, "13");
    rq.header.insert("X-Multi", "1");
    rq.header.insert("X-Multi", "2");
    std::size_t asked = 0;
    rq.ctx.read_body = [&](std::size_t max) -> net::awaitable<result<std::string>> {
        asked = max;
        co_return std::string(R"({"a":[1,2,3]})");
    };
    run(p, rq.ctx);
    REQUIRE(rq.ctx.exit);
    CHECK(rq.ctx.exit->status == 200);
    CHECK(asked == request_termination::echo_body_limit);
    auto j = json::parse(rq.ctx.exit->body);
    const auto& r = j["request"];
    CHECK(j["message"] == nullptr);
    CHECK(r["method"] == "POST");
    CHECK(r["path"] == "/v2/users");
    CHECK(r["query"] == json{{"id", "7"}, {"tag", {"a", "b"}}, {"flag", true}, {"q", "a b!"}});
    CHECK(r["headers"]["kong-request-id"] == "abc#1");
    CHECK(r["headers"]["x-multi"] == json::array({"1", "2"}));
    CHECK(r["headers"]["host"] == "gw.example");  // the session sets the upstream Host
    CHECK(r["host"] == "backend");
    CHECK(r["port"] == 8080);
    CHECK(r["scheme"] == "http");
    CHECK(r["raw_body"] == R"({"a":[1,2,3]})");
    CHECK(r["body"] == json{{"a", {1, 2, 3}}});
    CHECK(j["matched_route"]["id"] == "R1");
    CHECK(j["matched_service"]["host"] == "backend");
}

TEST_CASE("request-termination: echo without a readable body")
{
    auto p = make({{"echo", true}});
    request rq("/");
    rq.header.set(http::field::content_length, "5");
    rq.ctx.read_body = [](std::size_t) -> net::awaitable<result<std::string>> {
        co_return make_error_code(boost::system::errc::message_size);
    };
    run(p, rq.ctx);
    auto j = json::parse(rq.ctx.exit->body);
    CHECK(j["message"] == "Service unavailable");
    CHECK(j["request"]["raw_body"].is_null());
    CHECK(j["request"]["body"].is_null());
}

