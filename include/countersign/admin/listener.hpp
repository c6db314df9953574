// The admin listener: accepts connections on every `admin_listen` address
// (plain or `ssl`) and serves them with an admin::router, one coroutine per
// connection, keep-alive, bounded request sizes and timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <countersign/config/gateway_config.hpp>
#include <countersign/core/net.hpp>

namespace countersign::admin {

class router;

/// Limits of the admin listener. Admin requests are small; bodies (POST
/// /config) are read into memory, so they are capped.
struct listener_limits {
    std::size_t max_header_bytes = 32 * 1024;
    std::size_t max_body_bytes = 1024 * 1024;
    std::chrono::milliseconds header_timeout{30'000};     ///< first request line + headers
    std::chrono::milliseconds body_timeout{30'000};
    std::chrono::milliseconds keepalive_timeout{60'000};  ///< idle time between requests
    std::size_t keepalive_requests = 1000;

    /// Defaults with the client timeouts of `node` (body size stays 1 MiB).
    static listener_limits from(const config::node_config& node);
};

class listener {
public:
    /// Nothing happens until start(). `ioc` must outlive the listener's
    /// sessions (it is the node's control context). All work runs on one
    /// strand of `ioc`, so any number of threads may run it.
    listener(net::io_context& ioc, const config::node_config& node, std::shared_ptr<const router> routes,
             listener_limits limits);
    listener(net::io_context& ioc, const config::node_config& node, std::shared_ptr<const router> routes);
    ~listener();

    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    /// Loads the TLS certificate (admin_ssl_cert/admin_ssl_cert_key, else
    /// ssl_cert/ssl_cert_key) when an address has `ssl`, binds every
    /// `admin_listen` address and starts accepting. On failure nothing stays
    /// bound and error_message() says which address and why.
    result<void> start();
    const std::string& error_message() const;

    /// Stops accepting and closes idle connections; a request being served
    /// finishes, then its connection closes. Thread-safe, idempotent.
    void stop();

    /// The bound ports, in `admin_listen` order (useful with port 0).
    std::vector<std::uint16_t> ports() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace countersign::admin
