// One downstream connection: read a request, validate its framing, route it,
// run the access phase, forward it upstream and relay the response; repeat
// while keep-alive holds. One coroutine per connection, on its worker.
#include "worker.hpp"

#include <array>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <spdlog/spdlog.h>

#include <countersign/core/deadline_stream.hpp>
#include <countersign/core/text.hpp>
#include <countersign/pipeline/plugin_set.hpp>
#include <countersign/pipeline/request_context.hpp>
#include <countersign/proxy/error_response.hpp>
#include <countersign/proxy/forwarding.hpp>
#include <countersign/proxy/hop_by_hop.hpp>
#include <countersign/proxy/router.hpp>
#include <countersign/jwt_signer/key_admin.hpp>
#include <countersign/jwt_signer/jwt_signer_services.hpp>
#include <countersign/server/access_log.hpp>

#include "exchange.hpp"
#include "http_io.hpp"

namespace countersign::server::detail {

namespace {

namespace ssl = boost::asio::ssl;
using steady = std::chrono::steady_clock;

class fields_lookup final : public proxy::header_lookup {
public:
    explicit fields_lookup(const http::fields& f) : f_(f) {}
    bool any_value(std::string_view name, const std::function<bool(std::string_view)>& pred) const override
    {
        for (const auto& field : f_)
            if (ascii_iequals(field.name_string(), name) && pred(field.value()))
                return true;
        return false;
    }

private:
    const http::fields& f_;
};

double millis(std::chrono::nanoseconds d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

template <class Stream>
class session {
public:
    // The stream is built here, in place, rather than moved in: a moved
    // stream leaves an empty shell behind in the moved-from object.
    template <class... StreamArgs>
    session(worker& w, listener_info li, std::string client_ip, std::uint16_t client_port,
            StreamArgs&&... stream_args)
        : w_(w), stream_(std::forward<StreamArgs>(stream_args)...), li_(li), client_ip_(std::move(client_ip)),
          client_port_(client_port)
    {
        slot_.close = [this] { tcp().close(); };
        slot_it_ = w_.connections.insert(w_.connections.end(), &slot_);
    }
    ~session() { w_.connections.erase(slot_it_); }

    net::awaitable<void> run()
    {
        if constexpr (!std::is_same_v<Stream, deadline_stream>) {
            tcp().expires_after(w_.settings.client_header_timeout);
            auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, use_tuple);
            if (ec)
                co_return;
        }
        bool first = true;
        while (co_await serve_one(first))
            first = false;
        if constexpr (!std::is_same_v<Stream, deadline_stream>) {
            tcp().expires_after(std::chrono::seconds(1));
            co_await stream_.async_shutdown(use_tuple);
        } else {
            co_await linger_close();
        }
        tcp().close();
    }

private:
    deadline_stream& tcp() { return beast::get_lowest_layer(stream_); }

    /// Lingering close: after a response sent with unread request bytes
    /// pending, closing at once would make the kernel send RST, which can
    /// destroy the response before the client reads it. Half-close, then
    /// discard input for a bounded time and size. A coroutine of its own, so
    /// that its 4 KiB sink is only allocated while closing, not for the
    /// whole life of every connection.
    net::awaitable<void> linger_close()
    {
        error_code ec;
        tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec)
            co_return;
        std::array<char, 4096> sink;
        std::size_t drained = 0;
        tcp().expires_after(std::chrono::seconds(1));
        while (drained < (1u << 20)) {
            auto [rec, n] = co_await tcp().async_read_some(net::buffer(sink), use_tuple);
            if (rec)
                break;
            drained += n;
        }
    }

    /// A response produced by the gateway (errors, plugin exits).
    net::awaitable<std::uint64_t> write_simple(unsigned status, std::string body, std::string_view content_type,
                                               unsigned version, bool keep_alive,
                                               pipeline::request_context* ctx,
                                               const pipeline::plugin_set* plugins,
                                               const std::vector<std::pair<std::string, std::string>>& extra = {})
    {
        // Always an HTTP/1.1 status line (RFC 9110 §6.2: our highest version);
        // a kept-alive HTTP/1.0 client gets an explicit keep-alive token.
        http::response<http::string_body> res{static_cast<http::status>(status), 11u};
        res.set(http::field::server, "countersign/" COUNTERSIGN_VERSION);
        res.set(http::field::content_type, content_type);
        for (const auto& [k, v] : extra)
            res.insert(k, v);
        res.body() = std::move(body);
        res.prepare_payload();
        if (ctx && plugins)
            plugins->run_header_filter(*ctx, res.base());
        if (ctx)
            for (const auto& [k, v] : ctx->downstream_headers)
                res.insert(k, v);
        res.keep_alive(keep_alive);
        if (keep_alive && version == 10)
            res.set(http::field::connection, "keep-alive");
        tcp().expires_after(w_.settings.client_body_timeout);
        auto [ec, n] = co_await http::async_write(stream_, res, use_tuple);
        count_status(status);
        co_return ec ? 0 : res.body().size();
    }

    net::awaitable<std::uint64_t> write_error(unsigned status, unsigned version, bool keep_alive,
                                              pipeline::request_context* ctx = nullptr,
                                              const pipeline::plugin_set* plugins = nullptr)
    {
        co_return co_await write_simple(status, proxy::kong_error_body(proxy::default_message(status)),
                                        "application/json; charset=utf-8", version, keep_alive, ctx, plugins);
    }

    void count_status(unsigned status)
    {
        if (status >= 100 && status < 600)
            w_.stats->responses_by_class[status / 100 - 1]++;
    }

    /// Serves one request. Returns whether the connection stays open.
    net::awaitable<bool> serve_one(bool first)
    {
        const auto& s = w_.settings;
        slot_.idle = true;
        if (w_.stopping)
            co_return false;
        tcp().expires_after(first ? s.client_header_timeout : s.keepalive_timeout);
        auto head = co_await read_head(stream_, buf_, s.max_header_bytes, [&] {
            slot_.idle = false;
            if (!first)
                tcp().expires_after(s.client_header_timeout);
        });
        if (head.framing != proxy::framing_error::none) {
            w_.stats->rejected_framing++;
            co_await write_error(400, 11, false);
            co_return false;
        }
        if (head.too_large) {
            co_await write_error(431, 11, false);
            co_return false;
        }
        if (head.ec) {
            if (head.ec == beast::error::timeout && head.got_bytes)
                co_await write_error(408, 11, false);
            co_return false;
        }
        slot_.idle = false;
        co_return co_await handle(head.length);
    }

    net::awaitable<bool> handle(std::size_t head_length)
    {
        const auto& s = w_.settings;
        auto received = steady::now();
        std::string_view raw(static_cast<const char*>(buf_.data().data()), head_length);
        if (auto e = proxy::check_head_lines(raw); e != proxy::framing_error::none) {
            spdlog::debug("{}:{} rejected: {}", client_ip_, client_port_, proxy::to_string(e));
            w_.stats->rejected_framing++;
            co_await write_error(400, 11, false);
            co_return false;
        }

        http::request_parser<http::buffer_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(head_length + 1));
        if (s.max_body_bytes > 0)
            parser.body_limit(static_cast<std::uint64_t>(s.max_body_bytes));
        else
            parser.body_limit(boost::none);
        error_code ec;
        auto used = parser.put(net::buffer(buf_.data().data(), head_length), ec);
        buf_.consume(used);
        if (ec == http::error::body_limit) {
            co_await write_error(413, 11, false);
            co_return false;
        }
        if (ec || !parser.is_header_done()) {
            w_.stats->rejected_framing++;
            co_await write_error(400, 11, false);
            co_return false;
        }
        auto& req = parser.get();
        if (auto e = proxy::check_request_head(req); e != proxy::framing_error::none) {
            spdlog::debug("{}:{} rejected: {}", client_ip_, client_port_, proxy::to_string(e));
            w_.stats->rejected_framing++;
            co_await write_error(proxy::request_status(e), req.version(), false);
            co_return false;
        }
        proxy::drop_underscore_fields(req);

        ++served_;
        w_.stats->requests_total++;
        w_.stats->requests_active++;
        struct active_guard {
            node_stats* st;
            ~active_guard() { st->requests_active--; }
        } guard{w_.stats};

        exchange_state x{parser, req};
        x.version = req.version();
        x.client_keep_alive = req.keep_alive() && served_ < s.keepalive_requests;
        x.original_target = std::string(req.target());
        x.method = std::string(req.method_string());
        {
            // One walk for the fields the access log and the router read
            // (the first of each, as operator[] gives), not a search each.
            bool ua = false, referer = false, host = false;
            for (const auto& f : req) {
                const auto name = f.name();
                if (name == http::field::user_agent && !ua) {
                    ua = true;
                    x.user_agent = std::string(f.value());
                } else if (name == http::field::referer && !referer) {
                    referer = true;
                    x.referer = std::string(f.value());
                } else if (name == http::field::host && !host) {
                    host = true;
                    x.host_header = std::string(f.value());
                }
            }
        }
        x.rt = w_.owner.current();

        auto& ctx = x.ctx;
        ctx.config = x.rt->config.get();
        ctx.request = &req;
        ctx.client_ip = client_ip_;
        ctx.client_port = client_port_;
        ctx.server_port = li_.port;
        ctx.tls = li_.tls;
        ctx.host = proxy::normalize_host(x.host_header);
        ctx.timings.received = received;

        co_await process(x);

        ctx.status = x.status;
        ctx.bytes_sent = x.bytes_sent;
        ctx.timings.total = steady::now() - received;
        if (x.rt->plugins && x.access_ran)
            x.rt->plugins->run_log(ctx);
        access_record rec;
        rec.method = x.method;
        rec.target = x.original_target;
        rec.version = x.version;
        rec.user_agent = x.user_agent;
        rec.referer = x.referer;
        rec.ctx = &ctx;
        rec.client_ip = client_ip_;
        rec.status = x.status;
        rec.bytes_sent = x.bytes_sent;
        rec.latency_ms = millis(ctx.timings.total);
        rec.upstream_ms = x.upstream_used ? millis(ctx.timings.upstream_response) : -1;
        write_access_log(rec, s.access_log_json);
        if (x.rt->metrics)
            if (auto* m = x.rt->metrics->find(ctx.route))
                m->record(x.status, ctx.timings.total, ctx.timings.upstream_response, x.upstream_used);

        co_return x.keep_client && !w_.stopping;
    }

    /// Route, access phase, upstream exchange. Fills x.status/keep_client.
    net::awaitable<void> process(exchange_state& x)
    {
        const auto& s = w_.settings;
        auto& req = x.req;
        auto& ctx = x.ctx;
        const auto* plugins = x.rt->plugins.get();
        auto body_done = [&] { return x.parser.is_done() && !x.body_broken; };

        std::string_view path = std::string_view(x.original_target).substr(0, x.original_target.find('?'));
        if (x.rt->jwt_signer) {  // public JWKS (jwt-signer, docs/jwt-signer.md)
            auto inm = req[http::field::if_none_match];
            if (auto pub = jwt_signer::serve_public_jwks(x.rt->jwt_signer->keysets(), s.public_jwks_path, x.method,
                                                         path, std::string_view(inm.data(), inm.size()))) {
                x.status = pub->status;
                x.keep_client = x.client_keep_alive && body_done();
                // Locals, not temporaries: GCC 12 miscompiles a ?: temporary inside co_await.
                std::string body;
                if (x.method != "HEAD") body = std::move(pub->body);
                const std::string content_type = pub->content_type;
                x.bytes_sent = co_await write_simple(pub->status, std::move(body), content_type, x.version,
                                                     x.keep_client, nullptr, nullptr, pub->headers);
                co_return;
            }
        }
        fields_lookup lookup(req);
        auto m = x.rt->router ? x.rt->router->find(x.method, x.host_header, path, lookup) : std::nullopt;
        if (!m) {
            x.status = 404;
            x.keep_client = x.client_keep_alive && body_done();
            x.bytes_sent = co_await write_error(404, x.version, x.keep_client);
            co_return;
        }
        ctx.route = m->route;
        ctx.service = m->service;

        // Upstream view of the request, before the access phase so plugins
        // (request-termination `echo`) see what the upstream would get.
        {
            // Expect is answered here (or not at all), never forwarded.
            bool first = true;
            for (auto it = req.begin(); it != req.end();) {
                if (it->name() != http::field::expect) {
                    ++it;
                    continue;
                }
                if (first)
                    x.expect_continue = ascii_iequals(it->value(), "100-continue");
                first = false;
                it = req.erase(it);
            }
        }
        proxy::strip_hop_by_hop(req);
        proxy::clear_consumer_headers(req);
        std::string matched_prefix(m->matched_prefix);
        bool stripped = m->route->strip_path && !matched_prefix.empty();
        if (ctx.service) {
            req.target(proxy::upstream_target(*ctx.service, *ctx.route, x.original_target, matched_prefix));
            req.set(http::field::host, proxy::upstream_host(*ctx.service, *ctx.route, x.host_header));
        }
        proxy::forwarded_info info;
        info.client_ip = client_ip_;
        info.server_port = li_.port;
        info.tls = li_.tls;
        info.host = x.host_header;
        info.request_path = path;
        info.stripped_prefix = stripped ? std::string_view(matched_prefix) : std::string_view{};
        info.trusted = s.trust_forwarded_headers;
        proxy::set_forwarded_headers(req, info);

        ctx.read_body = [this, &x](std::size_t max_bytes) { return read_whole_body(x, max_bytes); };

        if (plugins) {
            // run_access measures ctx.timings.access itself.
            x.access_ran = true;
            try {
                co_await plugins->run_access(ctx);
            } catch (const std::exception& e) {
                spdlog::error("access phase failed on route {}: {}", ctx.route->name, e.what());
                ctx.exit = pipeline::exit_response{500, proxy::kong_error_body(proxy::default_message(500)),
                                                   "application/json; charset=utf-8", {}};
            }
        }
        ctx.read_body = nullptr;

        if (ctx.exit) {
            auto& e = *ctx.exit;
            x.status = e.status;
            x.keep_client = x.client_keep_alive && body_done();
            x.bytes_sent = co_await write_simple(e.status, e.body, e.content_type, x.version, x.keep_client, &ctx,
                                                 plugins, e.headers);
            co_return;
        }
        if (x.body_broken) {
            x.status = 413;
            x.bytes_sent = co_await write_error(413, x.version, false, &ctx, plugins);
            co_return;
        }
        if (!ctx.service) {
            x.status = 503;
            x.keep_client = x.client_keep_alive && body_done();
            x.bytes_sent = co_await write_simple(503, proxy::kong_error_body("no Service found with those values"),
                                                 "application/json; charset=utf-8", x.version, x.keep_client,
                                                 &ctx, plugins);
            co_return;
        }
        // The consumer headers were set by the access phase (run_access).
        co_await forward(x);
        if (!x.response_started) {
            x.keep_client = x.keep_client && x.client_keep_alive && body_done();
            x.bytes_sent = co_await write_error(x.status, x.version, x.keep_client, &ctx, plugins);
        }
    }

    /// ctx.read_body: buffers the whole request body (at most max_bytes).
    net::awaitable<result<std::string>> read_whole_body(exchange_state& x, std::size_t max_bytes)
    {
        if (x.buffered_body) {
            if (x.buffered_body->size() > max_bytes)
                co_return http::error::body_limit;
            co_return *x.buffered_body;
        }
        co_await send_continue(x);
        std::string body;
        auto chunk = std::make_unique<char[]>(16 * 1024);
        while (!x.parser.is_done()) {
            x.req.body().data = chunk.get();
            x.req.body().size = 16 * 1024;
            tcp().expires_after(w_.settings.client_body_timeout);
            auto [ec, n] = co_await http::async_read_some(stream_, buf_, x.parser, use_tuple);
            if (ec == http::error::need_buffer)
                ec = {};
            auto got = 16 * 1024 - x.req.body().size;
            if (!ec && body.size() + got > max_bytes)
                ec = http::error::body_limit;
            if (ec) {
                x.body_broken = true;
                co_return ec;
            }
            body.append(chunk.get(), got);
        }
        x.buffered_body = std::move(body);
        co_return *x.buffered_body;
    }

    /// Whether the client waits for "100 Continue" before sending its body.
    /// Checked before calling send_continue, so that the usual request (no
    /// Expect) does not pay for a coroutine frame.
    static bool continue_pending(const exchange_state& x)
    {
        return x.expect_continue && !x.continue_sent && !x.parser.is_done();
    }

    net::awaitable<void> send_continue(exchange_state& x)
    {
        if (!continue_pending(x))
            co_return;
        x.continue_sent = true;
        static constexpr std::string_view interim = "HTTP/1.1 100 Continue\r\n\r\n";
        tcp().expires_after(w_.settings.client_body_timeout);
        co_await net::async_write(stream_, net::buffer(interim), use_tuple);
    }

    /// A chunked body's framing errors (bad chunk sizes) must be caught
    /// before the upstream sees anything: parse the first piece of the body
    /// now. Returns false (with x.status set) when it is malformed.
    static bool chunked_body_unread(const exchange_state& x)
    {
        return !x.buffered_body && x.parser.chunked() && !x.parser.is_done();
    }

    net::awaitable<bool> prime_chunked_body(exchange_state& x)
    {
        if (!chunked_body_unread(x))
            co_return true;
        static constexpr std::size_t size = 64 * 1024;
        x.primed = std::make_unique<char[]>(size);
        x.req.body().data = x.primed.get();
        x.req.body().size = size;
        tcp().expires_after(w_.settings.client_body_timeout);
        auto [ec, n] = co_await http::async_read_some(stream_, buf_, x.parser, use_tuple);
        if (ec == http::error::need_buffer)
            ec = {};
        if (ec) {
            x.status = ec == http::error::body_limit ? 413 : ec == beast::error::timeout ? 408 : 400;
            x.keep_client = false;
            if (x.status == 400)
                w_.stats->rejected_framing++;
            co_return false;
        }
        x.primed_size = size - x.req.body().size;
        co_return true;
    }

    /// Acquires an upstream connection and runs the exchange on it.
    net::awaitable<void> forward(exchange_state& x)
    {
        auto& ctx = x.ctx;
        // The common case (no Expect, no chunked body, a pooled upstream
        // connection) runs without the coroutines below.
        if (continue_pending(x))
            co_await send_continue(x);
        if (chunked_body_unread(x)) {
            if (!co_await prime_chunked_body(x))
                co_return;
        }
        x.upstream_used = true;
        // A request that run_exchange may send again (idempotent, and whole
        // in memory) takes a pooled connection without the liveness peek, a
        // syscall per request: a connection the upstream closed fails it at
        // once, before any response byte, and it goes out again on a new
        // one. Any other request gets a connection checked first.
        const bool resendable = proxy_idempotent(x);
        // A second round only when the pooled connection of the first was
        // found dead before any of the response (run_exchange decides).
        for (bool pooled = true;; pooled = false) {
            proxy::acquire_result acq;
            if (pooled)
                acq.conn = w_.pool.take_idle(*ctx.service, !resendable);
            if (acq.conn)
                acq.reused = true;
            else
                acq = co_await w_.pool.acquire(*ctx.service);
            ctx.timings.upstream_connect = acq.connect_time;
            if (!acq.conn) {
                x.status = acq.failure == proxy::connect_failure::timeout ? 504 : 502;
                x.keep_client = true;
                w_.stats->upstream_errors++;
                spdlog::error("upstream {}:{} of service {} unreachable after {} attempt(s): {}", ctx.service->host,
                              ctx.service->port, ctx.service->name, acq.attempts, acq.ec.message());
                co_return;
            }
            (acq.reused ? w_.stats->upstream_connections_reused : w_.stats->upstream_connections_opened)++;
            x.upstream_reused = acq.reused;
            auto conn = std::move(acq.conn);
            auto outcome = co_await conn->visit([&](auto& up) { return run_exchange(stream_, buf_, up, x, w_); });
            if (outcome.retry_fresh) {
                w_.stats->upstream_stale_retries++;
                spdlog::debug("upstream {}:{} (service {}): pooled connection was closed; sending again on a new one",
                              ctx.service->host, ctx.service->port, ctx.service->name);
                continue;
            }
            if (outcome.reusable) {
                conn->requests++;
                w_.pool.release(*ctx.service, std::move(conn));
            }
            co_return;
        }
    }

    worker& w_;
    Stream stream_;
    listener_info li_;
    std::string client_ip_;
    std::uint16_t client_port_;
    beast::flat_buffer buf_;
    connection_slot slot_;
    std::list<connection_slot*>::iterator slot_it_;
    std::size_t served_ = 0;
};

template <class Stream, class... StreamArgs>
net::awaitable<void> run_session(worker& w, listener_info li, tcp::socket socket, StreamArgs&... extra)
{
    error_code ec;
    auto ep = socket.remote_endpoint(ec);
    session<Stream> s(w, li, ec ? std::string() : ep.address().to_string(), ep.port(), std::move(socket), extra...);
    co_await s.run();
}

}  // namespace

void spawn_session(worker& w, tcp::socket socket, listener_info li)
{
    auto* stats = w.stats;
    stats->connections_accepted++;
    stats->connections_active++;
    w.open_connections++;
    error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    auto done = [stats, wp = &w](std::exception_ptr ep) {
        wp->open_connections--;
        stats->connections_active--;
        stats->connections_handled++;
        if (!ep)
            return;
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            spdlog::error("proxy session ended by exception: {}", e.what());
        } catch (...) {
            spdlog::error("proxy session ended by unknown exception");
        }
    };
    if (li.tls && w.server_tls)
        net::co_spawn(w.ioc, run_session<ssl::stream<deadline_stream>>(w, li, std::move(socket), *w.server_tls),
                      done);
    else
        net::co_spawn(w.ioc, run_session<deadline_stream>(w, li, std::move(socket)), done);
}

}  // namespace countersign::server::detail
