// A loopback identity provider for tests: serves a JWKS, an
// openid-configuration document and an RFC 7662 introspection endpoint over
// HTTP or HTTPS on 127.0.0.1 (ephemeral port), on its own thread.
//
// It can rotate keys (set_jwks), answer slowly (set_delay), go down and come
// back on the same port (stop_listening / start_listening), drop connections
// without answering (drop_next_connections), send Cache-Control max-age,
// require Basic auth or a client certificate, and count calls per path.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::test {

/// A throw-away PKI generated once per process with OpenSSL (EC P-256): a CA,
/// a server certificate for 127.0.0.1 / localhost signed by it, and a client
/// certificate signed by it. `ca_file` is the CA written to a temp file.
struct test_pki {
    std::string ca_cert_pem;
    std::string ca_file;
    std::string server_cert_pem;
    std::string server_key_pem;
    std::string client_cert_pem;
    std::string client_key_pem;
    std::string client_cert_file;
    std::string client_key_file;

    static const test_pki& get();
};

/// What the IdP saw in one request.
struct idp_request {
    std::string method;
    std::string path;    // without the query
    std::string target;  // with the query
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    std::map<std::string, std::string> form;      // decoded x-www-form-urlencoded body
};

class idp_server {
public:
    struct options {
        bool tls = false;
        /// HTTPS only: refuse clients without a certificate from test_pki's CA.
        bool require_client_cert = false;
    };

    /// Answers an introspection request; the returned JSON is sent with 200.
    using introspection_handler = std::function<nlohmann::json(const idp_request&)>;

    idp_server();
    explicit idp_server(options opts);
    ~idp_server();
    idp_server(const idp_server&) = delete;
    idp_server& operator=(const idp_server&) = delete;

    std::uint16_t port() const;
    /// "http://127.0.0.1:<port>" or "https://...".
    std::string base_url() const;
    std::string url(std::string_view path) const { return base_url() + std::string(path); }

    static constexpr std::string_view jwks_path = "/jwks";
    static constexpr std::string_view discovery_path = "/.well-known/openid-configuration";
    static constexpr std::string_view introspection_path = "/introspect";

    /// The JWKS served at jwks_path (replacing it = key rotation).
    void set_jwks(nlohmann::json jwks);
    /// A raw body for jwks_path (for malformed-document tests).
    void set_jwks_body(std::string body);
    /// Adds `Cache-Control: max-age=<n>` to JWKS answers (nullopt = none).
    void set_max_age(std::optional<int> seconds);
    /// Overrides the status of every answer for `path` (0 = normal).
    void set_status(std::string_view path, unsigned status);
    /// The jwks_uri announced by the discovery document (default: url(jwks_path)).
    void set_discovery_jwks_uri(std::string uri);

    /// Introspection: a fixed answer per token; unknown tokens get {"active":false}.
    void set_token(std::string token, nlohmann::json answer);
    /// Introspection: full control (overrides set_token).
    void set_introspection_handler(introspection_handler handler);

    /// Every answer waits this long after the request was read.
    void set_delay(std::chrono::milliseconds delay);
    /// Every request must carry these Basic credentials (else 401).
    void require_basic(std::string username, std::string password);
    /// The next `n` accepted connections are closed without reading or answering.
    void drop_next_connections(int n);

    /// Closes the listening socket: new connections are refused.
    void stop_listening();
    /// Listens again on the same port.
    void start_listening();

    /// Number of requests answered (or attempted) per path.
    std::size_t calls(std::string_view path) const;
    /// Number of TCP connections accepted, including dropped ones and those
    /// whose TLS handshake failed (they never reach `calls`).
    std::size_t connections() const;
    /// Resets `calls` and `connections`.
    void reset_calls();
    /// The most recent request for `path`, if any.
    std::optional<idp_request> last_request(std::string_view path) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace countersign::test
