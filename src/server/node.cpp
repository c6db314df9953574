#include <countersign/server/node.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/context.hpp>

#include <spdlog/spdlog.h>

#include "http_io.hpp"
#include "worker.hpp"

namespace countersign::server {

namespace ssl = boost::asio::ssl;
using detail::worker;

class node::impl {
public:
    impl(node& owner, runtime_ptr initial, const config::node_config& settings)
        : owner_(owner), settings_(settings), runtime_(std::move(initial))
    {
    }

    node& owner_;
    config::node_config settings_;
    std::atomic<runtime_ptr> runtime_;
    node_stats stats_;

    net::io_context control_{1};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> control_guard_;
    std::thread control_thread_;
    // The proxy acceptors have a thread of their own, so slow admin work on
    // the control thread (key generation on rotate, fetching a URL keyset,
    // parsing a reload) never delays accepting proxy connections.
    net::io_context accept_{1};
    std::optional<net::executor_work_guard<net::io_context::executor_type>> accept_guard_;
    std::thread accept_thread_;
    std::atomic<bool> acceptors_closed_{false};
    std::unique_ptr<ssl::context> server_tls_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
    std::vector<detail::listener_info> listener_infos_;
    std::optional<net::signal_set> signals_;
    std::vector<std::function<void()>> on_stopping_;
    std::mutex callbacks_mutex_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> started_{false};
    bool graceful_ = true;
    std::size_t next_worker_ = 0;
    std::chrono::steady_clock::time_point last_full_warning_{};

    net::awaitable<void> accept_loop(tcp::acceptor& acceptor, detail::listener_info li)
    {
        for (;;) {
            // The next worker with room (max_connections per worker); when
            // every worker is full the connection is accepted and closed at
            // once, so the listen queue does not fill up with waiting clients.
            worker* target = nullptr;
            for (std::size_t tries = 0; tries < workers_.size() && !target; ++tries) {
                auto* candidate = workers_[next_worker_++ % workers_.size()].get();
                if (candidate->open_connections.load(std::memory_order_relaxed) < settings_.max_connections)
                    target = candidate;
            }
            auto& w = target ? *target : *workers_[next_worker_ % workers_.size()];
            auto [ec, socket] = co_await acceptor.async_accept(w.ioc, detail::use_tuple);
            if (ec == net::error::operation_aborted || !acceptor.is_open())
                co_return;
            if (ec) {
                // EMFILE and friends: log, back off briefly, keep serving.
                spdlog::error("accept on port {}: {}", li.port, ec.message());
                net::steady_timer t(accept_);
                t.expires_after(std::chrono::milliseconds(50));
                co_await t.async_wait(detail::use_tuple);
                continue;
            }
            if (stopping_) {
                error_code ignored;
                socket.close(ignored);
                co_return;
            }
            if (!target && w.open_connections.load(std::memory_order_relaxed) >= settings_.max_connections) {
                ++stats_.connections_rejected;
                const auto now = std::chrono::steady_clock::now();
                if (now - last_full_warning_ > std::chrono::seconds(10)) {
                    last_full_warning_ = now;
                    spdlog::warn("max_connections ({} per worker) reached: closing new connections",
                                 settings_.max_connections);
                }
                error_code ignored;
                socket.close(ignored);
                continue;
            }
            detail::spawn_session(w, std::move(socket), li);
        }
    }

    // Runs on the control thread.
    net::awaitable<void> drain()
    {
        // Acceptors belong to the accept thread: close them there and wait.
        net::post(accept_, [this] {
            for (auto& a : acceptors_) {
                error_code ignored;
                a->close(ignored);
            }
            acceptors_closed_ = true;
        });
        net::steady_timer t(control_);
        while (!acceptors_closed_) {
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(detail::use_tuple);
        }
        std::vector<std::function<void()>> callbacks;
        {
            std::lock_guard lock(callbacks_mutex_);
            callbacks = on_stopping_;
        }
        for (auto& cb : callbacks) {
            try {
                cb();
            } catch (const std::exception& e) {
                spdlog::error("on_stopping callback: {}", e.what());
            }
        }
        for (auto& w : workers_)
            net::post(w->ioc, [wp = w.get()] { wp->begin_stop(); });

        spdlog::info("shutting down: draining {} connection(s), at most {} ms", stats_.connections_active.load(),
                     settings_.shutdown_timeout.count());
        auto deadline = std::chrono::steady_clock::now() + settings_.shutdown_timeout;
        while (stats_.connections_active > 0 && std::chrono::steady_clock::now() < deadline) {
            t.expires_after(std::chrono::milliseconds(20));
            co_await t.async_wait(detail::use_tuple);
        }
        if (stats_.connections_active > 0) {
            graceful_ = false;
            spdlog::warn("shutdown timeout: closing {} connection(s)", stats_.connections_active.load());
            for (auto& w : workers_)
                net::post(w->ioc, [wp = w.get()] { wp->close_all(); });
            auto hard = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            while (stats_.connections_active > 0 && std::chrono::steady_clock::now() < hard) {
                t.expires_after(std::chrono::milliseconds(20));
                co_await t.async_wait(detail::use_tuple);
            }
        }
        for (auto& w : workers_)
            net::post(w->ioc, [wp = w.get()] {
                wp->pool.close_all();
                wp->ioc.stop();
            });
        if (signals_) {
            error_code ignored;
            signals_->cancel(ignored);
        }
        accept_guard_.reset();
        accept_.stop();
        control_guard_.reset();
        control_.stop();
    }

    void request_stop()
    {
        if (!started_ || stopping_.exchange(true))
            return;
        net::co_spawn(control_, drain(), [](std::exception_ptr ep) {
            if (!ep)
                return;
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                spdlog::error("shutdown failed: {}", e.what());
            }
        });
    }
};

node::node(runtime_ptr initial, const config::node_config& settings)
    : impl_(std::make_unique<impl>(*this, std::move(initial), settings))
{
}

node::~node()
{
    if (impl_->started_) {
        request_stop();
        wait();
    }
}

boost::system::result<void> node::start()
{
    auto& m = *impl_;
    if (m.started_)
        return boost::system::result<void>();
    const auto& s = m.settings_;

    bool any_tls = std::any_of(s.proxy_listen.begin(), s.proxy_listen.end(),
                               [](const config::listen_address& a) { return a.ssl; });
    if (any_tls) {
        m.server_tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
        error_code ec;
        m.server_tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                                   ec);
        if (s.ssl_cert.empty() || s.ssl_cert_key.empty()) {
            last_error_ = "ssl proxy_listen requires ssl_cert and ssl_cert_key";
            return net::error::invalid_argument;
        }
        m.server_tls_->use_certificate_chain_file(s.ssl_cert, ec);
        if (ec) {
            last_error_ = "ssl_cert " + s.ssl_cert + ": " + ec.message();
            return ec;
        }
        m.server_tls_->use_private_key_file(s.ssl_cert_key, ssl::context::pem, ec);
        if (ec) {
            last_error_ = "ssl_cert_key " + s.ssl_cert_key + ": " + ec.message();
            return ec;
        }
    }

    unsigned n = std::max(1u, s.workers);
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<worker>(*this, m.settings_);
        w->server_tls = m.server_tls_.get();
        w->stats = &m.stats_;
        m.workers_.push_back(std::move(w));
    }

    for (const auto& la : s.proxy_listen) {
        error_code ec;
        auto addr = net::ip::make_address(la.address, ec);
        if (ec) {
            last_error_ = "proxy_listen " + la.text + ": invalid address";
            m.acceptors_.clear();
            m.workers_.clear();
            return ec;
        }
        auto acc = std::make_unique<tcp::acceptor>(m.accept_);
        tcp::endpoint ep(addr, la.port);
        acc->open(ep.protocol(), ec);
        if (!ec)
            acc->set_option(net::socket_base::reuse_address(true), ec);
        if (!ec && addr.is_v6())
            acc->set_option(net::ip::v6_only(true), ec);
        if (!ec)
            acc->bind(ep, ec);
        if (!ec)
            acc->listen(net::socket_base::max_listen_connections, ec);
        if (ec) {
            last_error_ = "proxy_listen " + la.text + ": " + ec.message();
            m.acceptors_.clear();
            m.workers_.clear();
            return ec;
        }
        m.listener_infos_.push_back({acc->local_endpoint().port(), la.ssl});
        m.acceptors_.push_back(std::move(acc));
    }

    m.control_guard_.emplace(m.control_.get_executor());
    m.accept_guard_.emplace(m.accept_.get_executor());
    m.signals_.emplace(m.control_, SIGINT, SIGTERM);
    m.signals_->async_wait([this](error_code ec, int sig) {
        if (ec)
            return;
        spdlog::info("received signal {}, shutting down", sig);
        request_stop();
    });
    m.started_ = true;

    for (std::size_t i = 0; i < m.acceptors_.size(); ++i) {
        net::co_spawn(m.accept_, m.accept_loop(*m.acceptors_[i], m.listener_infos_[i]),
                      [](std::exception_ptr ep) {
                          if (!ep)
                              return;
                          try {
                              std::rethrow_exception(ep);
                          } catch (const std::exception& e) {
                              spdlog::error("acceptor stopped: {}", e.what());
                          }
                      });
    }
    for (auto& w : m.workers_) {
        w->guard.emplace(w->ioc.get_executor());
        w->thread = std::thread([wp = w.get()] {
            for (;;) {
                try {
                    wp->ioc.run();
                    break;
                } catch (const std::exception& e) {
                    spdlog::error("worker: {}", e.what());
                }
            }
        });
    }
    m.control_thread_ = std::thread([&m] {
        for (;;) {
            try {
                m.control_.run();
                break;
            } catch (const std::exception& e) {
                spdlog::error("control thread: {}", e.what());
            }
        }
    });
    m.accept_thread_ = std::thread([&m] {
        for (;;) {
            try {
                m.accept_.run();
                break;
            } catch (const std::exception& e) {
                spdlog::error("accept thread: {}", e.what());
            }
        }
    });
    for (std::size_t i = 0; i < m.listener_infos_.size(); ++i)
        spdlog::info("proxy listening on {}{}", s.proxy_listen[i].address + ":" +
                                                     std::to_string(m.listener_infos_[i].port),
                     m.listener_infos_[i].tls ? " (ssl)" : "");
    return boost::system::result<void>();
}

net::io_context& node::control_context()
{
    return impl_->control_;
}

std::vector<std::uint16_t> node::bound_ports() const
{
    std::vector<std::uint16_t> ports;
    for (const auto& li : impl_->listener_infos_)
        ports.push_back(li.port);
    return ports;
}

runtime_ptr node::current() const
{
    return impl_->runtime_.load(std::memory_order_acquire);
}

void node::replace(runtime_ptr next)
{
    if (next)
        impl_->runtime_.store(std::move(next), std::memory_order_release);
}

const node_stats& node::stats() const
{
    return impl_->stats_;
}

const config::node_config& node::settings() const
{
    return impl_->settings_;
}

void node::request_stop()
{
    impl_->request_stop();
}

int node::wait()
{
    auto& m = *impl_;
    if (!m.started_)
        return 1;
    for (auto& w : m.workers_)
        if (w->thread.joinable())
            w->thread.join();
    if (m.accept_thread_.joinable())
        m.accept_thread_.join();
    if (m.control_thread_.joinable())
        m.control_thread_.join();
    return m.graceful_ ? 0 : 1;
}

void node::on_stopping(std::function<void()> cb)
{
    std::lock_guard lock(impl_->callbacks_mutex_);
    impl_->on_stopping_.push_back(std::move(cb));
}

}  // namespace countersign::server
