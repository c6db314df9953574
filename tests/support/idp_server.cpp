#include "support/idp_server.hpp"

#include <countersign/core/beast.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace countersign::test {

namespace ssl = boost::asio::ssl;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

//------------------------------------------------------------------------------
// PKI

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

pkey_ptr make_ec_key()
{
    pkey_ptr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
    if (!key)
        throw std::runtime_error("EVP_EC_gen failed");
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext)
        throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// Issues a certificate for `key`, signed by `issuer_key` (self-signed when
// issuer is null).
x509_ptr issue(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool is_ca, const char* san,
               long serial)
{
    x509_ptr cert(X509_new(), &X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509* issuer_cert = issuer ? issuer : cert.get();
    if (is_ca) {
        add_ext(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    }
    if (san)
        add_ext(cert.get(), issuer_cert, NID_subject_alt_name, san);
    if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0)
        throw std::runtime_error("X509_sign failed");
    return cert;
}

std::string cert_pem(X509* cert)
{
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

std::string key_pem(EVP_PKEY* key)
{
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

std::string write_temp(const std::string& name, const std::string& content)
{
    auto dir = std::filesystem::temp_directory_path() / ("countersign-idp-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    auto path = dir / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
}

test_pki make_pki()
{
    auto ca_key = make_ec_key();
    auto ca = issue(ca_key.get(), "countersign test CA", nullptr, ca_key.get(), true, nullptr, 1);
    auto server_key = make_ec_key();
    auto server = issue(server_key.get(), "localhost", ca.get(), ca_key.get(), false,
                        "DNS:localhost,IP:127.0.0.1", 2);
    auto client_key = make_ec_key();
    auto client = issue(client_key.get(), "countersign test client", ca.get(), ca_key.get(), false, nullptr, 3);
    test_pki pki;
    pki.ca_cert_pem = cert_pem(ca.get());
    pki.server_cert_pem = cert_pem(server.get());
    pki.server_key_pem = key_pem(server_key.get());
    pki.client_cert_pem = cert_pem(client.get());
    pki.client_key_pem = key_pem(client_key.get());
    pki.ca_file = write_temp("ca.pem", pki.ca_cert_pem);
    pki.client_cert_file = write_temp("client.pem", pki.client_cert_pem);
    pki.client_key_file = write_temp("client.key", pki.client_key_pem);
    return pki;
}

std::string url_decode(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::map<std::string, std::string> parse_form(std::string_view body)
{
    std::map<std::string, std::string> out;
    while (!body.empty()) {
        auto amp = body.find('&');
        auto pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty())
            continue;
        auto eq = pair.find('=');
        out[url_decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
    }
    return out;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

const test_pki& test_pki::get()
{
    static const test_pki pki = make_pki();
    return pki;
}

//------------------------------------------------------------------------------
// Server

struct idp_server::impl {
    options opts;
    std::optional<ssl::context> tls_ctx;  // before ioc: sessions die with ioc
    net::io_context ioc;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::thread thread;
    std::shared_ptr<tcp::acceptor> acceptor;
    std::uint16_t bound_port = 0;

    mutable std::mutex mutex;
    std::string jwks_body = R"({"keys":[]})";
    std::optional<int> max_age;
    std::map<std::string, unsigned, std::less<>> status_override;
    std::string discovery_jwks_uri;
    std::map<std::string, nlohmann::json> tokens;
    introspection_handler handler;
    std::chrono::milliseconds delay{0};
    std::optional<std::string> basic_auth;  // expected Authorization value
    int drop_connections = 0;
    std::map<std::string, std::size_t, std::less<>> counts;
    std::size_t accepted = 0;
    std::map<std::string, idp_request, std::less<>> last;

    std::string base_url() const
    {
        return std::string(opts.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(bound_port);
    }

    void listen()
    {
        auto a = std::make_shared<tcp::acceptor>(ioc);
        tcp::endpoint ep(net::ip::make_address("127.0.0.1"), bound_port);
        a->open(ep.protocol());
        a->set_option(net::socket_base::reuse_address(true));
        a->bind(ep);
        a->listen();
        bound_port = a->local_endpoint().port();
        acceptor = a;
        net::co_spawn(ioc, accept_loop(this, std::move(a)), net::detached);
    }

    static net::awaitable<void> accept_loop(impl* self, std::shared_ptr<tcp::acceptor> acc)
    {
        for (;;) {
            auto [ec, sock] = co_await acc->async_accept(use_tuple);
            if (ec)
                co_return;  // closed by stop_listening
            bool drop = false;
            {
                std::lock_guard lock(self->mutex);
                ++self->accepted;
                if (self->drop_connections > 0) {
                    --self->drop_connections;
                    drop = true;
                }
            }
            if (drop) {
                // RST rather than FIN: the client sees a reset connection.
                error_code ignored;
                sock.set_option(net::socket_base::linger(true, 0), ignored);
                sock.close(ignored);
                continue;
            }
            net::co_spawn(self->ioc, session(self, std::move(sock)), net::detached);
        }
    }

    static net::awaitable<void> session(impl* self, tcp::socket sock)
    {
        beast::tcp_stream stream(std::move(sock));
        stream.expires_after(std::chrono::seconds(30));
        if (self->opts.tls) {
            beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), *self->tls_ctx);
            auto [ec] = co_await tls.async_handshake(ssl::stream_base::server, use_tuple);
            if (ec)
                co_return;
            co_await serve(self, tls);
            co_await tls.async_shutdown(use_tuple);
        } else {
            co_await serve(self, stream);
            error_code ignored;
            stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
    }

    template <class Stream>
    static net::awaitable<void> serve(impl* self, Stream& stream)
    {
        beast::flat_buffer buffer;
        http::request<http::string_body> req;
        auto [ec, n] = co_await http::async_read(stream, buffer, req, use_tuple);
        if (ec)
            co_return;
        auto res = self->handle(req);
        std::chrono::milliseconds delay;
        {
            std::lock_guard lock(self->mutex);
            delay = self->delay;
        }
        if (delay.count() > 0) {
            net::steady_timer timer(self->ioc, delay);
            co_await timer.async_wait(use_tuple);
        }
        co_await http::async_write(stream, res, use_tuple);
    }

    http::response<http::string_body> handle(const http::request<http::string_body>& req)
    {
        idp_request r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.path = r.target.substr(0, r.target.find('?'));
        for (const auto& f : req.base())
            r.headers[lower(f.name_string())] = std::string(f.value());
        r.body = req.body();
        r.form = parse_form(r.body);

        http::response<http::string_body> res;
        res.version(11);
        res.set(http::field::content_type, "application/json");
        res.keep_alive(false);

        std::unique_lock lock(mutex);
        ++counts[r.path];
        last[r.path] = r;
        auto respond = [&](unsigned status, std::string body) {
            if (auto it = status_override.find(r.path); it != status_override.end() && it->second != 0)
                status = it->second;
            res.result(status);
            res.body() = std::move(body);
            res.prepare_payload();
            return res;
        };
        if (basic_auth) {
            auto it = r.headers.find("authorization");
            if (it == r.headers.end() || it->second != *basic_auth) {
                res.set(http::field::www_authenticate, "Basic realm=\"idp\"");
                return respond(401, R"({"error":"unauthorized"})");
            }
        }
        if (r.path == jwks_path) {
            if (max_age)
                res.set(http::field::cache_control, "public, max-age=" + std::to_string(*max_age));
            return respond(200, jwks_body);
        }
        if (r.path == discovery_path) {
            nlohmann::json doc{{"issuer", base_url()},
                               {"jwks_uri", discovery_jwks_uri.empty() ? base_url() + std::string(jwks_path)
                                                                       : discovery_jwks_uri},
                               {"introspection_endpoint", base_url() + std::string(introspection_path)}};
            return respond(200, doc.dump());
        }
        if (r.path == introspection_path) {
            if (r.method != "POST")
                return respond(405, R"({"error":"method"})");
            if (handler) {
                auto h = handler;
                lock.unlock();
                auto answer = h(r);
                lock.lock();
                return respond(200, answer.dump());
            }
            auto it = tokens.find(r.form["token"]);
            return respond(200, it == tokens.end() ? std::string(R"({"active":false})") : it->second.dump());
        }
        return respond(404, R"({"error":"not found"})");
    }

    // Runs `f` on the server thread and waits for it.
    template <class F>
    void run_sync(F f)
    {
        std::promise<void> done;
        net::post(ioc, [&] {
            try {
                f();
                done.set_value();
            } catch (...) {
                done.set_exception(std::current_exception());
            }
        });
        done.get_future().get();
    }
};

idp_server::idp_server() : idp_server(options{}) {}

idp_server::idp_server(options opts) : impl_(std::make_unique<impl>())
{
    impl_->opts = opts;
    if (opts.tls) {
        const auto& pki = test_pki::get();
        impl_->tls_ctx.emplace(ssl::context::tls_server);
        impl_->tls_ctx->use_certificate_chain(net::buffer(pki.server_cert_pem));
        impl_->tls_ctx->use_private_key(net::buffer(pki.server_key_pem), ssl::context::pem);
        if (opts.require_client_cert) {
            impl_->tls_ctx->add_certificate_authority(net::buffer(pki.ca_cert_pem));
            impl_->tls_ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
        }
    }
    impl_->listen();
    impl_->work.emplace(impl_->ioc.get_executor());
    impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

idp_server::~idp_server()
{
    impl_->run_sync([i = impl_.get()] {
        if (i->acceptor)
            i->acceptor->close();
    });
    impl_->work.reset();
    impl_->ioc.stop();
    impl_->thread.join();
}

std::uint16_t idp_server::port() const { return impl_->bound_port; }
std::string idp_server::base_url() const { return impl_->base_url(); }

void idp_server::set_jwks(nlohmann::json jwks) { set_jwks_body(jwks.dump()); }

void idp_server::set_jwks_body(std::string body)
{
    std::lock_guard lock(impl_->mutex);
    impl_->jwks_body = std::move(body);
}

void idp_server::set_max_age(std::optional<int> seconds)
{
    std::lock_guard lock(impl_->mutex);
    impl_->max_age = seconds;
}

void idp_server::set_status(std::string_view path, unsigned status)
{
    std::lock_guard lock(impl_->mutex);
    impl_->status_override[std::string(path)] = status;
}

void idp_server::set_discovery_jwks_uri(std::string uri)
{
    std::lock_guard lock(impl_->mutex);
    impl_->discovery_jwks_uri = std::move(uri);
}

void idp_server::set_token(std::string token, nlohmann::json answer)
{
    std::lock_guard lock(impl_->mutex);
    impl_->tokens[std::move(token)] = std::move(answer);
}

void idp_server::set_introspection_handler(introspection_handler handler)
{
    std::lock_guard lock(impl_->mutex);
    impl_->handler = std::move(handler);
}

void idp_server::set_delay(std::chrono::milliseconds delay)
{
    std::lock_guard lock(impl_->mutex);
    impl_->delay = delay;
}

void idp_server::require_basic(std::string username, std::string password)
{
    // Same encoding as the client's; computed here to keep the server standalone.
    std::string plain = username + ":" + password;
    std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                            reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size()));
    encoded.resize(static_cast<std::size_t>(n));
    std::lock_guard lock(impl_->mutex);
    impl_->basic_auth = "Basic " + encoded;
}

void idp_server::drop_next_connections(int n)
{
    std::lock_guard lock(impl_->mutex);
    impl_->drop_connections = n;
}

void idp_server::stop_listening()
{
    impl_->run_sync([i = impl_.get()] {
        if (i->acceptor) {
            i->acceptor->close();
            i->acceptor.reset();
        }
    });
}

void idp_server::start_listening()
{
    impl_->run_sync([i = impl_.get()] {
        if (!i->acceptor)
            i->listen();
    });
}

std::size_t idp_server::calls(std::string_view path) const
{
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->counts.find(path);
    return it == impl_->counts.end() ? 0 : it->second;
}

std::size_t idp_server::connections() const
{
    std::lock_guard lock(impl_->mutex);
    return impl_->accepted;
}

void idp_server::reset_calls()
{
    std::lock_guard lock(impl_->mutex);
    impl_->counts.clear();
    impl_->accepted = 0;
}

std::optional<idp_request> idp_server::last_request(std::string_view path) const
{
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->last.find(path);
    if (it == impl_->last.end())
        return std::nullopt;
    return it->second;
}

}  // namespace countersign::test
