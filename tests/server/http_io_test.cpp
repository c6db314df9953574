// The flat header writer must produce exactly what Beast's serializer
// writes: the upstream and the client see one or the other depending on the
// path a message takes.
#include "../../src/server/http_io.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace countersign;

namespace {

template <bool IsRequest>
std::string beast_wire(const http::header<IsRequest>& h)
{
    std::ostringstream os;
    os << h;
    return os.str();
}

}  // namespace

TEST_CASE("http_io: serialize_header writes what Beast's serializer writes", "[server][http_io]")
{
    http::request_header<> req;
    req.method(http::verb::post);
    req.target("/api/orders/42?x=1");
    req.version(11);
    req.insert(http::field::host, "upstream.internal:8080");
    req.insert("X-Forwarded-For", "10.0.0.1, 127.0.0.1");
    req.insert("X-Empty", "");
    req.insert("x-lower-case", "v");
    req.insert(http::field::authorization, "Bearer " + std::string(600, 'e'));
    req.set(http::field::host, "replaced.internal");  // erase + insert: a new element
    req.insert("X-Tab", "a\tb");
    std::string out;
    server::detail::serialize_header(req, out);
    CHECK(out == beast_wire(req));

    http::response_header<> res;
    res.result(http::status::ok);
    res.version(11);
    res.insert(http::field::server, "nginx/1.22.1");
    res.insert(http::field::content_length, "2");
    res.insert("X-Custom", "  padded  ");
    out.clear();
    server::detail::serialize_header(res, out);
    CHECK(out == beast_wire(res));

    http::response_header<> empty;
    empty.result(http::status::no_content);
    empty.version(10);
    out.clear();
    server::detail::serialize_header(empty, out);
    CHECK(out == beast_wire(empty));
}
