#include <countersign/proxy/upstream_pool.hpp>

#include <countersign/core/clock.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace countersign::proxy {

namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
}

upstream_key upstream_key::of(const config::service_config& s)
{
    return std::apply([](const auto&... field) { return upstream_key{field...}; }, tie(s));
}

upstream_pool::upstream_pool(net::any_io_executor ex, const config::node_config& settings)
    : ex_(std::move(ex)), settings_(settings)
{
}

upstream_pool::~upstream_pool() = default;

std::size_t upstream_pool::idle_count() const
{
    std::size_t n = 0;
    for (const auto& [k, l] : idle_)
        n += l.size();
    return n;
}

void upstream_pool::close_all()
{
    for (auto& [k, l] : idle_)
        for (auto& c : l) {
            error_code ec;
            c->tcp().socket().close(ec);
        }
    idle_.clear();
}

bool upstream_pool::alive(upstream_connection& c)
{
    // An idle connection must have nothing to read: readable means the peer
    // closed it (EOF) or sent garbage; either way it cannot be reused.
    // One syscall: MSG_DONTWAIT instead of toggling the socket's blocking
    // mode around the peek (three more syscalls per proxied request).
    auto& sock = c.tcp().socket();
    if (!sock.is_open())
        return false;
    char byte;
    for (;;) {
        const auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

void upstream_pool::release(const config::service_config& service, upstream_connection_ptr conn)
{
    if (!conn || conn->requests >= settings_.upstream_keepalive_max_requests)
        return;
    auto it = idle_.find(service);
    if (it == idle_.end())
        it = idle_.emplace(upstream_key::of(service), std::list<upstream_connection_ptr>{}).first;
    auto& list = it->second;
    if (list.size() >= settings_.upstream_keepalive_pool_size)
        return;
    conn->idle_since = coarse_steady_now();
    conn->tcp().expires_never();
    list.push_back(std::move(conn));
}

ssl::context* upstream_pool::tls_context(const upstream_key& key, error_code& ec)
{
    auto id = std::make_pair(key.tls_verify, key.ca_certificates);
    auto it = tls_contexts_.find(id);
    if (it != tls_contexts_.end())
        return it->second.get();
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                     ec);
    if (key.tls_verify) {
        if (key.ca_certificates.empty())
            ctx->set_default_verify_paths(ec);
        else
            ctx->load_verify_file(key.ca_certificates, ec);
        if (ec)
            return nullptr;
        ctx->set_verify_mode(ssl::verify_peer, ec);
    } else {
        ctx->set_verify_mode(ssl::verify_none, ec);
    }
    if (ec)
        return nullptr;
    auto* raw = ctx.get();
    tls_contexts_.emplace(id, std::move(ctx));
    return raw;
}

upstream_connection_ptr upstream_pool::take_idle(const config::service_config& service, bool check_alive)
{
    auto it = idle_.find(service);
    if (it == idle_.end())
        return nullptr;
    auto& list = it->second;
    // Idle ages from the coarse clock: off by a few ms at most.
    const auto now = coarse_steady_now();
    while (!list.empty()) {
        auto conn = std::move(list.back());
        list.pop_back();
        if (now - conn->idle_since >= settings_.upstream_keepalive_idle_timeout)
            continue;  // closed as it goes
        if (check_alive ? alive(*conn) : conn->tcp().socket().is_open())
            return conn;
    }
    return nullptr;
}

net::awaitable<acquire_result> upstream_pool::acquire(const config::service_config& service)
{
    auto key = upstream_key::of(service);
    acquire_result last;
    auto start = std::chrono::steady_clock::now();
    for (unsigned attempt = 0; attempt <= service.retries; ++attempt) {
        last = co_await connect_once(service, key);
        last.attempts = attempt + 1;
        if (last.conn)
            break;
        // A TLS failure (bad certificate) will not heal by retrying.
        if (last.failure == connect_failure::tls)
            break;
    }
    last.connect_time = std::chrono::steady_clock::now() - start;
    co_return last;
}

net::awaitable<acquire_result> upstream_pool::connect_once(const config::service_config& service,
                                                           const upstream_key& key)
{
    acquire_result r;
    auto deadline = std::chrono::steady_clock::now() + service.connect_timeout;

    // DNS: the resolver has no timeout of its own; a timer cancels it.
    auto resolver = std::make_shared<tcp::resolver>(ex_);
    net::steady_timer timer(ex_);
    timer.expires_at(deadline);
    timer.async_wait([resolver](error_code ec) {
        if (!ec)
            resolver->cancel();
    });
    auto [rec, endpoints] =
        co_await resolver->async_resolve(service.host, std::to_string(service.port), use_tuple);
    timer.cancel();
    if (rec) {
        r.ec = rec;
        r.failure = rec == net::error::operation_aborted ? connect_failure::timeout : connect_failure::resolve;
        co_return r;
    }

    auto conn = std::make_unique<upstream_connection>(ex_);
    conn->tcp_->expires_at(deadline);
    error_code cec = beast::error::timeout;
    if (conn->tcp_->begin()) {
        auto [ec, ep] = co_await net::async_connect(conn->tcp_->socket(), endpoints, use_tuple);
        cec = conn->tcp_->end(ec);
    }
    if (cec) {
        r.ec = cec;
        r.failure = cec == beast::error::timeout ? connect_failure::timeout : connect_failure::refused;
        co_return r;
    }
    error_code ignored;
    conn->tcp_->socket().set_option(tcp::no_delay(true), ignored);

    if (service.protocol == "https") {
        error_code ec;
        auto* ctx = tls_context(key, ec);
        if (!ctx) {
            r.ec = ec;
            r.failure = connect_failure::tls;
            co_return r;
        }
        auto tls = std::make_unique<ssl::stream<deadline_stream>>(std::move(*conn->tcp_), *ctx);
        conn->tcp_.reset();
        // SNI, and check the certificate names the host we asked for.
        if (!SSL_set_tlsext_host_name(tls->native_handle(), service.host.c_str())) {
            r.ec = net::error::invalid_argument;
            r.failure = connect_failure::tls;
            co_return r;
        }
        if (key.tls_verify)
            tls->set_verify_callback(ssl::host_name_verification(service.host));
        beast::get_lowest_layer(*tls).expires_at(deadline);
        auto [hec] = co_await tls->async_handshake(ssl::stream_base::client, use_tuple);
        if (hec) {
            r.ec = hec;
            r.failure = hec == beast::error::timeout ? connect_failure::timeout : connect_failure::tls;
            co_return r;
        }
        conn->tls_ = std::move(tls);
    }
    conn->tcp().expires_never();
    r.conn = std::move(conn);
    co_return r;
}

}  // namespace countersign::proxy
