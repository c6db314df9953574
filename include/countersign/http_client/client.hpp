// Asynchronous HTTP/1.1 client over plain TCP or TLS (Beast + OpenSSL), for
// the gateway's own outbound calls: JWKS downloads, openid-configuration
// discovery, token introspection and remote keysets. These calls are rare and
// small, so the client favours correctness over throughput: one connection per
// request (`Connection: close`), the whole body in memory, a hard size cap.
//
// Beast stays out of this header; the implementation lives in
// src/http_client/client.cpp.
#pragma once

#include <countersign/core/net.hpp>
#include <countersign/http_client/error.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace countersign::http_client {

/// TLS settings of one request. Requests with equal settings share one
/// OpenSSL `SSL_CTX` (see `client`), so building it is paid once.
struct tls_options {
    /// Verify the peer's chain and that it names the URL's host
    /// (`SSL_set1_host`, or the IP address for a literal IP).
    bool verify = true;
    /// PEM file of trusted CAs. With neither this nor `ca_pem`, the system
    /// default trust store is used.
    std::string ca_file;
    /// PEM text of trusted CAs (alternative to `ca_file`).
    std::string ca_pem;
    /// Client certificate chain for mTLS: a PEM file path or PEM text.
    std::string client_cert_file;
    std::string client_cert_pem;
    /// Private key of the client certificate: a PEM file path or PEM text.
    std::string client_key_file;
    std::string client_key_pem;

    bool operator==(const tls_options&) const = default;
};

/// HTTP Basic credentials; sent as `Authorization: Basic base64(user:pass)`.
struct basic_credentials {
    std::string username;
    std::string password;
};

/// Everything one request needs.
struct request_options {
    std::string method = "GET";
    /// Absolute `http://` or `https://` URL (parsed with Boost.URL).
    std::string url;
    /// Extra request headers. `Host`, `Content-Length` and `Connection` are
    /// set by the client; a `User-Agent` is added unless given here.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    /// Bound on resolve + TCP connect + TLS handshake.
    std::chrono::milliseconds connect_timeout{5000};
    /// Total deadline for writing the request and reading the whole response.
    std::chrono::milliseconds read_timeout{10000};
    /// Responses (headers plus body) above this fail with `error::too_large`.
    std::size_t max_response_bytes = 1024 * 1024;
    tls_options tls;
    /// When set, overrides any `Authorization` header in `headers`.
    std::optional<basic_credentials> basic;
};

/// A complete response.
struct response {
    unsigned status = 0;
    /// Header names in lower case; repeated headers are joined with ", ".
    std::map<std::string, std::string> headers;
    std::string body;

    /// The value of a header (name in any case), or nullptr.
    const std::string* header(std::string_view name) const;
};

/// The value of `Authorization` for HTTP Basic credentials.
std::string basic_authorization(std::string_view username, std::string_view password);

/// An HTTP(S) client. It owns a cache of TLS contexts keyed by `tls_options`;
/// that is its only state.
///
/// @par Thread safety
/// One `client` may be used by any number of coroutines on any threads at
/// once. It must outlive the requests it runs.
class client {
public:
    client();
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Sends one request and reads the whole response. The I/O objects are
    /// created on `ex`; the calling coroutine is suspended, never blocked.
    /// Any HTTP status is a success: callers check `response::status`.
    /// @return the response, or an `http_client::error` (see error.hpp).
    net::awaitable<result<response>> request(net::any_io_executor ex, request_options options);

    /// Builds (or finds) the TLS context for `tls` now, so that a bad CA file
    /// or client key is reported at configuration time rather than on the
    /// first request. Reads files; does no network I/O.
    error_code prepare_tls(const tls_options& tls);

    /// Number of distinct TLS contexts built so far (for tests and metrics).
    std::size_t tls_context_count() const;

    /// A process-wide instance, for callers that do not need their own.
    static client& shared();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace countersign::http_client
