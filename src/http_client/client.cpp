#include <countersign/http_client/client.hpp>

#include <countersign/core/beast.hpp>
#include <countersign/core/text.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <unordered_map>
#include <variant>

namespace countersign::http_client {

namespace ssl = boost::asio::ssl;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// The parts of a URL a request needs.
struct target {
    bool tls = false;
    std::string host;       // without brackets, decoded
    std::string port;
    std::string host_port;  // for the Host header
    std::string resource;   // path + query
    bool host_is_ip = false;
};

result<target> parse_target(std::string_view url)
{
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed)
        return make_error_code(error::bad_url);
    const auto& u = *parsed;
    target t;
    const auto scheme = ascii_lower(u.scheme());
    if (scheme == "https")
        t.tls = true;
    else if (scheme != "http")
        return make_error_code(error::unsupported_scheme);
    if (!u.has_authority() || u.encoded_host_address().empty())
        return make_error_code(error::bad_url);
    if (u.has_userinfo())
        return make_error_code(error::bad_url);  // credentials go in request_options::basic
    t.host = u.host_address();
    t.host_is_ip = u.host_type() == boost::urls::host_type::ipv4 || u.host_type() == boost::urls::host_type::ipv6;
    t.port = u.has_port() ? std::string(u.port()) : (t.tls ? "443" : "80");
    if (t.port.empty())
        t.port = t.tls ? "443" : "80";
    t.host_port = u.encoded_host_and_port();
    t.resource = u.encoded_target();  // path + query, never the fragment
    if (t.resource.empty() || t.resource.front() != '/')
        t.resource.insert(0, "/");
    return t;
}

// Maps a low-level failure of the connect phase to our error.
error_code connect_error(const error_code& ec)
{
    if (ec == beast::error::timeout)
        return make_error_code(error::connect_timeout);
    return make_error_code(error::connect_failed);
}

// Maps a low-level failure of the write/read phase to our error.
error_code exchange_error(const error_code& ec, bool got_bytes)
{
    if (ec == beast::error::timeout)
        return make_error_code(error::timeout);
    if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow)
        return make_error_code(error::too_large);
    if (!got_bytes && (ec == net::error::eof || ec == net::error::connection_reset || ec == net::error::broken_pipe ||
                       ec == http::error::end_of_stream || ec == ssl::error::stream_truncated))
        return make_error_code(error::connection_closed);
    return make_error_code(error::bad_response);
}

std::string tls_cache_key(const tls_options& o)
{
    std::string key;
    auto add = [&](std::string_view s) {
        key += std::to_string(s.size());
        key += ':';
        key += s;
    };
    key += o.verify ? 'v' : 'n';
    add(o.ca_file);
    add(o.ca_pem);
    add(o.client_cert_file);
    add(o.client_cert_pem);
    add(o.client_key_file);
    add(o.client_key_pem);
    return key;
}

result<std::shared_ptr<ssl::context>> build_tls_context(const tls_options& o)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                     ec);
    if (o.verify) {
        ctx->set_verify_mode(ssl::verify_peer, ec);
        if (!o.ca_file.empty())
            ctx->load_verify_file(o.ca_file, ec);
        else if (!o.ca_pem.empty())
            ctx->add_certificate_authority(net::buffer(o.ca_pem), ec);
        else
            ctx->set_default_verify_paths(ec);
        if (ec)
            return make_error_code(error::tls_config);
    } else {
        ctx->set_verify_mode(ssl::verify_none, ec);
    }
    const bool has_cert = !o.client_cert_file.empty() || !o.client_cert_pem.empty();
    const bool has_key = !o.client_key_file.empty() || !o.client_key_pem.empty();
    if (has_cert != has_key)
        return make_error_code(error::tls_config);
    if (has_cert) {
        if (!o.client_cert_file.empty())
            ctx->use_certificate_chain_file(o.client_cert_file, ec);
        else
            ctx->use_certificate_chain(net::buffer(o.client_cert_pem), ec);
        if (ec)
            return make_error_code(error::tls_config);
        if (!o.client_key_file.empty())
            ctx->use_private_key_file(o.client_key_file, ssl::context::pem, ec);
        else
            ctx->use_private_key(net::buffer(o.client_key_pem), ssl::context::pem, ec);
        if (ec || SSL_CTX_check_private_key(ctx->native_handle()) != 1)
            return make_error_code(error::tls_config);
    }
    return ctx;
}

// Writes `req` and reads the response on an established stream.
template <class Stream>
net::awaitable<result<response>> exchange(Stream& stream, http::request<http::string_body>& req,
                                          std::size_t max_bytes)
{
    auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
    if (wec)
        co_return exchange_error(wec, false);

    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(max_bytes, 64 * 1024)));
    parser.body_limit(max_bytes);
    auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (rec == ssl::error::stream_truncated && parser.is_header_done() && !parser.is_done()) {
        // A TLS peer that ends an EOF-delimited body without close_notify:
        // the body is complete as far as HTTP can tell.
        error_code eof_ec;
        parser.put_eof(eof_ec);
        rec = eof_ec ? rec : error_code{};
    }
    if (rec && !(parser.is_done() && rec == ssl::error::stream_truncated))
        co_return exchange_error(rec, rn > 0 || parser.got_some());

    auto msg = parser.release();
    response out;
    out.status = msg.result_int();
    for (const auto& field : msg.base()) {
        auto name = ascii_lower(field.name_string());
        auto [it, inserted] = out.headers.try_emplace(std::move(name), field.value());
        if (!inserted) {
            it->second += ", ";
            it->second += field.value();
        }
    }
    out.body = std::move(msg.body());
    co_return out;
}

}  // namespace

//------------------------------------------------------------------------------

const std::string* response::header(std::string_view name) const
{
    auto it = headers.find(ascii_lower(name));
    return it == headers.end() ? nullptr : &it->second;
}

std::string basic_authorization(std::string_view username, std::string_view password)
{
    std::string plain;
    plain.reserve(username.size() + password.size() + 1);
    plain.append(username).append(":").append(password);
    std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                  reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
    encoded.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return "Basic " + encoded;
}

struct client::impl {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<ssl::context>> contexts;

    result<std::shared_ptr<ssl::context>> context_for(const tls_options& o)
    {
        auto key = tls_cache_key(o);
        std::lock_guard lock(mutex);
        if (auto it = contexts.find(key); it != contexts.end())
            return it->second;
        // Built under the lock: it happens once per distinct option set, and
        // this keeps two racing requests from building it twice.
        auto ctx = build_tls_context(o);
        if (!ctx)
            return ctx.error();
        contexts.emplace(std::move(key), *ctx);
        return *ctx;
    }
};

client::client() : impl_(std::make_unique<impl>()) {}
client::~client() = default;

client& client::shared()
{
    static client instance;
    return instance;
}

std::size_t client::tls_context_count() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->contexts.size();
}

error_code client::prepare_tls(const tls_options& tls)
{
    auto ctx = impl_->context_for(tls);
    return ctx ? error_code{} : ctx.error();
}

net::awaitable<result<response>> client::request(net::any_io_executor ex, request_options options)
{
    auto parsed = parse_target(options.url);
    if (!parsed)
        co_return parsed.error();
    const target& t = *parsed;

    std::shared_ptr<ssl::context> tls_ctx;
    if (t.tls) {
        auto ctx = impl_->context_for(options.tls);
        if (!ctx)
            co_return ctx.error();
        tls_ctx = *ctx;
    }

    // The request message.
    http::request<http::string_body> req;
    if (auto verb = http::string_to_verb(options.method); verb != http::verb::unknown)
        req.method(verb);
    else
        req.method_string(options.method);
    req.target(t.resource);
    req.version(11);
    bool has_agent = false;
    for (const auto& [name, value] : options.headers) {
        if (ascii_iequals(name, "host") || ascii_iequals(name, "content-length") || ascii_iequals(name, "connection") ||
            ascii_iequals(name, "transfer-encoding"))
            continue;
        if (options.basic && ascii_iequals(name, "authorization"))
            continue;
        has_agent = has_agent || ascii_iequals(name, "user-agent");
        req.insert(name, value);
    }
    req.set(http::field::host, t.host_port);
    req.set(http::field::connection, "close");
    if (!has_agent)
        req.set(http::field::user_agent, "countersign");
    if (options.basic)
        req.set(http::field::authorization, basic_authorization(options.basic->username, options.basic->password));
    req.body() = std::move(options.body);
    if (!req.body().empty() || req.method() == http::verb::post || req.method() == http::verb::put ||
        req.method() == http::verb::patch)
        req.prepare_payload();

    // Resolve, bounded by the connect timeout (the resolver has no timer of its own).
    const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
    tcp::resolver resolver(ex);
    net::steady_timer timer(ex, deadline);
    auto raced = co_await (resolver.async_resolve(t.host, t.port, use_tuple) || timer.async_wait(use_tuple));
    if (raced.index() == 1)
        co_return make_error_code(error::connect_timeout);
    auto [rec, endpoints] = std::get<0>(std::move(raced));
    if (rec || endpoints.empty())
        co_return make_error_code(error::resolve_failed);

    beast::tcp_stream tcp_stream(ex);
    tcp_stream.expires_at(deadline);
    auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, use_tuple);
    if (cec)
        co_return connect_error(cec);

    if (!t.tls) {
        tcp_stream.expires_after(options.read_timeout);
        auto out = co_await exchange(tcp_stream, req, options.max_response_bytes);
        error_code ignored;
        tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        co_return out;
    }

    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), *tls_ctx);
    SSL* ssl_handle = stream.native_handle();
    if (!t.host_is_ip)
        SSL_set_tlsext_host_name(ssl_handle, t.host.c_str());
    if (options.tls.verify) {
        int ok = t.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), t.host.c_str())
                              : SSL_set1_host(ssl_handle, t.host.c_str());
        if (ok != 1)
            co_return make_error_code(error::tls_config);
    }
    beast::get_lowest_layer(stream).expires_at(deadline);
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, use_tuple);
    if (hec)
        co_return hec == beast::error::timeout ? make_error_code(error::connect_timeout)
                                               : make_error_code(error::tls_failed);

    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    auto out = co_await exchange(stream, req, options.max_response_bytes);
    // No TLS shutdown handshake: the whole response is read and the server
    // was told `Connection: close`; waiting for close_notify only adds latency.
    error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return out;
}

}  // namespace countersign::http_client
