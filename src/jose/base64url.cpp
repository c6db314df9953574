#include "countersign/jose/base64url.hpp"

#include "countersign/jose/error.hpp"

#include <array>
#include <cstdint>

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

} // namespace

void base64url_encode_append(std::string_view bytes, std::string& out)
{
    const std::size_t start = out.size();
    out.resize(start + base64url_encoded_size(bytes.size()));
    char* o = out.data() + start;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    std::size_t i = 0;
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
