#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace countersign::jose;
using nlohmann::json;

namespace {
std::string b64(std::string_view s) { return base64url_encode(s); }
std::string tok(std::string_view header, std::string_view payload = "{}", std::string_view sig = "sig")
{
    return b64(header) + "." + b64(payload) + "." + b64(sig);
}
error parse_err(std::string_view token, const parse_limits& l = {})
{
    auto r = parse_compact(token, l);
    REQUIRE(!r);
    return static_cast<error>(r.error().value());
}
} // namespace

TEST_CASE("parse_compact splits a well-formed token", "[jose][jws]")
{
    auto t = tok(R"({"alg":"ES256","kid":"k1"})", R"({"sub":"x"})", "abc");
    auto r = parse_compact(t);
    REQUIRE(r);
    CHECK(r->alg_name() == "ES256");
    CHECK(r->kid() == "k1");
    CHECK(r->payload == R"({"sub":"x"})");
    CHECK(r->signature == "abc");
    CHECK(r->signing_input == t.substr(0, t.rfind('.')));
    auto none = parse_compact(tok(R"({"typ":"JWT"})"));
    REQUIRE(none);
    CHECK(none->alg_name().empty());
    CHECK(none->kid().empty());
}

TEST_CASE("parse_compact requires exactly three segments", "[jose][jws][security]")
{
    const auto good = tok(R"({"alg":"HS256"})");
    CHECK(parse_err("") == error::malformed_token);
    CHECK(parse_err("abc") == error::malformed_token);
    CHECK(parse_err("a.b") == error::malformed_token);
    CHECK(parse_err(good + ".") == error::malformed_token);
    CHECK(parse_err(good + ".x") == error::malformed_token);
    CHECK(parse_err(".e30.") == error::malformed_token);
    // JWE compact (5 segments) is not a JWS
    CHECK(parse_err("eyJhbGciOiJkaXIifQ..aXY.Y3Q.dGFn") == error::malformed_token);
    // JSON serialization is not compact
    CHECK(parse_err(R"({"payload":"e30","signatures":[]})") == error::malformed_token);
}

TEST_CASE("parse_compact bounds huge inputs before doing work", "[jose][jws][security]")
{
    const std::string dots(1 << 20, '.');
    auto start = std::chrono::steady_clock::now();
    CHECK(parse_err(dots) == error::too_large);
    CHECK(parse_err(std::string(16385, 'A')) == error::too_large);
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(elapsed < std::chrono::milliseconds(50));
    // within the token limit but with a too-large header
    parse_limits l;
    l.max_header_bytes = 64;
    CHECK(parse_err(tok(R"({"alg":"HS256","x":")" + std::string(100, 'a') + "\"}"), l) == error::too_large);
    // limit is configurable
    l = {};
    l.max_token_bytes = 20;
    CHECK(parse_err(tok(R"({"alg":"HS256"})"), l) == error::too_large);
    // deeply nested header
    CHECK(parse_err(tok(R"({"alg":"HS256","a":)" + std::string(500, '[') + std::string(500, ']') + "}")) ==
          error::too_deep);
}

TEST_CASE("parse_compact is strict about base64url and header JSON", "[jose][jws][security]")
{
    const std::string h = b64(R"({"alg":"HS256"})");
    CHECK(parse_err(h + "=.e30.c2ln") == error::bad_base64);
    CHECK(parse_err(h + ".e30=.c2ln") == error::bad_base64);
    CHECK(parse_err(h + ".e30.c2ln=") == error::bad_base64);
    CHECK(parse_err(h + ".e3 0.c2ln") == error::bad_base64);
    CHECK(parse_err(h + ".e30.c2l+") == error::bad_base64);
    CHECK(parse_err(tok(R"({"alg":"HS256","alg":"none"})")) == error::duplicate_member);
    CHECK(parse_err(tok(R"({"kid":"a","kid":"b","alg":"HS256"})")) == error::duplicate_member);
    CHECK(parse_err(tok(R"(["alg","HS256"])")) == error::bad_json);
    CHECK(parse_err(tok(R"("HS256")")) == error::bad_json);
    CHECK(parse_err(tok(R"({"alg":"HS256",})")) == error::bad_json);
    CHECK(parse_err(tok(R"({"alg":123})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":null})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"HS256","kid":5})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"HS256","kid":{}})")) == error::bad_header);
}

TEST_CASE("crit, b64 and zip are policed", "[jose][jws][security]")
{
    CHECK(parse_err(tok(R"({"alg":"ES256","kid":"k","crit":["x-policy"],"x-policy":1})")) == error::unknown_crit);
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":[]})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":"b64","b64":false})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":["exp"],"exp":1})")) == error::unknown_crit);
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":["alg"]})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":[1]})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":["b64"]})")) == error::bad_header);  // listed, absent
    CHECK(parse_err(tok(R"({"alg":"ES256","crit":["b64","b64"],"b64":true})")) == error::bad_header);
    CHECK(parse_err(tok(R"({"alg":"ES256","b64":false})")) == error::b64_unsupported);  // not critical
    CHECK(parse_err(tok(R"({"alg":"ES256","b64":"false","crit":["b64"]})")) == error::bad_header);
    // b64:false is off by default (JWT use) ...
    const std::string unenc = b64(R"({"alg":"HS256","b64":false,"crit":["b64"]})") + ".$02H.c2ln";
    CHECK(parse_err(unenc) == error::b64_unsupported);
    // ... and supported when enabled
    parse_limits l;
    l.allow_unencoded_payload = true;
    // a '.' inside an unencoded payload makes four segments
    CHECK(parse_err(b64(R"({"alg":"HS256","b64":false,"crit":["b64"]})") + ".$.02H.c2ln", l) ==
          error::malformed_token);
    auto r2 = parse_compact(b64(R"({"alg":"HS256","b64":false,"crit":["b64"]})") + ".$02H.c2ln", l);
    REQUIRE(r2);
    CHECK(r2->payload == "$02H");
    CHECK(r2->signing_input.substr(r2->signing_input.find('.') + 1) == "$02H");
    // b64:true with crit is the default encoding
    CHECK(parse_compact(tok(R"({"alg":"HS256","b64":true,"crit":["b64"]})")).has_value());
    CHECK(parse_err(tok(R"({"alg":"HS256","zip":"DEF"})")) == error::zip_unsupported);
}
