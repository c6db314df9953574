// Downloads a JWKS document: the seam between the JWKS cache and the network.
// `http_jwks_fetcher` is the real one; tests may substitute their own.
#pragma once

#include <countersign/core/net.hpp>
#include <countersign/http_client/client.hpp>

#include <nlohmann/json.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>

namespace countersign::jwt_signer {

/// Failures of the JWKS layer (network failures keep their http_client codes).
enum class jwks_error {
    /// The JWKS or discovery endpoint answered with a status other than 200.
    bad_status = 1,
    /// The body is not JSON.
    bad_json,
    /// The body is not an object with a `keys` array (Kong treats a bare array as a failure too).
    not_a_jwks,
    /// The openid-configuration document has no usable `jwks_uri` (missing, not
    /// a string, not http(s), or http when the document came over https).
    bad_discovery,
    /// No key matches the token (after the throttled refetch and the alg fallback).
    key_not_found,
    /// No key set could be obtained and the last failure is still within the backoff.
    unavailable,
};

const boost::system::error_category& jwks_category() noexcept;
boost::system::error_code make_error_code(jwks_error e) noexcept;

/// How to reach one JWKS source. Maps Kong's `{t}_jwks_uri_*` and
/// `{t}_endpoints_ssl_verify` fields.
struct jwks_source_options {
    /// `{t}_endpoints_ssl_verify`, CA, and the mTLS client certificate.
    http_client::tls_options tls;
    /// `{t}_jwks_uri_client_username` / `_password`.
    std::optional<http_client::basic_credentials> basic;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds read_timeout{10000};
    std::size_t max_bytes = 1024 * 1024;
    /// `{t}_jwks_uri_rotate_period`: refetch when the set is older than this
    /// (0 = never). Not part of the cache key: when several configs use one
    /// source, the smallest period wins (as in Kong).
    std::chrono::seconds rotate_period{0};
};

/// One downloaded JWKS.
struct jwks_document {
    /// The JSON object (has a `keys` array).
    nlohmann::json jwks;
    /// `Cache-Control: max-age` of the answer (0 for no-cache / no-store), unclamped.
    std::optional<std::chrono::seconds> max_age;
    /// The URI the keys came from (differs from the configured one after discovery).
    std::string jwks_uri;
};

/// The fetch seam.
class jwks_fetcher {
public:
    virtual ~jwks_fetcher() = default;
    /// Downloads the key set behind `uri`. Runs on the calling coroutine's executor.
    virtual net::awaitable<result<jwks_document>> fetch(std::string uri, jwks_source_options options) = 0;
};

/// The real fetcher: `GET` with `Accept: application/json`, 200 required, one
/// retry on a connection failure (Kong does the same). A URI whose path ends in
/// `/.well-known/openid-configuration` is fetched first and its `jwks_uri`
/// followed (with the same options).
class http_jwks_fetcher final : public jwks_fetcher {
public:
    explicit http_jwks_fetcher(http_client::client& client = http_client::client::shared()) : client_(client) {}
    net::awaitable<result<jwks_document>> fetch(std::string uri, jwks_source_options options) override;

private:
    http_client::client& client_;
};

/// True when `uri`'s path ends in `/.well-known/openid-configuration`.
bool is_discovery_uri(std::string_view uri) noexcept;

/// The `max-age` of a Cache-Control value: `max-age=N` gives N; `no-store` or
/// `no-cache` give 0; otherwise nullopt.
std::optional<std::chrono::seconds> parse_max_age(std::string_view cache_control) noexcept;

}  // namespace countersign::jwt_signer

namespace boost::system {
template <>
struct is_error_code_enum<countersign::jwt_signer::jwks_error> : std::true_type {};
}  // namespace boost::system
