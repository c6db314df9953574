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
