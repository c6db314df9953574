#include <catch2/catch.hpp>

#include <countersign/admin/router.hpp>

using namespace countersign::admin;

namespace {

handler echo_params(std::string tag)
{
    return [tag](const request& req, const path_params& p) {
        nlohmann::json j = {{"tag", tag}, {"method", req.method}};
        for (const auto* name : {"service", "plugin", "name"})
            if (!p.get(name).empty())
                j[name] = p.get(name);
        return response::json(200, j);
    };
}

nlohmann::json body_of(const response& r) { return nlohmann::json::parse(r.body); }

}  // namespace

TEST_CASE("request::from_target splits path and query", "[admin][router]")
{
    auto r = request::from_target("GET", "/services?size=10&offset=x");
    CHECK(r.path == "/services");
    CHECK(r.query == "size=10&offset=x");
    auto bare = request::from_target("GET", "/");
    CHECK(bare.path == "/");
    CHECK(bare.query.empty());
}

TEST_CASE("router matches literal paths and parameters", "[admin][router]")
{
    router r;
    r.add("GET", "/", echo_params("root"));
    r.add("GET", "/services", echo_params("list"));
    r.add("GET", "/services/{service}", echo_params("one"));
    r.add("GET", "/services/{service}/routes", echo_params("routes"));

    SECTION("root")
    {
        auto res = r.dispatch(request::from_target("GET", "/"));
        CHECK(res.status == 200);
        CHECK(body_of(res)["tag"] == "root");
    }
    SECTION("literal")
    {
        CHECK(body_of(r.dispatch(request::from_target("GET", "/services")))["tag"] == "list");
    }
    SECTION("trailing slash and query are ignored")
    {
        CHECK(body_of(r.dispatch(request::from_target("GET", "/services/")))["tag"] == "list");
        CHECK(body_of(r.dispatch(request::from_target("GET", "/services?tags=a")))["tag"] == "list");
    }
    SECTION("parameter, percent-decoded")
    {
        auto j = body_of(r.dispatch(request::from_target("GET", "/services/my%20svc")));
        CHECK(j["tag"] == "one");
        CHECK(j["service"] == "my svc");
    }
    SECTION("nested")
    {
        auto j = body_of(r.dispatch(request::from_target("GET", "/services/abc/routes")));
        CHECK(j["tag"] == "routes");
        CHECK(j["service"] == "abc");
    }
    SECTION("responses are JSON")
    {
        CHECK(r.dispatch(request::from_target("GET", "/")).content_type == "application/json; charset=utf-8");
    }
}

TEST_CASE("router answers 404 and 405 in Kong's shape", "[admin][router]")
{
    router r;
    r.add("GET", "/services", echo_params("list"));
    r.add("POST", "/config", echo_params("post"));

    auto missing = r.dispatch(request::from_target("GET", "/nope"));
    CHECK(missing.status == 404);
    CHECK(body_of(missing) == nlohmann::json{{"message", "Not found"}});

    auto too_deep = r.dispatch(request::from_target("GET", "/services/a/b/c"));
    CHECK(too_deep.status == 404);

    auto wrong = r.dispatch(request::from_target("DELETE", "/services"));
    CHECK(wrong.status == 405);
    CHECK(body_of(wrong) == nlohmann::json{{"message", "Method not allowed"}});
    REQUIRE(wrong.headers.size() == 1);
    CHECK(wrong.headers[0].first == "Allow");
    CHECK(wrong.headers[0].second == "GET");

    CHECK(r.dispatch(request::from_target("GET", "/config")).status == 405);
    CHECK(r.dispatch(request::from_target("POST", "/config")).status == 200);
}

TEST_CASE("literal segments win over parameters", "[admin][router]")
{
    router r;
    r.add("GET", "/plugins/{plugin}", echo_params("by-id"));
    r.add("GET", "/plugins/enabled", echo_params("enabled"));
    CHECK(body_of(r.dispatch(request::from_target("GET", "/plugins/enabled")))["tag"] == "enabled");
    auto j = body_of(r.dispatch(request::from_target("GET", "/plugins/1234")));
    CHECK(j["tag"] == "by-id");
    CHECK(j["plugin"] == "1234");
}

TEST_CASE("HEAD runs the GET handler", "[admin][router]")
{
    router r;
    r.add("GET", "/status", echo_params("status"));
    auto res = r.dispatch(request::from_target("HEAD", "/status"));
    CHECK(res.status == 200);
    CHECK(body_of(res)["method"] == "HEAD");
}

TEST_CASE("a later registration replaces the same method and pattern", "[admin][router]")
{
    router r;
    r.add("GET", "/x", echo_params("first"));
    r.add("GET", "/x", echo_params("second"));
    CHECK(r.routes().size() == 1);
    CHECK(body_of(r.dispatch(request::from_target("GET", "/x")))["tag"] == "second");
}

TEST_CASE("a throwing handler becomes 500", "[admin][router]")
{
    router r;
    r.add("GET", "/boom", [](const request&, const path_params&) -> response { throw std::runtime_error("boom"); });
    auto res = r.dispatch(request::from_target("GET", "/boom"));
    CHECK(res.status == 500);
    CHECK(body_of(res).contains("message"));
}

TEST_CASE("percent_decode", "[admin][router]")
{
    CHECK(percent_decode("a%2Fb") == "a/b");
    CHECK(percent_decode("%41%42") == "AB");
    CHECK(percent_decode("bad%zzescape%") == "bad%zzescape%");
    CHECK(percent_decode("%4") == "%4");
}
