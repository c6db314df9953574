// Upstream connections: DNS, connect with retries, TLS with certificate
// verification, and a keep-alive pool of idle connections per target.
//
// One pool per worker: its sockets belong to that worker's io_context, so no
// locking is needed. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <countersign/config/gateway_config.hpp>
#include <countersign/core/beast.hpp>
#include <countersign/core/deadline_stream.hpp>

namespace countersign::proxy {

namespace ssl = boost::asio::ssl;

/// (scheme, host, port) plus the TLS settings that make connections differ.
struct upstream_key {
    std::string scheme;
    std::string host;
    std::uint16_t port = 0;
    bool tls_verify = true;
    std::string ca_certificates;

    static upstream_key of(const config::service_config& s);
    auto tie() const { return std::tie(scheme, host, port, tls_verify, ca_certificates); }
    /// The same fields of a service, in the same order, without copying them.
    static auto tie(const config::service_config& s)
    {
        return std::tie(s.protocol, s.host, s.port, s.tls_verify, s.ca_certificates);
    }
    bool operator<(const upstream_key& o) const { return tie() < o.tie(); }
};

/// One upstream connection, plain or TLS.
class upstream_connection {
public:
    explicit upstream_connection(net::any_io_executor ex) : tcp_(std::make_unique<deadline_stream>(ex)) {}

    deadline_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }
    bool is_tls() const { return tls_ != nullptr; }

    /// Calls f(stream) with the plain or TLS stream.
    template <class F>
    decltype(auto) visit(F&& f)
    {
        if (tls_)
            return f(*tls_);
        return f(*tcp_);
    }

    std::size_t requests = 0;  ///< requests served on this connection
    std::chrono::steady_clock::time_point idle_since;

private:
    friend class upstream_pool;
    std::unique_ptr<deadline_stream> tcp_;                    // before the TLS handshake
    std::unique_ptr<ssl::stream<deadline_stream>> tls_;
};

using upstream_connection_ptr = std::unique_ptr<upstream_connection>;

/// Why a connection could not be obtained.
enum class connect_failure { none, resolve, refused, timeout, tls };

struct acquire_result {
    upstream_connection_ptr conn;
    bool reused = false;
    connect_failure failure = connect_failure::none;
    error_code ec;
    unsigned attempts = 0;
    std::chrono::nanoseconds connect_time{0};
};

class upstream_pool {
public:
    upstream_pool(net::any_io_executor ex, const config::node_config& settings);
    ~upstream_pool();

    /// A pooled connection to the service's target that is still usable,
    /// or null. Synchronous: the usual request needs no coroutine to get one.
    /// With `check_alive`, a connection the upstream closed while it was idle
    /// is found out before use (one peek syscall); without it, the caller
    /// must cope with a dead connection (a request it can send again).
    upstream_connection_ptr take_idle(const config::service_config& service, bool check_alive = true);

    /// A new connection to the service's target (take_idle() is the pooled
    /// way). Connect failures (DNS, refused, connect timeout, TLS handshake)
    /// are retried `service.retries` times; nothing has been sent on the
    /// connection when this returns.
    net::awaitable<acquire_result> acquire(const config::service_config& service);

    /// Returns a connection to the service's target whose last exchange
    /// completed cleanly and that may be kept alive.
    void release(const config::service_config& service, upstream_connection_ptr conn);

    /// Closes every idle connection (shutdown).
    void close_all();

    std::size_t idle_count() const;

private:
    net::awaitable<acquire_result> connect_once(const config::service_config& service, const upstream_key& key);
    ssl::context* tls_context(const upstream_key& key, error_code& ec);
    static bool alive(upstream_connection& c);

    net::any_io_executor ex_;
    const config::node_config& settings_;
    /// Orders keys, and keys against a service's target fields, so that a
    /// lookup by service builds no key (no string copies per request).
    struct key_less {
        using is_transparent = void;
        bool operator()(const upstream_key& a, const upstream_key& b) const { return a.tie() < b.tie(); }
        bool operator()(const upstream_key& a, const config::service_config& b) const
        {
            return a.tie() < upstream_key::tie(b);
        }
        bool operator()(const config::service_config& a, const upstream_key& b) const
        {
            return upstream_key::tie(a) < b.tie();
        }
    };
    std::map<upstream_key, std::list<upstream_connection_ptr>, key_less> idle_;
    std::map<std::pair<bool, std::string>, std::unique_ptr<ssl::context>> tls_contexts_;
};

}  // namespace countersign::proxy
