#include <countersign/core/percent.hpp>

#include <catch2/catch.hpp>

using namespace countersign;

TEST_CASE("percent_decode keeps malformed escapes, strict rejects them", "[core][percent]")
{
    CHECK(percent_decode("a%2Fb%41") == "a/bA");
    CHECK(percent_decode("a+b") == "a+b");
    CHECK(percent_decode("a+b", true) == "a b");
    CHECK(percent_decode("bad%zz%4%") == "bad%zz%4%");

    CHECK(percent_decode_strict("x%3Dy+z", true) == std::optional<std::string>("x=y z"));
    CHECK_FALSE(percent_decode_strict("%"));
    CHECK_FALSE(percent_decode_strict("%4"));
    CHECK_FALSE(percent_decode_strict("a%zzb"));
    CHECK(hex_digit_value('f') == 15);
    CHECK(hex_digit_value('G') == -1);
}
