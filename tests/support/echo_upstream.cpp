#include "support/echo_upstream.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include <countersign/core/beast.hpp>

namespace countersign::test {

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && lower(a) == lower(b);
}

}  // namespace

std::string recorded_request::header(std::string_view name) const
{
    for (const auto& [k, v] : headers)
        if (iequals(k, name))
            return v;
    return {};
}

bool recorded_request::has_header(std::string_view name) const
{
    return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

std::vector<std::string> recorded_request::header_values(std::string_view name) const
{
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (iequals(k, name))
            out.push_back(v);
    return out;
}

struct echo_upstream::impl {
    echo_options opts;
    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::uint16_t port = 0;
    std::thread thread;

    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> requests{0};
    std::atomic<std::uint64_t> body_bytes{0};
    std::atomic<long long> delay_ms{0};
    std::atomic<unsigned> status{200};

    mutable std::mutex mu;
    mutable std::condition_variable cv;
    std::deque<recorded_request> history;

    void record(const recorded_request& r)
    {
        std::lock_guard lock(mu);
        history.push_back(r);
        while (history.size() > std::max<std::size_t>(opts.history, 1))
            history.pop_front();
    }

    void count_request()
    {
        {
            std::lock_guard lock(mu);
            ++requests;
        }
        cv.notify_all();
    }

    std::string response_head(unsigned st, std::string_view content_type, std::uint64_t content_length,
                               bool keep_alive) const
    {
        std::string reason(http::obsolete_reason(http::int_to_status(st)));
        if (reason.empty() || reason == "<unknown-status>")
            reason = "Status";
        std::string h = "HTTP/1.1 " + std::to_string(st) + " " + reason + "\r\n";
        h += "Server: echo-upstream\r\n";
        h += "Content-Type: " + std::string(content_type) + "\r\n";
        if (opts.chunked_response)
            h += "Transfer-Encoding: chunked\r\n";
        else
            h += "Content-Length: " + std::to_string(content_length) + "\r\n";
        for (const auto& [k, v] : opts.response_headers)
            h += k + ": " + v + "\r\n";
        if (!keep_alive)
            h += "Connection: close\r\n";
        h += "\r\n";
        return h;
    }

    // Writes one piece of body, framed as a chunk when answering chunked.
    net::awaitable<error_code> write_body_piece(tcp::socket& sock, std::string_view piece) const
    {
        if (piece.empty())
            co_return error_code{};
        std::string framed;
        if (opts.chunked_response) {
            char size[32];
            std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
            framed = size;
            framed.append(piece);
            framed += "\r\n";
            piece = framed;
        }
        auto [ec, n] = co_await net::async_write(sock, net::buffer(piece.data(), piece.size()), tuple_awaitable);
        co_return ec;
    }

    net::awaitable<error_code> write_response(tcp::socket& sock, const recorded_request& rec, bool head,
                                              bool keep_alive) const
    {
        const unsigned st = status.load();
        if (opts.source_bytes > 0) {
            auto h = response_head(st, "application/octet-stream", opts.source_bytes, keep_alive);
            auto [ec, n] = co_await net::async_write(sock, net::buffer(h), tuple_awaitable);
            if (ec || head)
                co_return ec;
            static const std::string pattern = [] {
                std::string p;
                while (p.size() < 64 * 1024)
                    p += "0123456789abcdef";
                return p;
            }();
            std::uint64_t left = opts.source_bytes;
            while (left > 0) {
                auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left, pattern.size()));
                if (auto e = co_await write_body_piece(sock, std::string_view(pattern).substr(0, take)))
                    co_return e;
                left -= take;
            }
        } else {
            std::string body = echo_upstream::to_json(rec).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            auto h = response_head(st, "application/json", body.size(), keep_alive);
            if (head || !opts.chunked_response) {
                if (!head)
                    h += body;
                auto [ec, n] = co_await net::async_write(sock, net::buffer(h), tuple_awaitable);
                co_return ec;
            }
            auto [ec, n] = co_await net::async_write(sock, net::buffer(h), tuple_awaitable);
            if (ec)
                co_return ec;
            // Two chunks, so the chunked framing is really exercised.
            std::string_view b(body);
            auto half = b.size() / 2;
            if (auto e = co_await write_body_piece(sock, b.substr(0, half)))
                co_return e;
            if (auto e = co_await write_body_piece(sock, b.substr(half)))
                co_return e;
        }
        if (opts.chunked_response && !head) {
            auto [ec, n] = co_await net::async_write(sock, net::buffer(std::string_view("0\r\n\r\n")), tuple_awaitable);
            co_return ec;
        }
        co_return error_code{};
    }

    net::awaitable<void> session(tcp::socket sock, std::uint64_t connection_id)
    {
        beast::flat_buffer buffer;
        std::vector<char> chunk(64 * 1024);
        for (;;) {
            http::request_parser<http::buffer_body> parser;
            parser.header_limit(1024 * 1024);
            parser.body_limit(boost::none);
            auto [ec, n] = co_await http::async_read_header(sock, buffer, parser, tuple_awaitable);
            if (ec)
                co_return;
            count_request();

            recorded_request rec;
            rec.connection_id = connection_id;
            const auto& msg = parser.get();
            rec.method = std::string(msg.method_string());
            rec.target = std::string(msg.target());
            for (const auto& f : msg)
                rec.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
            rec.chunked = parser.chunked();

            if (iequals(rec.header("expect"), "100-continue")) {
                auto [e, m] = co_await net::async_write(
                    sock, net::buffer(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")), tuple_awaitable);
                if (e)
                    co_return;
            }

            while (!parser.is_done()) {
                parser.get().body().data = chunk.data();
                parser.get().body().size = chunk.size();
                auto [e, m] = co_await http::async_read(sock, buffer, parser, tuple_awaitable);
                if (e == http::error::need_buffer)
                    e = {};
                if (e)
                    co_return;
                const std::size_t got = chunk.size() - parser.get().body().size;
                rec.body_bytes += got;
                body_bytes += got;
                if (!opts.sink)
                    rec.body.append(chunk.data(), got);
            }
            const bool keep_alive = opts.keep_alive && parser.get().keep_alive();
            const bool head = rec.method == "HEAD";
            record(rec);

            if (auto d = delay_ms.load(); d > 0) {
                net::steady_timer timer(sock.get_executor(), std::chrono::milliseconds(d));
                auto [e] = co_await timer.async_wait(tuple_awaitable);
                if (e)
                    co_return;
            }
            if (auto e = co_await write_response(sock, rec, head, keep_alive))
                co_return;
            if (opts.close_after_response) {
                error_code ignored;
                sock.close(ignored);
                co_return;
            }
            if (!keep_alive) {
                error_code ignored;
                sock.shutdown(tcp::socket::shutdown_send, ignored);
                // Drain until the peer closes, so the close is orderly.
                co_await sock.async_read_some(net::buffer(chunk), tuple_awaitable);
                co_return;
            }
        }
    }

    net::awaitable<void> accept_loop()
    {
        for (;;) {
            auto [ec, sock] = co_await acceptor.async_accept(tuple_awaitable);
            if (ec) {
                if (!acceptor.is_open() || ec == net::error::operation_aborted)
                    co_return;
                continue;
            }
            const auto id = ++connections;
            net::co_spawn(ioc, session(std::move(sock), id), net::detached);
        }
    }
};

echo_upstream::echo_upstream(echo_options opts) : impl_(std::make_shared<impl>())
{
    impl_->opts = std::move(opts);
    impl_->delay_ms = impl_->opts.delay.count();
    impl_->status = impl_->opts.status;
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(net::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen(net::socket_base::max_listen_connections);
    impl_->port = impl_->acceptor.local_endpoint().port();
    net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
    impl_->thread = std::thread([s = impl_.get()] { s->ioc.run(); });
}

echo_upstream::~echo_upstream()
{
    // Stopping the context abandons every session; destroying impl_ then
    // destroys their frames and closes their sockets.
    impl_->ioc.stop();
    if (impl_->thread.joinable())
        impl_->thread.join();
}

std::uint16_t echo_upstream::port() const { return impl_->port; }

std::string echo_upstream::url() const { return "http://127.0.0.1:" + std::to_string(impl_->port); }

std::size_t echo_upstream::connections() const { return impl_->connections.load(); }

std::size_t echo_upstream::requests() const { return impl_->requests.load(); }

std::uint64_t echo_upstream::body_bytes_received() const { return impl_->body_bytes.load(); }

std::vector<recorded_request> echo_upstream::last_requests() const
{
    std::lock_guard lock(impl_->mu);
    return {impl_->history.begin(), impl_->history.end()};
}

std::optional<recorded_request> echo_upstream::last_request() const
{
    std::lock_guard lock(impl_->mu);
    if (impl_->history.empty())
        return std::nullopt;
    return impl_->history.back();
}

void echo_upstream::clear_history()
{
    std::lock_guard lock(impl_->mu);
    impl_->history.clear();
}

bool echo_upstream::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.load() >= n; });
}

void echo_upstream::set_delay(std::chrono::milliseconds d) { impl_->delay_ms = d.count(); }

void echo_upstream::set_status(unsigned status) { impl_->status = status; }

nlohmann::json echo_upstream::to_json(const recorded_request& r)
{
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [k, v] : r.headers) {
        auto it = headers.find(k);
        if (it == headers.end())
            headers[k] = v;
        else if (it->is_array())
            it->push_back(v);
        else
            *it = nlohmann::json::array({*it, v});
    }
    return {
        {"method", r.method},
        {"path", r.target},
        {"headers", std::move(headers)},
        {"body", r.body},
        {"body_bytes", r.body_bytes},
        {"connection_id", r.connection_id},
    };
}

}  // namespace countersign::test
