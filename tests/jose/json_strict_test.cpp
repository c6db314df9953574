#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jose;

namespace {
error err_of(std::string_view text, std::size_t depth = 16)
{
    auto r = parse_json_strict(text, depth);
    REQUIRE(!r);
    return static_cast<error>(r.error().value());
}
} // namespace

TEST_CASE("strict JSON accepts RFC 8259 documents", "[jose][json]")
{
    auto r = parse_json_strict(R"({"a":[1,2.5,-3e2,true,false,null,"\u00e9\ud83d\ude00"],"b":{"c":{}}})");
    REQUIRE(r);
    CHECK((*r)["a"].size() == 7);
    CHECK((*r)["b"]["c"].is_object());
    CHECK(parse_json_strict(" \t\n{}\r\n ").has_value());
    CHECK(parse_json_strict("[]").has_value());
    CHECK(parse_json_strict("\"x\"").has_value());
}

TEST_CASE("strict JSON rejects duplicate member names at any depth", "[jose][json][security]")
{
    CHECK(err_of(R"({"alg":"ES256","alg":"none"})") == error::duplicate_member);
    CHECK(err_of(R"({"kid":"a","kid":"b"})") == error::duplicate_member);
    CHECK(err_of(R"({"sub":"a","x":1,"sub":"a"})") == error::duplicate_member);
    CHECK(err_of(R"({"a":{"exp":1,"exp":2}})") == error::duplicate_member);
    CHECK(err_of(R"([{"aud":"x","aud":["y"]}])") == error::duplicate_member);
    // escaped spelling of the same name is the same name
    CHECK(err_of(R"({"alg":"ES256","\u0061lg":"none"})") == error::duplicate_member);
    // same name in sibling objects is fine
    CHECK(parse_json_strict(R"({"a":{"x":1},"b":{"x":1}})").has_value());
}

TEST_CASE("strict JSON enforces the nesting limit without recursion", "[jose][json][security]")
{
    CHECK(parse_json_strict("[[[[1]]]]", 4).has_value());
    CHECK(err_of("[[[[[1]]]]]", 4) == error::too_deep);
    CHECK(err_of(R"({"a":{"b":{"c":1}}})", 2) == error::too_deep);
    const std::string bomb_arrays = std::string(100000, '[') + std::string(100000, ']');
    CHECK(err_of(bomb_arrays) == error::too_deep);
    std::string bomb_objects;
    for (int i = 0; i < 10000; ++i)
        bomb_objects += "{\"a\":";
    CHECK(err_of(bomb_objects + "1" + std::string(10000, '}')) == error::too_deep);
    const std::string unterminated = std::string(1 << 20, '[');
    CHECK(err_of(unterminated) == error::too_deep);
}

TEST_CASE("strict JSON rejects grammar extensions", "[jose][json][security]")
{
    for (std::string_view bad : {"", "{", "{\"a\":1,}", "[1,]", "{\"a\":NaN}", "{\"a\":Infinity}", "{'a':1}",
                                 "{\"a\":1}/*c*/", "// c\n{}", "{\"a\":01}", "{\"a\":\"\\ud800\"}",
                                 "{\"a\":\"\\x41\"}", "{\"a\":1} {}", "\xef\xbb\xbf{}", "{\"a\":\"\xff\"}",
                                 "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"tab\there\"}", "{a:1}", "[1 2]"}) {
        INFO("input: " << bad);
        auto r = parse_json_strict(bad);
        CHECK(!r);
    }
}
