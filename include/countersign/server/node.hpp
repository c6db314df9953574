// The proxy node: proxy listeners, worker threads, the current runtime and
// graceful shutdown.
//
// Threading: `workers` threads each run their own io_context; every
// connection lives on one worker for its whole life (one coroutine per
// connection, no strands needed). Accepting is done by one acceptor per
// `proxy_listen` address on its own accept thread, which hands each accepted
// socket to the next worker round-robin. This works with port 0 and on every
// kernel, unlike SO_REUSEPORT per worker. Each worker has its own upstream
// keep-alive pool (sockets are bound to an io_context).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <countersign/config/gateway_config.hpp>
#include <countersign/core/net.hpp>
#include <countersign/server/runtime.hpp>

namespace countersign::server {

struct node_stats {
    std::atomic<std::uint64_t> connections_accepted{0};
    std::atomic<std::uint64_t> connections_active{0};
    std::atomic<std::uint64_t> connections_handled{0};
    std::atomic<std::uint64_t> requests_total{0};
    std::atomic<std::uint64_t> requests_active{0};
    /// Downstream responses by class: [0] = 1xx … [4] = 5xx.
    std::atomic<std::uint64_t> responses_by_class[5]{};
    std::atomic<std::uint64_t> upstream_connections_opened{0};
    std::atomic<std::uint64_t> upstream_connections_reused{0};
    /// Requests sent again on a new connection: the pooled one was dead.
    std::atomic<std::uint64_t> upstream_stale_retries{0};
    std::atomic<std::uint64_t> upstream_errors{0};       ///< 502/504 answered by the gateway
    std::atomic<std::uint64_t> rejected_framing{0};      ///< 400/405/505 from framing checks
    std::atomic<std::uint64_t> connections_rejected{0};  ///< closed at once: max_connections reached
};

class node {
public:
    /// Nothing starts here. `settings` is copied: node settings (listeners,
    /// workers, limits) are not hot-reloadable.
    node(runtime_ptr initial, const config::node_config& settings);
    ~node();
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// Binds every proxy_listen address, loads the TLS certificate for `ssl`
    /// listeners, starts the worker threads and the control thread, and
    /// installs SIGTERM/SIGINT handling. On failure nothing keeps running and
    /// last_error() names the address or file.
    boost::system::result<void> start();

    /// Human-readable reason of the last start() failure.
    const std::string& last_error() const { return last_error_; }

    /// The control io_context (own thread): for the admin listener, extra
    /// signals (SIGHUP) and reload work. Runs from start() to full stop.
    net::io_context& control_context();

    /// Bound ports of the proxy listeners, in proxy_listen order (useful
    /// with port 0).
    std::vector<std::uint16_t> bound_ports() const;

    /// The current config generation (atomic load).
    runtime_ptr current() const;

    /// Atomic swap: new requests use `next`; in-flight requests keep theirs;
    /// keep-alive connections pick it up on their next request.
    void replace(runtime_ptr next);

    const node_stats& stats() const;
    const config::node_config& settings() const;

    /// Like SIGTERM: stop accepting, let in-flight requests finish within
    /// settings.shutdown_timeout, close idle keep-alive connections, stop.
    /// Thread-safe and idempotent.
    void request_stop();

    /// Blocks until fully stopped. Returns 0 after a graceful drain, 1 when
    /// the drain deadline cut connections (or start() was never called).
    int wait();

    /// Called (on the control thread) when shutdown begins.
    void on_stopping(std::function<void()> cb);

    class impl;

private:
    std::unique_ptr<impl> impl_;
    std::string last_error_;
};

}  // namespace countersign::server
