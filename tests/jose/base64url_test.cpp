#include "countersign/jose/base64url.hpp"
#include "countersign/jose/error.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jose;

TEST_CASE("base64url encodes RFC 4648 vectors without padding", "[jose][base64url]")
{
    CHECK(base64url_encode("") == "");
    CHECK(base64url_encode("f") == "Zg");
    CHECK(base64url_encode("fo") == "Zm8");
    CHECK(base64url_encode("foo") == "Zm9v");
    CHECK(base64url_encode("foob") == "Zm9vYg");
    CHECK(base64url_encode("fooba") == "Zm9vYmE");
    CHECK(base64url_encode("foobar") == "Zm9vYmFy");
    CHECK(base64url_encode(std::string("\xfb\xff\xfe", 3)) == "-__-");
}

TEST_CASE("base64url round-trips every length and byte", "[jose][base64url]")
{
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        auto enc = base64url_encode(bytes);
        CHECK(enc.size() == base64url_encoded_size(bytes.size()));
        auto dec = base64url_decode(enc);
        REQUIRE(dec);
        CHECK(*dec == bytes);
        bytes.push_back(static_cast<char>(i * 37 + 11));
    }
}

TEST_CASE("base64url decoding is strict", "[jose][base64url][security]")
{
    const auto bad = [](std::string_view s) {
        auto r = base64url_decode(s);
        return !r && r.error() == error::bad_base64;
    };
    CHECK(bad("Zg=="));      // padding
    CHECK(bad("Zg="));
    CHECK(bad("Zm9v="));
    CHECK(bad("Zm9+"));      // standard alphabet
    CHECK(bad("Zm9/"));
    CHECK(bad("Zm 9v"));     // whitespace
    CHECK(bad(" Zm9v"));
    CHECK(bad("Zm9v\n"));
    CHECK(bad("Zm9?"));
    CHECK(bad("Zm9#"));
    CHECK(bad("Z"));         // length mod 4 == 1
    CHECK(bad("Zm9vY"));
    CHECK(bad("Zh"));        // non-canonical: unused low bits set ("Zg" is canonical)
    CHECK(bad("Zm9"));       // "Zm8" is canonical
    CHECK(bad("AB"));        // Wycheproof tcId 374 payload
    CHECK(bad(std::string("Zm\0v", 4)));
    CHECK(bad("Zm9v\xc3\xa9"));
    CHECK(base64url_decode("Zg").value() == "f");
    CHECK(base64url_decode("Zm8").value() == "fo");
    CHECK(base64url_decode("").value().empty());
}
