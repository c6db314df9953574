// Kong-style error bodies for responses the gateway produces itself.
#pragma once

#include <string>
#include <string_view>

namespace countersign::proxy {

/// `{"message":"..."}` with `message` JSON-escaped.
std::string kong_error_body(std::string_view message);

/// Kong's wording for the statuses the proxy produces: 400 "Bad request",
/// 404 "no Route matched with those values", 405 "Method not allowed",
/// 408 "Request timeout", 413 "Request size limit exceeded",
/// 431 "Request header fields too large", 500 "An unexpected error occurred",
/// 502 "An invalid response was received from the upstream server",
/// 503 "The upstream server is currently unavailable",
/// 504 "The upstream server is timed out", 505 "HTTP version not supported".
std::string_view default_message(unsigned status);

}  // namespace countersign::proxy
