#include <countersign/core/text.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace countersign;

TEST_CASE("text: all_visible_ascii agrees with a byte loop for every byte at every offset", "[core][text]")
{
    CHECK(all_visible_ascii(""));
    CHECK(all_visible_ascii("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~!"));
    for (int b = 0; b < 256; ++b) {
        const bool visible = b >= 0x21 && b <= 0x7e;
        for (std::size_t len : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 24u, 31u, 32u, 33u, 40u}) {
            for (std::size_t at = 0; at < len; ++at) {
                std::string s(len, 'A');
                s[at] = static_cast<char>(b);
                INFO("byte " << b << " at " << at << " of " << len);
                CHECK(all_visible_ascii(s) == visible);
            }
        }
    }
}

TEST_CASE("text: ascii_lower folds A-Z only", "[core][text]")
{
    CHECK(ascii_lower("X-Forwarded-For") == "x-forwarded-for");
    CHECK(ascii_lower("Bearer ABC-xyz_09") == "bearer abc-xyz_09");
    CHECK(ascii_lower("\xc3\x89t\xc3\xa9") == "\xc3\x89t\xc3\xa9");  // no locale folding of UTF-8 bytes
    CHECK(ascii_lower("@[`{") == "@[`{");                           // the neighbours of A-Z and a-z
}

TEST_CASE("text: ascii_iequals and trim_ows", "[core][text]")
{
    CHECK(ascii_iequals("X-Forwarded-For", "x-forwarded-for"));
    CHECK_FALSE(ascii_iequals("x-forwarded-fo", "x-forwarded-for"));
    CHECK_FALSE(ascii_iequals("\xc3\x89", "\xc3\xa9"));  // no locale folding
    CHECK(trim_ows(" \t a b\t ") == "a b");
}
