#pragma once
// Finding a token in the request headers (reference §1.1, §3.1 steps 1-2,
// §3.2). `<t>_request_header` is parsed once at load into a token_location;
// per request the extractor reads the header through a small getter, so the
// plugin can adapt Beast's fields (or anything else) without this code
// depending on Beast.

#include "countersign/config/config_error.hpp"
#include "countersign/jwt_signer/error.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::jwt_signer {

/// Returns the (first) value of a request header by case-insensitive name,
/// or nullopt when the request has no such header. The view must stay valid
/// until the extractor returns (the extractor copies the token).
using header_getter = std::function<std::optional<std::string_view>(std::string_view name)>;

/// The `:Bearer` / `:Basic` suffix of a configured header name.
enum class auth_scheme { none, bearer, basic };

/// A parsed `<t>_request_header`.
struct token_location {
    std::string header_name;              ///< e.g. "Authorization"; empty = not configured
    auth_scheme scheme = auth_scheme::none;  ///< from the suffix; ignored on input unless strict

    bool configured() const noexcept { return !header_name.empty(); }
};

/// Parses a `<t>_request_header` value: "Authorization", "Authorization:Bearer",
/// "authorization:basic", "X-JWT-channel-client". The suffix is matched
/// case-insensitively. An empty string gives an unconfigured location.
/// Returns nullopt (and sets `*error`) for an unknown suffix or a name that
/// is not an HTTP token (RFC 9110 tchar).
std::optional<token_location> parse_token_location(std::string_view configured,
                                                   std::string* error = nullptr);

/// Settings of one token slot.
struct extractor_options {
    token_kind kind = token_kind::access;
    bool optional = false;               ///< <t>_optional
    std::size_t max_token_bytes = 8192;  ///< longer tokens are `too_large` (countersign extension)
    /// Countersign extension, off by default (Kong ignores the suffix on
    /// input): when on and the location has a scheme suffix, the value must
    /// start with that scheme.
    bool strict_scheme = false;
};

/// The result of one extraction.
struct extraction {
    auth_status status;      ///< ok, or missing / malformed / too_large / header_not_configured
    std::string token;       ///< the token (scheme stripped, trimmed) when `present`
    bool present = false;    ///< false with an ok status = absent and allowed (optional / not looked for)
};

/// Extracts one slot's token. Immutable after construction; thread-safe.
///
/// Rules:
/// - no header configured: the channel token is not looked for (ok, absent;
///   countersign follows Kong's documented intent, not its 500); the access
///   token gives ok/absent when optional, else `header_not_configured`;
/// - header absent, empty or only whitespace: ok/absent when optional, else
///   `missing`;
/// - a leading `Bearer` or `Basic` scheme (any case) followed by whitespace
///   is stripped; the rest is trimmed of spaces and tabs. A bare token (no
///   scheme) is used as is. Basic values are NOT base64-decoded (Kong);
/// - `malformed` (even when optional): a scheme with no token after it,
///   whitespace inside the token (e.g. another scheme such as "Digest x"),
///   control or non-ASCII bytes, or with strict_scheme the wrong scheme;
/// - `too_large`: the token is longer than `max_token_bytes`.
class token_extractor {
public:
    token_extractor(token_location location, extractor_options options);

    /// Reads `<t>_request_header`, `<t>_optional` under Kong's names from a
    /// plugin `config` object (access default "Authorization", channel
    /// default unset). Problems go to `errors` ("config.<field>").
    static token_extractor from_plugin_config(const nlohmann::json& plugin_config, token_kind kind,
                                              config::error_list* errors = nullptr,
                                              std::size_t max_token_bytes = 8192);

    const token_location& location() const noexcept { return location_; }
    const extractor_options& options() const noexcept { return options_; }

    /// The plugin removes `location().header_name` from the proxied request
    /// after calling this, whatever the result.
    extraction extract(const header_getter& get_header) const;

    /// The same, on an already-read header value (nullopt = header absent).
    extraction extract_value(std::optional<std::string_view> value) const;

private:
    extraction absent(auth_errc code, std::string detail) const;

    token_location location_;
    extractor_options options_;
};

}  // namespace countersign::jwt_signer
