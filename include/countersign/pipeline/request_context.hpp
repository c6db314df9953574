// Per-request state shared by the session and the plugins of one request.
#pragma once

#include <any>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <countersign/config/gateway_config.hpp>
#include <countersign/core/beast.hpp>
#include <countersign/core/clock.hpp>

namespace countersign::pipeline {

class plugin;

/// A response produced by a plugin instead of the upstream's.
struct exit_response {
    unsigned status = 500;
    std::string body;                                   ///< sent as is
    std::string content_type = "application/json; charset=utf-8";
    std::vector<std::pair<std::string, std::string>> headers;
};

struct request_timings {
    std::chrono::steady_clock::time_point received;     ///< header fully read
    std::chrono::nanoseconds access{0};                 ///< all access phases
    std::chrono::nanoseconds upstream_connect{0};
    std::chrono::nanoseconds upstream_response{0};      ///< until upstream header
    std::chrono::nanoseconds total{0};                  ///< set before the log phase
};

struct request_context {
    // What matched.
    const config::gateway_config* config = nullptr;
    const config::service_config* service = nullptr;
    const config::route_config* route = nullptr;

    /// The request header as it will be sent upstream. Plugins may change
    /// headers here during `access`. The session applies routing (upstream
    /// path and Host), hop-by-hop removal and X-Forwarded-* *before* the
    /// access phase, so plugins see the upstream's view.
    http::request_header<>* request = nullptr;

    // Where the request came from.
    std::string client_ip;
    std::uint16_t client_port = 0;
    std::uint16_t server_port = 0;  ///< listener port
    bool tls = false;               ///< client used TLS
    std::string host;               ///< Host header without port, lower case

    // Set by authentication plugins.
    const config::consumer_config* consumer = nullptr;
    std::string credential_id;      ///< what identified the consumer (token id, subject…)
    std::string authenticated_by;   ///< plugin name

    /// Free-form attributes for plugins to share (Kong's kong.ctx.shared).
    std::unordered_map<std::string, std::any> attributes;

    /// Set by a plugin to answer the request itself; the upstream is skipped.
    std::optional<exit_response> exit;

    /// Headers every plugin wants added to the downstream response.
    std::vector<std::pair<std::string, std::string>> downstream_headers;

    /// Correlation id (if any plugin set one), for the access log.
    std::string request_id;

    /// Reads the whole request body (at most `max_bytes`) so a plugin can look
    /// at it; the body is then forwarded from memory. Set by the session.
    std::function<net::awaitable<result<std::string>>(std::size_t max_bytes)> read_body;

    /// Response status sent downstream (for the log phase), 0 until known.
    unsigned status = 0;
    std::uint64_t bytes_sent = 0;
    request_timings timings;

    /// The plugins chosen for this request, in run order (filled by access).
    std::vector<const plugin*> plugins;

    const clock* clk = &clock::system();

    /// Convenience: end the request with Kong's `{"message": "..."}` body.
    void exit_with_message(unsigned status, std::string_view message,
                           std::vector<std::pair<std::string, std::string>> headers = {});
};

}  // namespace countersign::pipeline
