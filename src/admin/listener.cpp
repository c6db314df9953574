#include <countersign/admin/listener.hpp>

#include <exception>
#include <mutex>
#include <optional>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <spdlog/spdlog.h>

#include <countersign/admin/router.hpp>
#include <countersign/core/beast.hpp>

namespace countersign::admin {

namespace ssl = boost::asio::ssl;

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
using strand_type = net::strand<net::io_context::executor_type>;

std::string server_header()
{
#ifdef COUNTERSIGN_VERSION
    return std::string("countersign/") + COUNTERSIGN_VERSION;
#else
    return "countersign";
#endif
}

request to_request(const http::request<http::string_body>& msg)
{
    auto r = request::from_target(std::string(msg.method_string()), std::string(msg.target()));
    for (const auto& f : msg) {
        std::string name(f.name_string());
        for (auto& c : name)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    r.body = msg.body();
    return r;
}

http::response<http::string_body> to_http(const response& r, unsigned version, bool head)
{
    http::response<http::string_body> res{http::int_to_status(r.status), version};
    res.set(http::field::server, server_header());
    res.set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers)
        res.insert(k, v);
    res.body() = r.body;
    res.prepare_payload();
    if (head)
        res.body().clear();  // Content-Length stays that of the GET answer
    return res;
}

beast::tcp_stream& lowest(beast::tcp_stream& s) { return s; }
beast::tcp_stream& lowest(beast::ssl_stream<beast::tcp_stream>& s) { return beast::get_lowest_layer(s); }

}  // namespace

listener_limits listener_limits::from(const config::node_config& node)
{
    listener_limits l;
    l.header_timeout = node.client_header_timeout;
    l.body_timeout = node.client_body_timeout;
    l.keepalive_timeout = node.keepalive_timeout;
    l.max_header_bytes = std::max<std::size_t>(node.max_header_bytes, 8 * 1024);
    return l;
}

struct listener::impl : std::enable_shared_from_this<impl> {
    impl(net::io_context& io, const config::node_config& n, std::shared_ptr<const router> r, listener_limits l)
        : ioc(io), strand(net::make_strand(io)), node(n), routes(std::move(r)), limits(l)
    {
    }

    // One connection, idle between requests unless `busy`.
    struct session_handle {
        tcp::socket* socket;
        bool busy = false;
    };

    net::io_context& ioc;
    strand_type strand;
    config::node_config node;
    std::shared_ptr<const router> routes;
    listener_limits limits;
    std::optional<ssl::context> tls;
    std::vector<tcp::acceptor> acceptors;
    std::vector<bool> acceptor_ssl;
    std::vector<std::uint16_t> bound_ports;
    std::string error;
    error_code error_code_;
    bool stopping = false;                 // touched on the strand only
    std::set<session_handle*> sessions;    // touched on the strand only

    bool load_tls()
    {
        std::string cert = node.admin_ssl_cert, key = node.admin_ssl_cert_key;
        if (cert.empty()) {
            cert = node.ssl_cert;
            key = node.ssl_cert_key;
        }
        if (cert.empty() || key.empty()) {
            error = "admin_listen has an ssl address but neither admin_ssl_cert/admin_ssl_cert_key nor "
                    "ssl_cert/ssl_cert_key is set";
            error_code_ = net::error::make_error_code(net::error::invalid_argument);
            return false;
        }
        try {
            tls.emplace(ssl::context::tls_server);
            tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                             ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
            tls->use_certificate_chain_file(cert);
            tls->use_private_key_file(key, ssl::context::pem);
        } catch (const std::exception& e) {
            error = "admin TLS certificate " + cert + " / key " + key + ": " + e.what();
            error_code_ = net::error::make_error_code(net::error::invalid_argument);
            return false;
        }
        return true;
    }

    bool bind_all()
    {
        for (const auto& addr : node.admin_listen) {
            error_code ec;
            auto ip = net::ip::make_address(addr.address, ec);
            const std::string text = addr.text.empty() ? addr.address + ":" + std::to_string(addr.port) : addr.text;
            if (ec) {
                error = "cannot listen on admin address " + text + ": bad address";
                error_code_ = ec;
                return false;
            }
            tcp::endpoint ep(ip, addr.port);
            tcp::acceptor a(strand);
            a.open(ep.protocol(), ec);
            if (!ec)
                a.set_option(net::socket_base::reuse_address(true), ec);
            if (!ec && ep.address().is_v6())
                a.set_option(net::ip::v6_only(true), ec);
            if (!ec)
                a.bind(ep, ec);
            if (!ec)
                a.listen(net::socket_base::max_listen_connections, ec);
            if (ec) {
                error = "cannot listen on admin address " + text + ": " + ec.message();
                error_code_ = ec;
                return false;
            }
            bound_ports.push_back(a.local_endpoint().port());
            acceptors.push_back(std::move(a));
            acceptor_ssl.push_back(addr.ssl);
        }
        return true;
    }

    void spawn_logged(net::awaitable<void> aw, const char* what)
    {
        net::co_spawn(strand, std::move(aw), [what](std::exception_ptr e) {
            if (!e)
                return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("admin: {} failed: {}", what, ex.what());
            }
        });
    }

    net::awaitable<void> accept_loop(std::size_t index)
    {
        auto self = shared_from_this();
        auto& acceptor = acceptors[index];
        for (;;) {
            auto [ec, sock] = co_await acceptor.async_accept(strand, tuple_awaitable);
            if (ec) {
                if (stopping || !acceptor.is_open())
                    co_return;
                spdlog::warn("admin: accept failed: {}", ec.message());
                continue;
            }
            if (acceptor_ssl[index])
                spawn_logged(serve_tls(std::move(sock)), "TLS session");
            else
                spawn_logged(serve(beast::tcp_stream(std::move(sock))), "session");
        }
    }

    net::awaitable<void> serve_tls(tcp::socket sock)
    {
        auto self = shared_from_this();
        beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(sock)), *tls);
        lowest(stream).expires_after(limits.header_timeout);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, tuple_awaitable);
        if (ec)
            co_return;
        co_await serve(std::move(stream));
    }

    template <class Stream>
    net::awaitable<void> serve(Stream stream)
    {
        auto self = shared_from_this();
        session_handle handle{&lowest(stream).socket()};
        sessions.insert(&handle);
        struct unregister {
            impl& s;
            session_handle* h;
            ~unregister() { s.sessions.erase(h); }
        } guard{*this, &handle};

        beast::flat_buffer buffer;
        for (std::size_t served = 0; !stopping; ++served) {
            http::request_parser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
            parser.body_limit(limits.max_body_bytes);

            handle.busy = false;
            lowest(stream).expires_after(served == 0 ? limits.header_timeout : limits.keepalive_timeout);
            auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, tuple_awaitable);
            handle.busy = true;
            if (!ec && !parser.is_done()) {
                lowest(stream).expires_after(limits.body_timeout);
                std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
            }
            if (ec) {
                // Answer what the client can act on; anything else (close,
                // timeout, reset, cancellation by stop()) just ends the session.
                std::optional<response> answer;
                if (ec == http::error::header_limit)
                    answer = response::message(431, "Request header fields too large");
                else if (ec == http::error::body_limit)
                    answer = response::message(413, "Request body too large");
                else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
                         ec != http::error::end_of_stream && ec != http::error::partial_message)
                    answer = response::message(400, "Bad request");
                if (answer) {
                    auto res = to_http(*answer, 11, false);
                    res.keep_alive(false);
                    lowest(stream).expires_after(limits.body_timeout);
                    co_await http::async_write(stream, res, tuple_awaitable);
                }
                break;
            }

            const auto& msg = parser.get();
            const bool head = msg.method() == http::verb::head;
            auto res = to_http(routes->dispatch(to_request(msg)), msg.version(), head);
            const bool keep_alive = msg.keep_alive() && !stopping && served + 1 < limits.keepalive_requests;
            res.keep_alive(keep_alive);
            lowest(stream).expires_after(limits.body_timeout);
            auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
            if (wec || !keep_alive)
                break;
        }
        co_await close(stream);
    }

    net::awaitable<void> close(beast::tcp_stream& stream)
    {
        error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
    }

    net::awaitable<void> close(beast::ssl_stream<beast::tcp_stream>& stream)
    {
        lowest(stream).expires_after(std::chrono::seconds(2));
        co_await stream.async_shutdown(tuple_awaitable);
    }

    void stop_on_strand()
    {
        if (stopping)
            return;
        stopping = true;
        error_code ignored;
        for (auto& a : acceptors)
            a.close(ignored);
        for (auto* s : sessions)
            if (!s->busy)
                s->socket->cancel(ignored);
    }
};

listener::listener(net::io_context& ioc, const config::node_config& node, std::shared_ptr<const router> routes,
                   listener_limits limits)
    : impl_(std::make_shared<impl>(ioc, node, std::move(routes), limits))
{
}

listener::listener(net::io_context& ioc, const config::node_config& node, std::shared_ptr<const router> routes)
    : listener(ioc, node, std::move(routes), listener_limits::from(node))
{
}

listener::~listener() { stop(); }

result<void> listener::start()
{
    auto& s = *impl_;
    bool need_tls = false;
    for (const auto& a : s.node.admin_listen)
        need_tls = need_tls || a.ssl;
    if ((need_tls && !s.load_tls()) || !s.bind_all()) {
        s.acceptors.clear();
        s.acceptor_ssl.clear();
        s.bound_ports.clear();
        return s.error_code_;
    }
    for (std::size_t i = 0; i < s.acceptors.size(); ++i) {
        spdlog::info("admin API listening on {}:{}{}", s.node.admin_listen[i].address, s.bound_ports[i],
                     s.acceptor_ssl[i] ? " (ssl)" : "");
        s.spawn_logged(s.accept_loop(i), "admin accept loop");
    }
    return {};
}

const std::string& listener::error_message() const { return impl_->error; }

void listener::stop()
{
    net::dispatch(impl_->strand, [self = impl_] { self->stop_on_strand(); });
}

std::vector<std::uint16_t> listener::ports() const { return impl_->bound_ports; }

}  // namespace countersign::admin
