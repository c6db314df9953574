#include "countersign/jose/base64url.hpp"

#include "countersign/jose/error.hpp"

#include <array>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define COUNTERSIGN_B64_SSSE3 1
#endif

namespace countersign::jose {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<std::int8_t, 256> make_table()
{
    std::array<std::int8_t, 256> t{};
    for (auto& v : t)
        v = -1;
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto decode_table = make_table();

#ifdef COUNTERSIGN_B64_SSSE3
// 16 characters to 12 bytes per step with SSSE3 (every x86-64 CPU since
// 2006 has it; checked at run time), after W. Muła's nibble-table method,
// worked out here for the base64url alphabet.
//
// Validity: each high nibble has a class bit (lut_hi); for each low nibble,
// lut_lo holds the classes in which that low nibble is NOT a valid
// character. A character is invalid iff the two share a bit:
//   bit 0  high 2: only '-' (0x2D)       bit 3  high 5: 'P'..'Z', '_' (0x50-5A, 5F)
//   bit 1  high 3: '0'..'9'              bit 4  high 7: 'p'..'z' (0x70-7A)
//   bit 2  high 4, 6: 'A'..'O', 'a'..'o' bit 5  any other high nibble: never valid
// Value: the character plus an offset chosen by its high nibble; '_' shares
// high nibble 5 with 'P'..'Z' and takes slot 13 instead.
// Returns the characters consumed (a multiple of 16); `bad` is set when any
// of them was invalid (the check is made once, after the loop).
__attribute__((target("ssse3"))) std::size_t decode_blocks_ssse3(const unsigned char* p, std::size_t n, char* o,
                                                               bool& bad) noexcept
{
    const __m128i lut_lo = _mm_setr_epi8(0x25, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x21, 0x23, 0x3B,
                                         0x3B, 0x3A, 0x3B, 0x33);
    const __m128i lut_hi = _mm_setr_epi8(0x20, 0x20, 0x01, 0x02, 0x04, 0x08, 0x04, 0x10, 0x20, 0x20, 0x20, 0x20,
                                         0x20, 0x20, 0x20, 0x20);
    const __m128i lut_offset = _mm_setr_epi8(0, 0, 62 - '-', 52 - '0', -'A', -'A', 26 - 'a', 26 - 'a', 0, 0, 0, 0, 0,
                                             63 - '_', 0, 0);
    const __m128i nibble = _mm_set1_epi8(0x0f), underscore = _mm_set1_epi8('_'), slot_bit = _mm_set1_epi8(0x08);
    // (a, b) pairs to a << 6 | b in 16 bits, then pairs of those to 24 bits.
    const __m128i merge_pairs = _mm_set1_epi32(0x01400140), merge_quads = _mm_set1_epi32(0x00011000);
    const __m128i gather = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    __m128i invalid = _mm_setzero_si128();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16, o += 12) {
        const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i hi = _mm_and_si128(_mm_srli_epi32(c, 4), nibble);
        const __m128i lo = _mm_and_si128(c, nibble);
        invalid = _mm_or_si128(invalid, _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi)));
        const __m128i slot = _mm_or_si128(hi, _mm_and_si128(_mm_cmpeq_epi8(c, underscore), slot_bit));
        const __m128i values = _mm_add_epi8(c, _mm_shuffle_epi8(lut_offset, slot));
        const __m128i packed =
            _mm_shuffle_epi8(_mm_madd_epi16(_mm_maddubs_epi16(values, merge_pairs), merge_quads), gather);
        const std::uint64_t first = static_cast<std::uint64_t>(_mm_cvtsi128_si64(packed));
        const std::uint32_t last = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm_srli_si128(packed, 8)));
        std::memcpy(o, &first, 8);
        std::memcpy(o + 8, &last, 4);
    }
    bad = _mm_movemask_epi8(_mm_cmpeq_epi8(invalid, _mm_setzero_si128())) != 0xFFFF;
    return i;
}

// 12 bytes to 16 characters per step with SSSE3 (W. Muła's method): spread
// each 3-byte group over 4 lanes, cut out the four 6-bit indices with two
// multiplies, then turn indices into characters by adding an offset picked
// by range. Reads 16 bytes for each 12 it uses, so it stops 16 bytes before
// the end. Returns the bytes consumed (a multiple of 12).
__attribute__((target("ssse3"))) std::size_t encode_blocks_ssse3(const unsigned char* p, std::size_t n,
                                                               char* o) noexcept
{
    const __m128i spread = _mm_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
    const __m128i mask_ac = _mm_set1_epi32(0x0fc0fc00), mul_ac = _mm_set1_epi32(0x04000040);
    const __m128i mask_bd = _mm_set1_epi32(0x003f03f0), mul_bd = _mm_set1_epi32(0x01000010);
    // Range of each index: 0 for 26..51, 1..12 for 52..63, 13 for 0..25.
    const __m128i above_51 = _mm_set1_epi8(51), below_26 = _mm_set1_epi8(26), thirteen = _mm_set1_epi8(13);
    const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                          '0' - 52, '0' - 52, '0' - 52, '0' - 52, '-' - 62, '_' - 63, 'A', 0, 0);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 12, o += 16) {
        const __m128i in = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), spread);
        const __m128i indices = _mm_or_si128(_mm_mulhi_epu16(_mm_and_si128(in, mask_ac), mul_ac),
                                             _mm_mullo_epi16(_mm_and_si128(in, mask_bd), mul_bd));
        __m128i range = _mm_subs_epu8(indices, above_51);
        range = _mm_or_si128(range, _mm_and_si128(_mm_cmpgt_epi8(below_26, indices), thirteen));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(o),
                         _mm_add_epi8(indices, _mm_shuffle_epi8(offsets, range)));
    }
    return i;
}

bool cpu_has_ssse3() noexcept
{
    // __builtin_cpu_init first: this may run before main, from a static
    // initialiser elsewhere.
    static const bool has = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("ssse3") != 0;
    }();
    return has;
}
#endif

} // namespace

void base64url_encode_append(std::string_view bytes, std::string& out)
{
    const std::size_t start = out.size();
    out.resize(start + base64url_encoded_size(bytes.size()));
    char* o = out.data() + start;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    std::size_t i = 0;
#ifdef COUNTERSIGN_B64_SSSE3
    if (n >= 16 && cpu_has_ssse3()) {
        i = encode_blocks_ssse3(p, n, o);
        o += i / 3 * 4;
    }
#endif
    for (; i + 3 <= n; i += 3) {
        const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        const std::uint32_t v = std::uint32_t{p[i]} << 16;
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
        *o++ = alphabet[(v >> 18) & 63];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
    }
}

std::string base64url_encode(std::string_view bytes)
{
    std::string out;
    base64url_encode_append(bytes, out);
    return out;
}

boost::system::error_code base64url_decode_into(std::string_view text, std::string& out)
{
    out.clear();
    const std::size_t n = text.size();
    if (n % 4 == 1)
        return make_error_code(error::bad_base64);
    out.resize(n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1));
    char* o = out.data();
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0;
    // Branch-free body: every value is below 64, an invalid character maps
    // to -1, so one OR over the whole input tells whether any was invalid.
    unsigned bad = 0;
#ifdef COUNTERSIGN_B64_SSSE3
    if (n >= 16 && cpu_has_ssse3()) {
        bool simd_bad = false;
        i = decode_blocks_ssse3(p, n, o, simd_bad);
        o += i / 4 * 3;
        bad = simd_bad ? 0xC0 : 0;
    }
#endif
    for (; i + 4 <= n; i += 4) {
        const unsigned a = static_cast<unsigned char>(decode_table[p[i]]),
                       b = static_cast<unsigned char>(decode_table[p[i + 1]]),
                       c = static_cast<unsigned char>(decode_table[p[i + 2]]),
                       d = static_cast<unsigned char>(decode_table[p[i + 3]]);
        bad |= a | b | c | d;
        const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        o[0] = static_cast<char>(v >> 16);
        o[1] = static_cast<char>(v >> 8);
        o[2] = static_cast<char>(v);
        o += 3;
    }
    if (bad & 0xC0) {
        out.clear();
        return make_error_code(error::bad_base64);
    }
    const std::size_t rest = n - i;
    if (rest == 2) {
        const int a = decode_table[p[i]], b = decode_table[p[i + 1]];
        // 12 bits carry 8: the low 4 bits of b must be zero (canonical form)
        if ((a | b) < 0 || (b & 0x0f) != 0) {
            out.clear();
            return make_error_code(error::bad_base64);
        }
        *o++ = static_cast<char>((a << 2) | (b >> 4));
    } else if (rest == 3) {
        const int a = decode_table[p[i]], b = decode_table[p[i + 1]], c = decode_table[p[i + 2]];
        // 18 bits carry 16: the low 2 bits of c must be zero
        if ((a | b | c) < 0 || (c & 0x03) != 0) {
            out.clear();
            return make_error_code(error::bad_base64);
        }
        const std::uint32_t v = (std::uint32_t(a) << 12) | (std::uint32_t(b) << 6) | std::uint32_t(c);
        *o++ = static_cast<char>(v >> 10);
        *o++ = static_cast<char>(v >> 2);
    }
    return {};
}

boost::system::result<std::string> base64url_decode(std::string_view text)
{
    std::string out;
    if (auto ec = base64url_decode_into(text, out))
        return ec;
    return out;
}

} // namespace countersign::jose
