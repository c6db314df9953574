#include <countersign/proxy/hop_by_hop.hpp>

#include <catch2/catch.hpp>

using namespace countersign;

TEST_CASE("hop-by-hop: fixed list and fields named in Connection are removed", "[proxy][hop]")
{
    http::fields f;
    f.set("Connection", "keep-alive, X-Secret-Hop");
    f.insert("Connection", "Foo");
    f.set("Keep-Alive", "timeout=5");
    f.set("TE", "trailers");
    f.set("Trailer", "X-T");
    f.set("Transfer-Encoding", "chunked");
    f.set("Upgrade", "h2c");
    f.set("Proxy-Connection", "keep-alive");
    f.set("Proxy-Authorization", "Basic x");
    f.set("X-Secret-Hop", "1");
    f.set("foo", "2");
    f.set("X-Kept", "3");
    f.set("Content-Length", "10");
    proxy::strip_hop_by_hop(f);
    CHECK(f.count("Connection") == 0);
    CHECK(f.count("Keep-Alive") == 0);
    CHECK(f.count("TE") == 0);
    CHECK(f.count("Trailer") == 0);
    CHECK(f.count("Transfer-Encoding") == 0);
    CHECK(f.count("Upgrade") == 0);
    CHECK(f.count("Proxy-Connection") == 0);
    CHECK(f.count("Proxy-Authorization") == 0);
    CHECK(f.count("X-Secret-Hop") == 0);
    CHECK(f.count("Foo") == 0);
    CHECK(f["X-Kept"] == "3");
    CHECK(f["Content-Length"] == "10");
}

TEST_CASE("hop-by-hop: connection tokens are trimmed and lower-cased", "[proxy][hop]")
{
    http::fields f;
    f.set("Connection", " Close ,,  X-A\t, x-b ");
    auto t = proxy::connection_tokens(f);
    REQUIRE(t.size() == 3);
    CHECK(t[0] == "close");
    CHECK(t[1] == "x-a");
    CHECK(t[2] == "x-b");
}

TEST_CASE("hop-by-hop: Connection naming a protected field is detected", "[proxy][hop]")
{
    for (const char* name : {"Host", "authorization", "Content-Length", "X-Forwarded-For", "X-Real-IP",
                             "X-Consumer-ID", "x-consumer-username", "X-Anonymous-Consumer"}) {
        http::fields f;
        f.set("Connection", std::string("close, ") + name);
        CHECK(proxy::connection_names_protected_field(f));
    }
    http::fields ok;
    ok.set("Connection", "keep-alive, X-Custom");
    CHECK_FALSE(proxy::connection_names_protected_field(ok));
}

TEST_CASE("hop-by-hop: underscore fields are dropped", "[proxy][hop]")
{
    http::fields f;
    f.set("X_Consumer_ID", "evil");
    f.set("X-Consumer-ID", "x");
    f.set("Normal", "1");
    CHECK(proxy::drop_underscore_fields(f) == 1);
    CHECK(f.count("X_Consumer_ID") == 0);
    CHECK(f["X-Consumer-ID"] == "x");
    CHECK(f["Normal"] == "1");
}
