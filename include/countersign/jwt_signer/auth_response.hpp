#pragma once
// Kong's exact HTTP answer for a rejected token (reference §3.3): status,
// JSON body and `WWW-Authenticate: Bearer realm="...", error="...",
// error_description="..."`. Pure: the plugin copies the three values into
// its response.

#include "countersign/jwt_signer/error.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace countersign::jwt_signer {

/// One rejection answer.
struct auth_response {
    unsigned status = 401;          ///< 401, 403 or 500
    std::string body;               ///< `{"message":"Unauthorized"}` etc., exactly as Kong
    std::string www_authenticate;   ///< full header value (no header name)
    std::string error;              ///< the `error` parameter, e.g. "invalid_token"
    std::string error_description;  ///< e.g. "the access token expired"
};

/// The status Kong answers for `e` (200 for `ok`).
unsigned status_for(auth_errc e) noexcept;

/// `error` and `error_description` as Kong writes them for `e`, for the
/// given slot. `source` only matters for the expiry wordings
/// ("... expired" vs "... introspection expired").
std::string error_code_for(auth_errc e);
std::string error_description_for(auth_errc e, token_kind kind,
                                  claim_source source = claim_source::payload);

/// The realm: the plugin's `realm` when set and non-empty, else the request
/// Host without port, lower-cased (nginx `$host`), else "".
std::string resolve_realm(const std::optional<std::string>& configured_realm,
                          std::optional<std::string_view> host_header);

/// Makes `s` safe inside a quoted-string: `"` and `\` are backslash-escaped,
/// CR, LF and every other control character except HTAB are dropped.
std::string quote_escape(std::string_view s);

/// Builds the whole answer. `e` must not be `ok`.
/// Thread-safe; allocates only the returned strings.
auth_response make_auth_response(auth_errc e, token_kind kind, std::string_view realm,
                                 claim_source source = claim_source::payload);

}  // namespace countersign::jwt_signer
