// HTTP/1.1 framing validation (security checklist §3.1): everything another
// parser could read differently is rejected before a byte goes upstream.
//
// Two layers:
//  * check_raw_head scans the raw header block, because Beast 1.81 accepts
//    obs-fold and a few other shapes silently;
//  * check_request_head / check_response_head look at the parsed header
//    (Content-Length / Transfer-Encoding / Host / target rules).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <countersign/core/beast.hpp>

namespace countersign::proxy {

enum class framing_error {
    none = 0,
    bare_cr,              ///< CR not followed by LF
    bare_lf,              ///< LF not preceded by CR
    obs_fold,             ///< header line starting with SP/HTAB (H07, H08)
    space_before_colon,   ///< "Name : value" (H08)
    bad_field_name,       ///< empty name, non-tchar byte, missing colon (H10)
    bad_field_value,      ///< NUL or other CTL in a value (H09)
    bad_request_line,     ///< extra spaces, CTLs (H11)
    bad_version,          ///< not HTTP/1.0 or HTTP/1.1 (505)
    bad_target,           ///< not origin-form, fragment, dot segments, encoded NUL/backslash (H11, H13)
    method_not_allowed,   ///< CONNECT, TRACE (405)
    missing_host,         ///< HTTP/1.1 without Host (H12)
    multiple_host,
    bad_host,
    cl_and_te,            ///< both Content-Length and Transfer-Encoding (H01)
    multiple_content_length,  ///< (H04)
    bad_content_length,   ///< not 1*15DIGIT (H05)
    bad_transfer_encoding,    ///< anything but one field equal to "chunked" (H02)
    te_in_http10,         ///< (H03)
    connection_protected, ///< Connection names Host, Authorization, X-Forwarded-*… (§3.3)
};

std::string_view to_string(framing_error e);

/// Downstream status for a request rejected with `e` (400, 405 or 505).
unsigned request_status(framing_error e);

/// Scans a raw header block: the request or status line, the field lines and
/// the terminating empty line, exactly as received (must end in CRLF CRLF).
/// The start line is checked only for requests (`is_request`); Beast checks
/// the status line of responses.
framing_error check_raw_head(std::string_view raw, bool is_request = true);

/// check_raw_head without its line-ending pass, for a block whose line
/// endings check_line_endings has already accepted as it arrived (the
/// session's and the upstream exchange's read_head do): the start line and
/// every field line, and the CRLF CRLF end.
framing_error check_head_lines(std::string_view raw, bool is_request = true);

/// Checks line terminators on a partial header block; lets a reader reject a
/// bare LF before the terminating empty line arrives. `from` is where the
/// previous scan stopped; returns the new offset through `scanned`.
framing_error check_line_endings(std::string_view partial, std::size_t from, std::size_t& scanned);

/// Parsed-request rules. `raw_target` is the request-target as sent.
framing_error check_request_head(const http::request_header<>& req);

/// Upstream response rules (any error means 502 and the connection is discarded).
framing_error check_response_head(const http::response_header<>& res);

/// Parses a Content-Length value: 1 to 15 decimal digits, nothing else.
std::optional<std::uint64_t> parse_content_length(std::string_view v);

}  // namespace countersign::proxy
