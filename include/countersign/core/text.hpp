// Small ASCII text helpers shared by the HTTP-facing code.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace countersign {

/// ASCII lower-case copy (header names, media types, tokens); no locale
/// is consulted and bytes outside A-Z are kept as they are.
inline std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

/// ASCII case-insensitive equality (header names, schemes, tokens); no
/// locale is consulted.
inline bool ascii_iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

/// Value of one hex digit, or -1.
inline int hex_digit_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// `s` without leading and trailing optional whitespace (SP / HTAB, RFC 9110 OWS).
inline std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

namespace detail {

// Eight bytes at a time ("SWAR"): tests on a 64-bit word that tell whether
// any of its bytes is below or above a bound. Both are exact as existence
// tests (which byte is not reported).
inline constexpr std::uint64_t swar_ones = 0x0101010101010101ull;
inline constexpr std::uint64_t swar_highs = 0x8080808080808080ull;

inline std::uint64_t load8(const char* p) noexcept
{
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// Any byte < n (0 < n <= 128).
inline bool any_byte_below(std::uint64_t x, unsigned n) noexcept
{
    return ((x - swar_ones * n) & ~x & swar_highs) != 0;
}

/// Any byte > n (n <= 127); every byte >= 0x80 counts as above.
inline bool any_byte_above(std::uint64_t x, unsigned n) noexcept
{
    return (((x + swar_ones * (127 - n)) | x) & swar_highs) != 0;
}

}  // namespace detail

/// True when every byte of `s` is visible ASCII (0x21 to 0x7E): no space,
/// control, DEL or non-ASCII byte. Checks sixteen bytes per step with SSE2,
/// eight elsewhere (a bearer token is hundreds of bytes).
inline bool all_visible_ascii(std::string_view s) noexcept
{
    const char* p = s.data();
    std::size_t n = s.size();
#if defined(__SSE2__)
    // As signed bytes, the visible ones are exactly those > 0x20 and < 0x7F
    // (bytes from 0x80 up are negative).
    const __m128i above_space = _mm_set1_epi8(0x20);
    const __m128i del = _mm_set1_epi8(0x7f);
    for (; n >= 16; p += 16, n -= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i ok = _mm_and_si128(_mm_cmpgt_epi8(x, above_space), _mm_cmplt_epi8(x, del));
        if (_mm_movemask_epi8(ok) != 0xffff)
            return false;
    }
#endif
    for (; n >= 8; p += 8, n -= 8) {
        const auto x = detail::load8(p);
        if (detail::any_byte_below(x, 0x21) || detail::any_byte_above(x, 0x7E))
            return false;
    }
    for (; n > 0; ++p, --n) {
        const auto c = static_cast<unsigned char>(*p);
        if (c < 0x21 || c > 0x7E)
            return false;
    }
    return true;
}

}  // namespace countersign
