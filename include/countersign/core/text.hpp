// Small ASCII text helpers shared by the HTTP-facing code.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace countersign {

/// ASCII lower-case copy (header names, media types, tokens).
inline std::string ascii_lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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

/// `s` without leading and trailing optional whitespace (SP / HTAB, RFC 9110 OWS).
inline std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

}  // namespace countersign
