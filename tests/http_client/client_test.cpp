#include <countersign/http_client/client.hpp>

#include "support/idp_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>

using namespace countersign;
using namespace std::chrono_literals;
namespace hc = countersign::http_client;
using countersign::test::idp_server;
using countersign::test::test_pki;

namespace {

// Runs one request to completion on a private io_context.
result<hc::response> fetch(hc::client& c, hc::request_options opts)
{
    net::io_context ioc;
    auto fut = net::co_spawn(ioc, c.request(ioc.get_executor(), std::move(opts)), net::use_future);
    ioc.run();
    return fut.get();
}

hc::request_options get(std::string url)
{
    hc::request_options o;
    o.url = std::move(url);
    o.connect_timeout = 2s;
    o.read_timeout = 2s;
    return o;
}

}  // namespace

TEST_CASE("http_client: plain GET returns status, lower-case headers and body", "[http_client]")
{
    idp_server idp;
    idp.set_jwks_body(R"({"keys":[]})");
    idp.set_max_age(120);
    hc::client c;
    auto r = fetch(c, get(idp.url("/jwks")));
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(r->body == R"({"keys":[]})");
    REQUIRE(r->header("Cache-Control"));
    CHECK(*r->header("cache-control") == "public, max-age=120");
    CHECK(r->headers.count("content-type") == 1);
    auto seen = idp.last_request("/jwks");
    REQUIRE(seen);
    CHECK(seen->method == "GET");
    CHECK(seen->headers.at("host") == "127.0.0.1:" + std::to_string(idp.port()));
    CHECK(seen->headers.at("user-agent") == "countersign");
}

TEST_CASE("http_client: non-2xx statuses are successes for the caller to judge", "[http_client]")
{
    idp_server idp;
    hc::client c;
    auto r = fetch(c, get(idp.url("/nope")));
    REQUIRE(r.has_value());
    CHECK(r->status == 404);
}

TEST_CASE("http_client: POST sends the body with a Content-Length", "[http_client]")
{
    idp_server idp;
    hc::client c;
    auto o = get(idp.url("/introspect"));
    o.method = "POST";
    o.body = "token=abc&x=y%20z";
    o.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    auto r = fetch(c, o);
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    auto seen = idp.last_request("/introspect");
    REQUIRE(seen);
    CHECK(seen->form.at("token") == "abc");
    CHECK(seen->form.at("x") == "y z");
    CHECK(seen->headers.at("content-length") == "17");
}

TEST_CASE("http_client: URL errors", "[http_client]")
{
    hc::client c;
    CHECK(fetch(c, get("not a url")).error() == hc::error::bad_url);
    CHECK(fetch(c, get("ftp://127.0.0.1/x")).error() == hc::error::unsupported_scheme);
    CHECK(fetch(c, get("http:///nohost")).error() == hc::error::bad_url);
    CHECK(fetch(c, get("http://user:pw@127.0.0.1/")).error() == hc::error::bad_url);
}

TEST_CASE("http_client: refused connection is connect_failed", "[http_client]")
{
    idp_server idp;
    idp.stop_listening();
    hc::client c;
    auto r = fetch(c, get(idp.url("/jwks")));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == hc::error::connect_failed);
    CHECK(hc::is_connection_failure(r.error()));
    idp.start_listening();
    CHECK(fetch(c, get(idp.url("/jwks"))).has_value());
}

TEST_CASE("http_client: a reset before the answer is connection_closed", "[http_client]")
{
    idp_server idp;
    idp.drop_next_connections(1);
    hc::client c;
    auto r = fetch(c, get(idp.url("/jwks")));
    REQUIRE_FALSE(r.has_value());
    // The reset may race the connect's completion, so either code is right.
    CHECK((r.error() == hc::error::connection_closed || r.error() == hc::error::connect_failed));
    CHECK(hc::is_connection_failure(r.error()));
}

TEST_CASE("http_client: read_timeout is a total deadline", "[http_client]")
{
    idp_server idp;
    idp.set_delay(800ms);
    hc::client c;
    auto o = get(idp.url("/jwks"));
    o.read_timeout = 150ms;
    auto start = std::chrono::steady_clock::now();
    auto r = fetch(c, o);
    auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == hc::error::timeout);
    CHECK_FALSE(hc::is_connection_failure(r.error()));
    CHECK(took < 700ms);
}

TEST_CASE("http_client: responses above max_response_bytes fail", "[http_client]")
{
    idp_server idp;
    idp.set_jwks_body(std::string(5000, 'x'));
    hc::client c;
    auto o = get(idp.url("/jwks"));
    o.max_response_bytes = 1000;
    auto r = fetch(c, o);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == hc::error::too_large);
    o.max_response_bytes = 10000;
    CHECK(fetch(c, o).has_value());
}

TEST_CASE("http_client: Basic credentials", "[http_client]")
{
    idp_server idp;
    idp.require_basic("client", "s3cr:et");
    hc::client c;
    auto o = get(idp.url("/jwks"));
    auto r = fetch(c, o);
    REQUIRE(r.has_value());
    CHECK(r->status == 401);
    o.basic = hc::basic_credentials{"client", "s3cr:et"};
    o.headers.emplace_back("Authorization", "Bearer ignored");
    r = fetch(c, o);
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    CHECK(hc::basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("http_client: HTTPS verification", "[http_client][tls]")
{
    idp_server idp({.tls = true});
    hc::client c;
    auto o = get(idp.url("/jwks"));

    SECTION("an untrusted certificate fails with verification on")
    {
        auto r = fetch(c, o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == hc::error::tls_failed);
    }
    SECTION("the CA file makes it trusted")
    {
        o.tls.ca_file = test_pki::get().ca_file;
        auto r = fetch(c, o);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
    }
    SECTION("CA PEM text, and a DNS host name checked against the SAN")
    {
        o.tls.ca_pem = test_pki::get().ca_cert_pem;
        o.url = "https://localhost:" + std::to_string(idp.port()) + "/jwks";
        auto r = fetch(c, o);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
    }
    SECTION("verification off accepts it")
    {
        o.tls.verify = false;
        auto r = fetch(c, o);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
    }
    SECTION("a missing CA file is a configuration error")
    {
        o.tls.ca_file = "/nonexistent/ca.pem";
        CHECK(c.prepare_tls(o.tls) == hc::error::tls_config);
        CHECK(fetch(c, o).error() == hc::error::tls_config);
    }
}

TEST_CASE("http_client: TLS contexts are cached per option set", "[http_client][tls]")
{
    idp_server idp({.tls = true});
    hc::client c;
    auto o = get(idp.url("/jwks"));
    o.tls.ca_file = test_pki::get().ca_file;
    REQUIRE(fetch(c, o).has_value());
    REQUIRE(fetch(c, o).has_value());
    CHECK(c.tls_context_count() == 1);
    o.tls.verify = false;
    REQUIRE(fetch(c, o).has_value());
    CHECK(c.tls_context_count() == 2);
}

TEST_CASE("http_client: mTLS client certificate", "[http_client][tls]")
{
    idp_server idp({.tls = true, .require_client_cert = true});
    hc::client c;
    auto o = get(idp.url("/jwks"));
    o.tls.ca_file = test_pki::get().ca_file;

    SECTION("without a certificate the server refuses")
    {
        auto r = fetch(c, o);
        // TLS 1.3 reports the refusal after the client's handshake, so the
        // failure may surface while reading.
        CHECK_FALSE(r.has_value());
    }
    SECTION("certificate and key files")
    {
        o.tls.client_cert_file = test_pki::get().client_cert_file;
        o.tls.client_key_file = test_pki::get().client_key_file;
        auto r = fetch(c, o);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
    }
    SECTION("certificate and key PEM text")
    {
        o.tls.client_cert_pem = test_pki::get().client_cert_pem;
        o.tls.client_key_pem = test_pki::get().client_key_pem;
        auto r = fetch(c, o);
        REQUIRE(r.has_value());
        CHECK(r->status == 200);
    }
    SECTION("a certificate without its key is a configuration error")
    {
        o.tls.client_cert_pem = test_pki::get().client_cert_pem;
        CHECK(fetch(c, o).error() == hc::error::tls_config);
    }
}
