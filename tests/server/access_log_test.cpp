#include <countersign/server/access_log.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <countersign/pipeline/request_context.hpp>

using namespace countersign;

TEST_CASE("access log: plain and JSON lines", "[server][access_log]")
{
    config::route_config route;
    route.name = "r1";
    config::service_config service;
    service.name = "s1";
    pipeline::request_context ctx;
    ctx.route = &route;
    ctx.service = &service;
    ctx.request_id = "abc-1";

    server::access_record r;
    r.method = "GET";
    r.target = "/x?\"quoted\"\n";
    r.user_agent = "curl/8";
    r.ctx = &ctx;
    r.client_ip = "127.0.0.1";
    r.status = 200;
    r.bytes_sent = 42;
    r.latency_ms = 1.5;
    r.upstream_ms = 1.0;

    auto line = server::format_access_plain(r);
    CHECK(line.rfind("127.0.0.1 - - [", 0) == 0);
    CHECK(line.find("\"GET /x?\\x22quoted\\x22\\x0a HTTP/1.1\" 200 42 \"-\" \"curl/8\"") != std::string::npos);
    CHECK(line.find("request_id=abc-1 route=r1 service=s1 consumer=-") != std::string::npos);
    CHECK(line.find('\n') == std::string::npos);

    auto j = nlohmann::json::parse(server::format_access_json(r));
    CHECK(j["status"] == 200);
    CHECK(j["route"] == "r1");
    CHECK(j["service"] == "s1");
    CHECK(j["request_id"] == "abc-1");
    CHECK(j["target"] == "/x?\"quoted\"\n");
}
