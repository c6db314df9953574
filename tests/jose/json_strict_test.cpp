#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

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

TEST_CASE("strict JSON keeps nlohmann's number types", "[jose][json]")
{
    auto r = parse_json_strict(R"([0,-0,7,-7,18446744073709551615,18446744073709551616,-9223372036854775808,
                                  -9223372036854775809,1.5,-2.5e-3,1E2,1e-400])");
    REQUIRE(r);
    const auto& a = *r;
    CHECK(a[0].is_number_unsigned());
    CHECK(a[1].is_number_integer());
    CHECK(a[2].get<std::uint64_t>() == 7);
    CHECK(a[3].get<std::int64_t>() == -7);
    CHECK(a[4].get<std::uint64_t>() == 18446744073709551615ull);
    CHECK(a[5].is_number_float());
    CHECK(a[6].get<std::int64_t>() == INT64_MIN);
    CHECK(a[7].is_number_float());
    CHECK(a[8].get<double>() == 1.5);
    CHECK(a[9].get<double>() == -2.5e-3);
    CHECK(a[10].get<double>() == 100.0);
    CHECK(a[11].get<double>() == 0.0);
    for (std::string_view bad : {"1e400", "-1e400", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.e3", "--1"}) {
        INFO("input: " << bad);
        CHECK(!parse_json_strict(bad));
    }
}

TEST_CASE("strict JSON decodes escapes and validates UTF-8", "[jose][json][security]")
{
    auto r = parse_json_strict(R"(["a\"b\\c\/d\b\f\n\r\t","\u0000","\u00e9\u20ac","\ud83d\ude00","\u00E9"])");
    REQUIRE(r);
    CHECK((*r)[0] == "a\"b\\c/d\b\f\n\r\t");
    CHECK((*r)[1].get<std::string>() == std::string(1, '\0'));
    CHECK((*r)[2] == "\xc3\xa9\xe2\x82\xac");
    CHECK((*r)[3] == "\xf0\x9f\x98\x80");
    CHECK((*r)[4] == "\xc3\xa9");
    CHECK(parse_json_strict("\"\xf4\x8f\xbf\xbf\"").has_value());  // U+10FFFF
    for (std::string_view bad : {"\"\\ude00\"", "\"\\ud83d\"", "\"\\ud83d\\u0041\"", "\"\\u12\"", "\"\\u12g4\"",
                                 "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe0\x80\xaf\"",
                                 "\"\xf0\x80\x80\xaf\"", "\"\x80\"", "\"\xc3\"", "\"abc", "\"\\", "\"\\q\""}) {
        INFO("input: " << bad);
        CHECK(!parse_json_strict(bad));
    }
}

bool has_float(const nlohmann::json& v)
{
    if (v.is_number_float())
        return true;
    if (v.is_structured())
        for (const auto& e : v)
            if (has_float(e))
                return true;
    return false;
}

TEST_CASE("serialize_json writes compact JSON and refuses invalid UTF-8", "[jose][json]")
{
    nlohmann::json v = {{"typ", "JWT"},
                        {"kid", "k\"1\\/\x01\x1f\x7f\t\n\r\b\f"},
                        {"n", -3},
                        {"u", 18446744073709551615ull},
                        {"b", true},
                        {"z", nullptr},
                        {"a", nlohmann::json::array({1, "\xc3\xa9\xf0\x9f\x98\x80", nlohmann::json::object()})},
                        {"e", nlohmann::json::array()}};
    std::string out;
    REQUIRE_FALSE(serialize_json(v, out));
    CHECK(out == v.dump());
    const auto text_of = [](const nlohmann::json& x) {
        std::string t;
        REQUIRE_FALSE(serialize_json(x, t));
        return t;
    };
    CHECK(text_of(1.5) == "1.5");
    CHECK(text_of(100.0) == "100.0");
    CHECK(text_of(-0.25) == "-0.25");
    CHECK(text_of(1893456000.0) == "1893456000.0");
    CHECK(parse_json_strict(text_of(1e300))->get<double>() == 1e300);
    CHECK(parse_json_strict(text_of(0.1))->get<double>() == 0.1);
    CHECK(text_of(std::numeric_limits<double>::quiet_NaN()) == "null");
    CHECK(text_of(std::numeric_limits<double>::infinity()) == "null");
    // appends
    std::string prefix = "x";
    REQUIRE_FALSE(serialize_json(nlohmann::json::array({1}), prefix));
    CHECK(prefix == "x[1]");
    for (std::string bad : {std::string("\xff"), std::string("\xc3"), std::string("\xed\xa0\x80"),
                            std::string("\xc0\xaf")}) {
        std::string t;
        CHECK(serialize_json(nlohmann::json{{"k", bad}}, t) == error::bad_json);
        CHECK(serialize_json(nlohmann::json{{bad, 1}}, t) == error::bad_json);
    }
}

// Differential test: on random mutations of JSON documents the strict parser
// accepts exactly what nlohmann::json::parse accepts (minus duplicate names
// and nesting past the limit, which only the strict parser rejects), and
// both produce the same value.
TEST_CASE("strict JSON agrees with nlohmann on mutated documents", "[jose][json]")
{
    const std::vector<std::string> seeds = {
        R"({"alg":"RS256","typ":"JWT","kid":"k-1"})",
        R"({"iss":"https://idp.example.com/","sub":"248289761001","aud":["a","b"],"exp":1893456000,"nbf":1.5e9})",
        R"([1,-2,3.25,-0.5e-3,1E+2,true,false,null,"x",{},[]])",
        R"({"s":"\u00e9\ud83d\ude00\n\t\"\\\/","u":"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"})",
        R"({"a":{"b":{"c":[{"d":null}]}}})",
        R"(  "plain"  )", "123456789012345678901234567890", "-0", "0.0e0"};
    const std::string alphabet = "{}[]\":,\\ \t\n\r0123456789-+.eEtrufalsn\x01\x7f\x80\xbf\xc2\xe0\xed\xf0\xf4\xff";
    std::mt19937 rng(20261202);
    int compared = 0, accepted = 0;
    for (int i = 0; i < 40000; ++i) {
        std::string s = seeds[rng() % seeds.size()];
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits && !s.empty(); ++e) {
            const std::size_t at = rng() % s.size();
            switch (rng() % 5) {
            case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
            case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), alphabet[rng() % alphabet.size()]); break;
            case 2: s.erase(at, 1); break;
            case 3: s.resize(at); break;
            default: s.insert(at, s.substr(at, rng() % 8)); break;
            }
        }
        auto ours = parse_json_strict(s, 64);
        if (!ours && (ours.error() == error::duplicate_member || ours.error() == error::too_deep))
            continue;
        const auto ref = nlohmann::json::parse(s, nullptr, false);
        INFO("input: " << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
        ++compared;
        if (ours) {
            ++accepted;
            REQUIRE_FALSE(ref.is_discarded());
            REQUIRE(*ours == ref);
            // serialize_json writes what dump() writes, floats aside, and
            // what it writes reads back as the same value.
            std::string text;
            REQUIRE_FALSE(serialize_json(*ours, text));
            if (!has_float(*ours))
                REQUIRE(text == ours->dump());
            auto again = parse_json_strict(text, 64);
            REQUIRE(again);
            REQUIRE(*again == *ours);
        } else if (s.find('\0') == std::string::npos) {
            // nlohmann stops at a NUL byte and may accept what precedes it.
            REQUIRE(ref.is_discarded());
        }
    }
    CHECK(compared > 30000);
    CHECK(accepted > 1000);
}
