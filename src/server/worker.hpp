// Private to src/server: one worker thread's state. Everything here is only
// touched from the worker's own thread (its io_context has one thread).
#pragma once

#include <functional>
#include <list>
#include <optional>
#include <memory>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ssl/context.hpp>

#include <countersign/core/beast.hpp>
#include <countersign/proxy/upstream_pool.hpp>
#include <countersign/server/node.hpp>

namespace countersign::server::detail {

struct listener_info {
    std::uint16_t port = 0;
    bool tls = false;
};

/// A live downstream connection as seen by shutdown.
struct connection_slot {
    std::function<void()> close;  ///< closes the socket (pending I/O completes with an error)
    bool idle = true;             ///< waiting for the next request
};

struct worker {
    worker(node& n, const config::node_config& settings)
        : owner(n), settings(settings), ioc_owner(std::make_unique<net::io_context>(1)), ioc(*ioc_owner),
          pool(ioc.get_executor(), settings)
    {
    }

    ~worker()
    {
        if (thread.joinable())
            thread.join();
        // Idle upstream sockets first, then the io_context (which destroys
        // suspended session frames that still point at this worker).
        guard.reset();
        pool.close_all();
        ioc_owner.reset();
    }

    node& owner;
    const config::node_config& settings;
    std::unique_ptr<net::io_context> ioc_owner;
    net::io_context& ioc;
    proxy::upstream_pool pool;
    boost::asio::ssl::context* server_tls = nullptr;
    node_stats* stats = nullptr;
    /// Client connections of this worker (read by the accept thread to
    /// enforce max_connections).
    std::atomic<std::size_t> open_connections{0};
    std::list<connection_slot*> connections;
    bool stopping = false;
    std::thread thread;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;

    /// Shutdown began: idle keep-alive connections close now, busy ones
    /// after their current response.
    void begin_stop()
    {
        stopping = true;
        for (auto* c : connections)
            if (c->idle)
                c->close();
    }

    /// Drain deadline passed: cut everything.
    void close_all()
    {
        for (auto* c : connections)
            c->close();
        pool.close_all();
    }
};

/// Runs one downstream connection on `w` (co_spawned on w.ioc).
void spawn_session(worker& w, tcp::socket socket, listener_info li);

}  // namespace countersign::server::detail
