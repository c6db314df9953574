#include <countersign/proxy/forwarding.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace countersign;

namespace {

config::route_config route(bool strip, std::string handling = "v0")
{
    config::route_config r;
    r.strip_path = strip;
    r.path_handling = std::move(handling);
    return r;
}

std::string up(std::string_view service_path, bool strip, std::string_view handling, std::string_view request,
               std::string_view prefix)
{
    return proxy::upstream_path(service_path, route(strip, std::string(handling)), request, prefix);
}

}  // namespace

TEST_CASE("forwarding: Kong's path_handling table", "[proxy][forwarding]")
{
    // service.path, strip_path, path_handling, request path, matched route path -> upstream path
    // (rows of Kong's documentation table for path_handling v0 / v1)
    CHECK(up("/s", false, "v0", "/fv0req", "/fv0") == "/s/fv0req");
    CHECK(up("/s", false, "v1", "/fv1req", "/fv1") == "/sfv1req");
    CHECK(up("/s", true, "v0", "/tv0req", "/tv0") == "/s/req");
    CHECK(up("/s", true, "v1", "/tv1req", "/tv1") == "/sreq");
    CHECK(up("/s", false, "v0", "/fv0/req", "/fv0/") == "/s/fv0/req");
    CHECK(up("/s", false, "v1", "/fv1/req", "/fv1/") == "/sfv1/req");
    CHECK(up("/s", true, "v0", "/tv0/req", "/tv0/") == "/s/req");
    CHECK(up("/s", true, "v1", "/tv1/req", "/tv1/") == "/sreq");
    CHECK(up("/s/", false, "v0", "/fv0req", "/fv0") == "/s/fv0req");
    CHECK(up("/s/", false, "v1", "/fv1req", "/fv1") == "/s/fv1req");
    CHECK(up("/s/", true, "v0", "/tv0req", "/tv0") == "/s/req");
    CHECK(up("/s/", true, "v1", "/tv1req", "/tv1") == "/s/req");
    CHECK(up("/s/", false, "v0", "/fv0/req", "/fv0/") == "/s/fv0/req");
    CHECK(up("/s/", false, "v1", "/fv1/req", "/fv1/") == "/s/fv1/req");
    CHECK(up("/s/", true, "v0", "/tv0/req", "/tv0/") == "/s/req");
    CHECK(up("/s/", true, "v1", "/tv1/req", "/tv1/") == "/s/req");
}

TEST_CASE("forwarding: strip_path edge cases (v0)", "[proxy][forwarding]")
{
    CHECK(up("", true, "v0", "/api", "/api") == "/");
    CHECK(up("", true, "v0", "/api/x", "/api") == "/x");
    CHECK(up("", false, "v0", "/api/x", "/api") == "/api/x");
    CHECK(up("/s", true, "v0", "/api", "/api") == "/s");
    CHECK(up("/s", true, "v0", "/api/", "/api") == "/s/");
    CHECK(up("/s/", true, "v0", "/api", "/api") == "/s");
    CHECK(up("/s/", true, "v0", "/api/", "/api") == "/s/");
    CHECK(up("/s", false, "v0", "/", "") == "/s");
    // Route without paths: nothing to strip.
    CHECK(up("/s", true, "v0", "/x", "") == "/s/x");
}

TEST_CASE("forwarding: target keeps the query; Host rules", "[proxy][forwarding]")
{
    config::service_config s;
    s.host = "backend";
    s.port = 8080;
    s.path = "/base";
    auto r = route(true);
    CHECK(proxy::upstream_target(s, r, "/api/x?a=1&b=2", "/api") == "/base/x?a=1&b=2");
    CHECK(proxy::upstream_host(s, r, "client.example:8000") == "backend:8080");
    s.port = 80;
    CHECK(proxy::upstream_host(s, r, "client.example:8000") == "backend");
    s.protocol = "https";
    CHECK(proxy::upstream_host(s, r, "c") == "backend:80");
    s.port = 443;
    CHECK(proxy::upstream_host(s, r, "c") == "backend");
    r.preserve_host = true;
    CHECK(proxy::upstream_host(s, r, "client.example:8000") == "client.example:8000");
}

TEST_CASE("forwarding: X-Forwarded-* from an untrusted client", "[proxy][forwarding]")
{
    http::fields f;
    f.set("X-Forwarded-For", "6.6.6.6");
    f.set("X-Forwarded-Proto", "https");
    f.set("X-Forwarded-Host", "evil");
    f.set("X-Real-IP", "6.6.6.6");
    f.set("X-Forwarded-Prefix", "/evil");
    f.insert("x-forwarded-for", "7.7.7.7");  // duplicates in any case are all dropped
    f.insert("X-REAL-IP", "7.7.7.7");
    f.insert("X-Forwarded-Port", "1");
    f.insert("X-Forwarded-Path", "/evil");
    f.set("X-Other", "kept");
    proxy::forwarded_info info;
    info.client_ip = "10.0.0.1";
    info.server_port = 8000;
    info.tls = false;
    info.host = "API.example.com:8000";
    info.request_path = "/api/x";
    proxy::set_forwarded_headers(f, info);
    CHECK(f["X-Forwarded-For"] == "10.0.0.1");
    CHECK(f["X-Forwarded-Proto"] == "http");
    CHECK(f["X-Forwarded-Host"] == "api.example.com");
    CHECK(f["X-Forwarded-Port"] == "8000");
    CHECK(f["X-Forwarded-Path"] == "/api/x");
    CHECK(f["X-Real-IP"] == "10.0.0.1");
    CHECK(f.count("X-Forwarded-Prefix") == 0);
    CHECK(f.count("X-Forwarded-For") == 1);
    CHECK(f.count("X-Real-IP") == 1);
    CHECK(f.count("X-Forwarded-Port") == 1);
    CHECK(f.count("X-Forwarded-Path") == 1);
    CHECK(f["X-Other"] == "kept");
    // The client's fields keep their place; ours follow in a fixed order.
    std::vector<std::string> order;
    for (const auto& field : f)
        order.emplace_back(field.name_string());
    CHECK(order == std::vector<std::string>{"X-Other", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                                            "X-Forwarded-Port", "X-Forwarded-Path", "X-Real-IP"});

    info.stripped_prefix = "/api";
    info.tls = true;
    proxy::set_forwarded_headers(f, info);
    CHECK(f["X-Forwarded-Prefix"] == "/api");
    CHECK(f["X-Forwarded-Proto"] == "https");
}

TEST_CASE("forwarding: X-Forwarded-* from a trusted proxy", "[proxy][forwarding]")
{
    http::fields f;
    f.insert("X-Forwarded-For", "1.1.1.1");
    f.insert("X-Forwarded-For", "2.2.2.2");
    f.set("X-Forwarded-Proto", "https");
    proxy::forwarded_info info;
    info.client_ip = "10.0.0.1";
    info.server_port = 8000;
    info.host = "h";
    info.request_path = "/";
    info.trusted = true;
    proxy::set_forwarded_headers(f, info);
    CHECK(f["X-Forwarded-For"] == "1.1.1.1, 2.2.2.2, 10.0.0.1");
    CHECK(f.count("X-Forwarded-For") == 1);
    CHECK(f["X-Forwarded-Proto"] == "https");
    CHECK(f["X-Forwarded-Host"] == "h");
}

TEST_CASE("forwarding: consumer headers", "[proxy][forwarding]")
{
    http::fields f;
    f.set("X-Consumer-ID", "spoof");
    f.set("X-Consumer-Username", "spoof");
    f.set("X-Anonymous-Consumer", "true");
    f.set("X-Credential-Identifier", "spoof");
    f.set("X-Consumer-Groups", "admins");
    f.insert("x-consumer-id", "spoof-2");
    f.insert("X-CONSUMER-CUSTOM-ID", "spoof");
    proxy::clear_consumer_headers(f);
    CHECK(f.begin() == f.end());

    config::consumer_config c;
    c.id = "id-1";
    c.username = "alice";
    proxy::set_consumer_headers(f, c, "cred");
    CHECK(f["X-Consumer-ID"] == "id-1");
    CHECK(f["X-Consumer-Username"] == "alice");
    CHECK(f.count("X-Consumer-Custom-ID") == 0);
    CHECK(f["X-Credential-Identifier"] == "cred");
}
