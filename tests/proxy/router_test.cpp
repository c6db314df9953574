#include <countersign/proxy/router.hpp>

#include <map>

#include <catch2/catch.hpp>

using namespace countersign;

namespace {

struct map_headers final : proxy::header_lookup {
    std::multimap<std::string, std::string> values;  // lower-case names
    bool any_value(std::string_view name, const std::function<bool(std::string_view)>& pred) const override
    {
        auto [b, e] = values.equal_range(std::string(name));
        for (auto it = b; it != e; ++it)
            if (pred(it->second))
                return true;
        return false;
    }
};

config::route_config route(std::string name, std::vector<std::string> paths = {})
{
    config::route_config r;
    r.id = name;
    r.name = std::move(name);
    r.service_id = "svc";
    r.paths = std::move(paths);
    return r;
}

config::gateway_config make(std::vector<config::route_config> routes)
{
    config::gateway_config cfg;
    config::service_config s;
    s.id = "svc";
    s.name = "svc";
    s.host = "upstream";
    cfg.services.push_back(s);
    cfg.routes = std::move(routes);
    return cfg;
}

std::string find(const proxy::router& r, std::string_view method, std::string_view host, std::string_view path,
                 const map_headers& h = {})
{
    auto m = r.find(method, host, path, h);
    return m ? m->route->name : "<none>";
}

}  // namespace

TEST_CASE("router: longest plain prefix wins, regardless of order", "[proxy][router]")
{
    auto cfg = make({route("short", {"/a"}), route("long", {"/a/b"})});
    auto r = proxy::router::build(cfg);
    CHECK(find(*r, "GET", "x", "/a/b/c") == "long");
    CHECK(find(*r, "GET", "x", "/a/c") == "short");
    CHECK(find(*r, "GET", "x", "/ab") == "short");  // Kong prefixes are not segment-bound
    CHECK(find(*r, "GET", "x", "/b") == "<none>");
    auto m = r->find("GET", "x", "/a/b/c", map_headers{});
    REQUIRE(m);
    CHECK(m->matched_prefix == "/a/b");
    CHECK(m->service != nullptr);
}

TEST_CASE("router: each path of a route competes on its own", "[proxy][router]")
{
    auto cfg = make({route("multi", {"/x", "/a/b/c/d"}), route("mid", {"/a/b"})});
    auto r = proxy::router::build(cfg);
    CHECK(find(*r, "GET", "x", "/a/b/c/d/e") == "multi");
    CHECK(find(*r, "GET", "x", "/a/b/c") == "mid");
}

TEST_CASE("router: more match categories beat a longer path", "[proxy][router]")
{
    auto with_host = route("with-host", {"/"});
    with_host.hosts = {"api.example.com"};
    auto with_method = route("with-method", {"/"});
    with_method.methods = {"POST"};
    auto cfg = make({route("long-path", {"/very/long/path"}), with_method, with_host});
    auto r = proxy::router::build(cfg);
    CHECK(find(*r, "GET", "api.example.com", "/very/long/path") == "with-host");
    CHECK(find(*r, "POST", "other", "/very/long/path") == "with-method");
    CHECK(find(*r, "GET", "other", "/very/long/path") == "long-path");
    CHECK(find(*r, "GET", "other", "/short") == "<none>");
}

TEST_CASE("router: plain hosts beat wildcard hosts; host port is ignored", "[proxy][router]")
{
    auto wild = route("wild");
    wild.hosts = {"*.example.com"};
    auto plain = route("plain");
    plain.hosts = {"api.example.com"};
    auto suffix = route("suffix");
    suffix.hosts = {"api.*"};
    auto cfg = make({wild, suffix, plain});
    auto r = proxy::router::build(cfg);
    CHECK(find(*r, "GET", "api.example.com:8000", "/") == "plain");
    CHECK(find(*r, "GET", "API.Example.com", "/") == "plain");
    CHECK(find(*r, "GET", "www.example.com", "/") == "wild");
    CHECK(find(*r, "GET", "api.test", "/") == "suffix");
    CHECK(find(*r, "GET", "example.com", "/") == "<none>");
}

TEST_CASE("router: header conditions", "[proxy][router]")
{
    auto one = route("one", {"/"});
    one.headers = {{"x-version", {"v1", "v2"}}};
    auto two = route("two", {"/"});
    two.headers = {{"x-version", {"v2"}}, {"x-beta", {"yes"}}};
    auto cfg = make({route("none", {"/"}), one, two});
    auto r = proxy::router::build(cfg);
    map_headers h;
    CHECK(find(*r, "GET", "h", "/", h) == "none");
    h.values.emplace("x-version", "V1");  // values compare case-insensitively
    CHECK(find(*r, "GET", "h", "/", h) == "one");
    h.values.clear();
    h.values.emplace("x-version", "v2");
    h.values.emplace("x-beta", "yes");
    CHECK(find(*r, "GET", "h", "/", h) == "two");  // more headers win
}

TEST_CASE("router: regex paths, regex_priority, then config order", "[proxy][router]")
{
    auto low = route("low", {"~/users/\\d+$"});
    auto high = route("high", {"~/users/\\d+"});
    high.regex_priority = 10;
    auto prefix = route("prefix", {"/users/123"});
    auto cfg = make({prefix, low, high});
    auto r = proxy::router::build(cfg);
    CHECK(find(*r, "GET", "h", "/users/123") == "high");
    CHECK(find(*r, "GET", "h", "/users/abc") == "<none>");
    // Regex paths are anchored at the start of the path.
    CHECK(find(*r, "GET", "h", "/x/users/1") == "<none>");
    auto m = r->find("GET", "h", "/users/42/orders", map_headers{});
    REQUIRE(m);
    CHECK(m->route->name == "high");
    CHECK(m->matched_prefix == "/users/42");

    auto a = route("a", {"~/r"});
    auto b = route("b", {"~/r"});
    auto cfg2 = make({a, b});
    CHECK(find(*proxy::router::build(cfg2), "GET", "h", "/r") == "a");
}

TEST_CASE("router: methods and routes without paths", "[proxy][router]")
{
    auto get = route("get");
    get.methods = {"GET", "HEAD"};
    auto cfg = make({get});
    auto r = proxy::router::build(cfg);
    CHECK(find(*r, "HEAD", "h", "/anything") == "get");
    CHECK(find(*r, "POST", "h", "/anything") == "<none>");
    auto m = r->find("GET", "h", "/x", map_headers{});
    REQUIRE(m);
    CHECK(m->matched_prefix.empty());
}

TEST_CASE("router: route without a service", "[proxy][router]")
{
    auto lone = route("lone", {"/lone"});
    lone.service_id.clear();
    auto cfg = make({lone});
    auto m = proxy::router::build(cfg)->find("GET", "h", "/lone", map_headers{});
    REQUIRE(m);
    CHECK(m->service == nullptr);
}

TEST_CASE("router: host_matches", "[proxy][router]")
{
    CHECK(proxy::host_matches("*.a.com", "b.a.com"));
    CHECK(proxy::host_matches("*.a.com", "c.b.a.com"));
    CHECK_FALSE(proxy::host_matches("*.a.com", "a.com"));
    CHECK(proxy::host_matches("a.*", "a.org"));
    CHECK_FALSE(proxy::host_matches("a.*", "b.org"));
    CHECK(proxy::host_matches("exact.com", "EXACT.com"));
}
