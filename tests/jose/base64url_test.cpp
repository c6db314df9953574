#include "countersign/jose/base64url.hpp"
#include "countersign/jose/error.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string_view>

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

// The decoder has a 16-characters-at-a-time path (SSSE3 on x86-64) and a
// scalar one. Every byte value at every position of inputs that span both
// paths must get the verdict and the bytes of this one-character-at-a-time
// reference.
namespace {
// The alphabet, for the references below (RFC 4648 §5), kept apart from the
// coder's own tables.
constexpr std::string_view reference_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int reference_value(unsigned char c)
{
    const auto at = reference_alphabet.find(static_cast<char>(c));
    return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

std::optional<std::string> reference_decode(std::string_view s)
{
    if (s.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : s) {
        const int v = reference_value(c);
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)  // leftover bits must be zero
        return std::nullopt;
    return out;
}
} // namespace

TEST_CASE("base64url decoding agrees with a reference for every byte at every position", "[jose][base64url][security]")
{
    std::string alphabet_text;
    for (int i = 0; i < 96; ++i)
        alphabet_text.push_back(reference_alphabet[(i * 29 + 7) % 64]);
    std::size_t checked = 0;
    for (std::size_t len : {16u, 17u, 18u, 19u, 20u, 32u, 35u, 48u, 64u, 66u, 80u, 95u}) {
        const std::string base = alphabet_text.substr(0, len);
        for (std::size_t pos = 0; pos < len; ++pos) {
            for (int b = 0; b < 256; ++b) {
                std::string s = base;
                s[pos] = static_cast<char>(b);
                const auto want = reference_decode(s);
                const auto got = base64url_decode(s);
                if (want.has_value() != got.has_value() || (want && *want != *got)) {
                    INFO("len " << len << " pos " << pos << " byte " << b);
                    CHECK(want.has_value() == got.has_value());
                    if (want && got)
                        CHECK(*want == *got);
                }
                ++checked;
            }
        }
    }
    CHECK(checked > 100000);
}

TEST_CASE("base64url encoding agrees with a reference for every length and byte", "[jose][base64url]")
{
    // The encoder has a 12-bytes-at-a-time path (SSSE3 on x86-64) and a
    // scalar one; this reference goes one 6-bit group at a time.
    const auto reference = [](std::string_view bytes) {
        std::string out;
        unsigned acc = 0;
        int bits = 0;
        for (unsigned char c : bytes) {
            acc = (acc << 8) | c;
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                out.push_back(reference_alphabet[(acc >> bits) & 63]);
            }
        }
        if (bits > 0)
            out.push_back(reference_alphabet[(acc << (6 - bits)) & 63]);
        return out;
    };
    std::uint32_t state = 12345;
    for (std::size_t len = 0; len < 200; ++len) {
        for (int round = 0; round < 8; ++round) {
            std::string bytes(len, '\0');
            for (auto& b : bytes) {
                state = state * 1103515245u + 12345u;
                b = static_cast<char>(round == 0 ? 0xff : round == 1 ? 0x00 : (state >> 16) & 0xff);
            }
            const std::string want = reference(bytes);
            if (base64url_encode(bytes) != want) {
                INFO("len " << len << " round " << round);
                CHECK(base64url_encode(bytes) == want);
            }
        }
    }
    // Every 6-bit value at every position of one SIMD block and its tail.
    for (int v = 0; v < 64; ++v) {
        for (std::size_t at = 0; at < 32; ++at) {
            std::string idx(32, '\0');
            idx[at] = static_cast<char>(v);
            // 32 indices -> 24 bytes
            std::string bytes;
            for (std::size_t k = 0; k < 32; k += 4) {
                const unsigned w = (unsigned(idx[k]) << 18) | (unsigned(idx[k + 1]) << 12) |
                                   (unsigned(idx[k + 2]) << 6) | unsigned(idx[k + 3]);
                bytes.push_back(static_cast<char>(w >> 16));
                bytes.push_back(static_cast<char>(w >> 8));
                bytes.push_back(static_cast<char>(w));
            }
            CHECK(base64url_encode(bytes) == reference(bytes));
        }
    }
}
