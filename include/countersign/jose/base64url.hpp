#pragma once
// Strict base64url (RFC 4648 §5) without padding, as JOSE requires
// (RFC 7515 §2): only [A-Za-z0-9_-], no '=', no whitespace, length mod 4 != 1,
// and the unused low bits of the last character must be zero.

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace countersign::jose {

std::string base64url_encode(std::string_view bytes);
// Appends to `out` (no clearing); lets callers build "<h>.<p>" without temporaries.
void base64url_encode_append(std::string_view bytes, std::string& out);

boost::system::result<std::string> base64url_decode(std::string_view text);
// Decodes into `out` (cleared first). Returns an error_code (empty on success).
boost::system::error_code base64url_decode_into(std::string_view text, std::string& out);

constexpr std::size_t base64url_encoded_size(std::size_t n) noexcept { return (n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1); }

} // namespace countersign::jose
