// Error codes of the outbound HTTP(S) client. Every expected failure of a
// request (bad URL, refused connection, timeout, TLS, oversized answer) is
// reported as one of these, never as an exception.
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace countersign::http_client {

enum class error {
    /// The URL does not parse, or has no host.
    bad_url = 1,
    /// The scheme is neither `http` nor `https`.
    unsupported_scheme,
    /// The host name did not resolve.
    resolve_failed,
    /// No TCP connection could be made (refused, unreachable).
    connect_failed,
    /// The connect phase (resolve + TCP + TLS handshake) exceeded `connect_timeout`.
    connect_timeout,
    /// The TLS context could not be built (unreadable CA file, bad client cert or key).
    tls_config,
    /// The TLS handshake failed (untrusted certificate, host name mismatch, ...).
    tls_failed,
    /// The peer closed or reset the connection before any response byte arrived.
    connection_closed,
    /// Sending the request and reading the whole response exceeded `read_timeout`.
    timeout,
    /// The response (headers or body) is larger than `max_response_bytes`.
    too_large,
    /// The response is not valid HTTP/1.1, or broke off in the middle.
    bad_response,
};

const boost::system::error_category& http_client_category() noexcept;
boost::system::error_code make_error_code(error e) noexcept;

/// True for failures that happened before the request could have reached the
/// server (resolve, connect, connect timeout, connection closed before any
/// answer). Callers that retry "on a connection failure" test this.
bool is_connection_failure(const boost::system::error_code& ec) noexcept;

}  // namespace countersign::http_client

namespace boost::system {
template <>
struct is_error_code_enum<countersign::http_client::error> : std::true_type {};
}  // namespace boost::system
