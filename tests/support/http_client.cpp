#include "support/http_client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <countersign/core/beast.hpp>

namespace countersign::test {

namespace ssl = boost::asio::ssl;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && lower(a) == lower(b); }

bool has_header(const header_list& h, std::string_view name)
{
    return std::any_of(h.begin(), h.end(), [&](const auto& p) { return iequals(p.first, name); });
}

const std::string& upload_pattern()
{
    static const std::string p = [] {
        std::string s;
        while (s.size() < 64 * 1024)
            s += "0123456789abcdef";
        return s;
    }();
    return p;
}

std::string chunk_frame(std::string_view piece)
{
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    std::string out = size;
    out.append(piece);
    out += "\r\n";
    return out;
}

}  // namespace

std::string http_response::header(std::string_view name) const
{
    for (const auto& [k, v] : headers)
        if (iequals(k, name))
            return v;
    return {};
}

bool http_response::has_header(std::string_view name) const { return test::has_header(headers, name); }

std::vector<std::string> http_response::header_values(std::string_view name) const
{
    std::vector<std::string> out;
    for (const auto& [k, v] : headers)
        if (iequals(k, name))
            out.push_back(v);
    return out;
}

nlohmann::json http_response::json() const { return nlohmann::json::parse(body); }

struct connection::impl {
    std::uint16_t port;
    request_options opts;
    net::io_context ioc{1};
    ssl::context ssl_ctx{ssl::context::tls_client};
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    std::chrono::steady_clock::time_point deadline;

    beast::tcp_stream& tcp() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

    std::string where() const { return opts.address + ":" + std::to_string(port); }

    [[noreturn]] void fail(std::string_view what, const error_code& ec) const
    {
        throw std::runtime_error("http_client: " + std::string(what) + " " + where() + ": " + ec.message());
    }

    void start_deadline() { deadline = std::chrono::steady_clock::now() + opts.timeout; }

    // Runs one asynchronous operation to completion under the deadline.
    template <class Initiate>
    error_code run(Initiate&& initiate)
    {
        error_code result;
        tcp().expires_at(deadline);
        initiate([&result](error_code ec, auto&&...) { result = ec; });
        ioc.restart();
        ioc.run();
        return result;
    }

    template <class F>
    decltype(auto) with_stream(F&& f)
    {
        if (secure)
            return f(*secure);
        return f(*plain);
    }

    void connect()
    {
        start_deadline();
        tcp::endpoint ep(net::ip::make_address(opts.address), port);
        plain.emplace(ioc);
        if (opts.tls) {
            if (!opts.ca_file.empty()) {
                ssl_ctx.load_verify_file(opts.ca_file);
                ssl_ctx.set_verify_mode(ssl::verify_peer);
                ssl_ctx.set_verify_callback(ssl::host_name_verification(opts.sni.empty() ? opts.address : opts.sni));
            } else {
                ssl_ctx.set_verify_mode(ssl::verify_none);
            }
            secure.emplace(std::move(*plain), ssl_ctx);
            plain.reset();
            if (!opts.sni.empty())
                SSL_set_tlsext_host_name(secure->native_handle(), opts.sni.c_str());
        }
        if (auto ec = run([&](auto h) { tcp().async_connect(ep, std::move(h)); }))
            fail("connect to", ec);
        if (secure) {
            if (auto ec = run([&](auto h) { secure->async_handshake(ssl::stream_base::client, std::move(h)); }))
                fail("TLS handshake with", ec);
        }
    }

    error_code write(std::string_view bytes)
    {
        return with_stream([&](auto& s) {
            return run([&](auto h) { net::async_write(s, net::buffer(bytes.data(), bytes.size()), std::move(h)); });
        });
    }

    std::string request_head(std::string_view method, std::string_view target, const header_list& headers,
                             std::optional<std::uint64_t> content_length, bool chunked) const
    {
        std::string out = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
        if (!test::has_header(headers, "host"))
            out += "Host: " + (opts.host.empty() ? where() : opts.host) + "\r\n";
        if (!opts.raw_headers && !test::has_header(headers, "user-agent"))
            out += "User-Agent: countersign-test\r\n";
        for (const auto& [k, v] : headers)
            out += k + ": " + v + "\r\n";
        if (chunked) {
            if (!test::has_header(headers, "transfer-encoding"))
                out += "Transfer-Encoding: chunked\r\n";
        } else if (content_length && !test::has_header(headers, "content-length")) {
            if (*content_length > 0 || !opts.raw_headers)
                if (*content_length > 0 || (method != "GET" && method != "HEAD"))
                    out += "Content-Length: " + std::to_string(*content_length) + "\r\n";
        }
        out += "\r\n";
        return out;
    }

    http_response read_response(bool head_request)
    {
        for (;;) {
            http::response_parser<http::buffer_body> parser;
            parser.header_limit(1024 * 1024);
            parser.body_limit(boost::none);
            if (head_request)
                parser.skip(true);
            auto ec = with_stream([&](auto& s) {
                return run([&](auto h) { http::async_read_header(s, buffer, parser, std::move(h)); });
            });
            if (ec)
                fail("reading response header from", ec);
            const auto status = parser.get().result_int();
            if (status / 100 == 1 && status != 101)
                continue;  // 100 Continue and friends: the real answer follows

            http_response res;
            res.status = status;
            res.reason = std::string(parser.get().reason());
            for (const auto& f : parser.get())
                res.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
            res.chunked = parser.chunked();
            res.keep_alive = parser.get().keep_alive();

            std::vector<char> chunk(64 * 1024);
            while (!parser.is_done()) {
                parser.get().body().data = chunk.data();
                parser.get().body().size = chunk.size();
                auto e = with_stream([&](auto& s) {
                    return run([&](auto h) { http::async_read(s, buffer, parser, std::move(h)); });
                });
                if (e == http::error::need_buffer)
                    e = {};
                if (e == ssl::error::stream_truncated) {
                    // TLS peer closed without close_notify; for a body
                    // delimited by close this ends the body.
                    parser.put_eof(e);
                }
                const std::size_t got = chunk.size() - parser.get().body().size;
                res.body_bytes += got;
                if (!opts.discard_body)
                    res.body.append(chunk.data(), got);
                if (e)
                    fail("reading response body from", e);
            }
            return res;
        }
    }

    std::string read_until_close(std::chrono::milliseconds timeout)
    {
        std::string out(static_cast<const char*>(buffer.data().data()), buffer.size());
        buffer.consume(buffer.size());
        deadline = std::chrono::steady_clock::now() + timeout;
        std::vector<char> chunk(16 * 1024);
        for (;;) {
            std::size_t got = 0;
            auto ec = with_stream([&](auto& s) {
                return run([&](auto h) {
                    s.async_read_some(net::buffer(chunk), [&got, h = std::move(h)](error_code e, std::size_t n) mutable {
                        got = n;
                        h(e, n);
                    });
                });
            });
            out.append(chunk.data(), got);
            if (ec)
                return out;
        }
    }
};

connection::connection(std::uint16_t port, request_options opts) : impl_(std::make_unique<impl>())
{
    impl_->port = port;
    impl_->opts = std::move(opts);
    impl_->connect();
}

connection::~connection() = default;
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;

http_response connection::request(std::string_view method, std::string_view target, const header_list& headers,
                                  std::string_view body)
{
    auto& s = *impl_;
    s.start_deadline();
    std::string out;
    if (s.opts.chunked_request) {
        out = s.request_head(method, target, headers, std::nullopt, true);
        if (!body.empty())
            out += chunk_frame(body);
        out += "0\r\n\r\n";
    } else {
        out = s.request_head(method, target, headers, body.size(), false);
        out.append(body);
    }
    if (auto ec = s.write(out)) {
        // A server may answer early (413, 431, 400) and close before reading
        // everything we send; its answer is what the test wants to see.
        try {
            return s.read_response(method == "HEAD");
        } catch (const std::runtime_error&) {
            s.fail("writing request to", ec);
        }
    }
    return s.read_response(method == "HEAD");
}

http_response connection::stream_upload(std::string_view method, std::string_view target, std::uint64_t body_bytes,
                                        const header_list& headers)
{
    auto& s = *impl_;
    s.start_deadline();
    const bool chunked = s.opts.chunked_request;
    if (auto ec = s.write(s.request_head(method, target, headers, body_bytes, chunked)))
        s.fail("writing request header to", ec);
    const auto& pattern = upload_pattern();
    std::uint64_t left = body_bytes;
    while (left > 0) {
        auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left, pattern.size()));
        std::string_view piece(pattern.data(), take);
        std::string framed;
        if (chunked) {
            framed = chunk_frame(piece);
            piece = framed;
        }
        if (auto ec = s.write(piece)) {
            try {
                return s.read_response(method == "HEAD");  // answered early (e.g. 413)
            } catch (const std::runtime_error&) {
                s.fail("writing request body to", ec);
            }
        }
        left -= take;
    }
    if (chunked) {
        if (auto ec = s.write("0\r\n\r\n"))
            s.fail("writing request body to", ec);
    }
    return s.read_response(method == "HEAD");
}

void connection::write_raw(std::string_view bytes)
{
    impl_->start_deadline();
    if (auto ec = impl_->write(bytes))
        impl_->fail("writing to", ec);
}

std::string connection::read_until_close(std::chrono::milliseconds timeout)
{
    return impl_->read_until_close(timeout);
}

bool connection::is_open()
{
    auto& t = impl_->tcp();
    if (!t.socket().is_open())
        return false;
    char c;
    const auto n = ::recv(t.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return false;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        return false;
    return true;
}

void connection::close()
{
    error_code ignored;
    impl_->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    impl_->tcp().socket().close(ignored);
}

std::uint16_t connection::local_port() const
{
    error_code ec;
    auto ep = impl_->tcp().socket().local_endpoint(ec);
    return ec ? 0 : ep.port();
}

http_response request(std::uint16_t port, std::string_view method, std::string_view target,
                      const header_list& headers, std::string_view body, const request_options& opts)
{
    connection c(port, opts);
    return c.request(method, target, headers, body);
}

http_response get(std::uint16_t port, std::string_view target, const header_list& headers,
                  const request_options& opts)
{
    return request(port, "GET", target, headers, {}, opts);
}

std::string send_raw(std::uint16_t port, std::string_view bytes, std::chrono::milliseconds timeout,
                     const request_options& opts)
{
    connection c(port, opts);
    try {
        c.write_raw(bytes);
    } catch (const std::runtime_error&) {
        // The server may close before reading everything; what it answered
        // is still worth returning.
    }
    return c.read_until_close(timeout);
}

unsigned raw_status(std::string_view raw)
{
    if (raw.substr(0, 5) != "HTTP/")
        return 0;
    auto sp = raw.find(' ');
    if (sp == std::string_view::npos || sp + 4 > raw.size())
        return 0;
    unsigned st = 0;
    for (std::size_t i = sp + 1; i < sp + 4; ++i) {
        if (raw[i] < '0' || raw[i] > '9')
            return 0;
        st = st * 10 + static_cast<unsigned>(raw[i] - '0');
    }
    return st;
}

bool port_open(std::uint16_t port, const std::string& address)
{
    net::io_context ioc;
    tcp::socket s(ioc);
    error_code ec;
    s.connect(tcp::endpoint(net::ip::make_address(address, ec), port), ec);
    return !ec;
}

}  // namespace countersign::test
