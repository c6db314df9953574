// What the gateway changes on the way upstream: the request-target (Kong's
// strip_path / service path rules), Host, X-Forwarded-*, X-Real-IP and the
// consumer headers. Pure functions over http::fields, unit-tested alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <countersign/config/gateway_config.hpp>
#include <countersign/core/beast.hpp>

namespace countersign::proxy {

/// The upstream path for a request path (without query), following Kong's
/// `path_handling` v0 (default) and v1 rules. `matched_prefix` is what the
/// router matched (a prefix, or the text a regex path matched).
std::string upstream_path(std::string_view service_path, const config::route_config& route,
                          std::string_view request_path, std::string_view matched_prefix);

/// The upstream request-target: upstream_path plus the original query.
std::string upstream_target(const config::service_config& service, const config::route_config& route,
                            std::string_view request_target, std::string_view matched_prefix);

/// The Host header to send: the client's when `preserve_host`, else the
/// service host with the port unless it is the scheme's default.
std::string upstream_host(const config::service_config& service, const config::route_config& route,
                          std::string_view client_host);

/// Facts about the downstream connection for the X-Forwarded-* headers.
struct forwarded_info {
    std::string_view client_ip;
    std::uint16_t server_port = 0;      ///< listener port
    bool tls = false;                   ///< downstream scheme https
    std::string_view host;              ///< client Host header (may carry a port)
    std::string_view request_path;      ///< original path, no query
    std::string_view stripped_prefix;   ///< non-empty when strip_path removed it
    bool trusted = false;               ///< node.trust_forwarded_headers
};

/// Sets X-Forwarded-For/-Proto/-Host/-Port/-Path/-Prefix and X-Real-IP.
/// Untrusted peers: every value comes from the connection (client copies are
/// overwritten). Trusted peers: X-Forwarded-For is appended to and the other
/// incoming values are kept, as Kong does for `trusted_ips`.
void set_forwarded_headers(http::fields& fields, const forwarded_info& info);

/// Removes every client copy of the consumer headers (X-Consumer-ID,
/// X-Consumer-Custom-ID, X-Consumer-Username, X-Consumer-Groups,
/// X-Credential-Identifier, X-Anonymous-Consumer), in one walk.
void clear_consumer_headers(http::fields& fields);

/// Sets the consumer headers Kong sends once a consumer is authenticated.
void set_consumer_headers(http::fields& fields, const config::consumer_config& consumer,
                          std::string_view credential_id);

/// Host without port, lower case ("Example.COM:8000" -> "example.com").
std::string normalize_host(std::string_view host);

}  // namespace countersign::proxy
