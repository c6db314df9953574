#include <countersign/core/percent.hpp>

namespace countersign {

namespace {

// Decodes into `out`; returns false at the first malformed escape when
// `strict`, otherwise keeps such escapes literally.
bool decode(std::string_view s, bool plus_is_space, bool strict, std::string& out)
{
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '+' && plus_is_space) {
            out += ' ';
            continue;
        }
        if (c == '%') {
            const int hi = i + 2 < s.size() ? hex_digit_value(s[i + 1]) : -1;
            const int lo = i + 2 < s.size() ? hex_digit_value(s[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
            if (strict)
                return false;
        }
        out += c;
    }
    return true;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space)
{
    std::string out;
    decode(s, plus_is_space, false, out);
    return out;
}

std::optional<std::string> percent_decode_strict(std::string_view s, bool plus_is_space)
{
    std::string out;
    if (!decode(s, plus_is_space, true, out))
        return std::nullopt;
    return out;
}

}  // namespace countersign
