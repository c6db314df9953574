// Percent-decoding (RFC 3986 %XX, optionally form-style '+' as space), shared
// by the admin router, the echo plugin and the introspection client.
#pragma once

#include <countersign/core/text.hpp>  // hex_digit_value

#include <optional>
#include <string>
#include <string_view>

namespace countersign {

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`). A malformed
/// escape is kept literally.
std::string percent_decode(std::string_view s, bool plus_is_space = false);

/// As percent_decode, but a malformed escape ("%", "%4", "%zz") is an error.
std::optional<std::string> percent_decode_strict(std::string_view s, bool plus_is_space = false);

}  // namespace countersign
