// RFC 7662 token introspection: the request, the seam interface and the real
// HTTP client. Maps Kong's `{t}_introspection_*` fields.
#pragma once

#include <countersign/core/net.hpp>
#include <countersign/http_client/client.hpp>

#include <nlohmann/json.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace countersign::jwt_signer {

/// Failures of introspection (network failures keep their http_client codes).
enum class introspection_error {
    /// The endpoint answered with a status other than 200.
    bad_status = 1,
    /// The body is not a JSON object.
    bad_json,
    /// `active` is not exactly `true` (the token is inactive, revoked or unknown).
    inactive,
    /// `{t}_introspection_body_args` is not a valid url-encoded form.
    bad_body_args,
};

const boost::system::error_category& introspection_category() noexcept;
boost::system::error_code make_error_code(introspection_error e) noexcept;

/// One introspection call.
struct introspection_request {
    /// `{t}_introspection_endpoint`.
    std::string endpoint;
    /// The opaque token.
    std::string token;
    /// `{t}_introspection_hint`, sent as `token_type_hint`; empty = not sent.
    std::string hint;
    /// `{t}_introspection_authorization`: the `Authorization` header value,
    /// verbatim; empty = none.
    std::string authorization;
    /// `{t}_introspection_body_args`, decoded (see parse_body_args), appended
    /// to the form in order.
    std::vector<std::pair<std::string, std::string>> body_args;
    /// `{t}_introspection_timeout`: bounds the connect phase and, separately,
    /// the exchange of one attempt.
    std::chrono::milliseconds timeout{10000};
    /// `{t}_endpoints_ssl_verify` and friends.
    http_client::tls_options tls;
    std::size_t max_response_bytes = 1024 * 1024;
};

/// Decodes Kong's url-encoded `body_args` string ("resource=x&a=1"; `+` is a
/// space). Done once at config load. Fails with `introspection_error::bad_body_args`
/// on a malformed percent escape.
result<std::vector<std::pair<std::string, std::string>>> parse_body_args(std::string_view urlencoded);

/// The `application/x-www-form-urlencoded` body of a request: token, then
/// token_type_hint (if any), then the body args.
std::string introspection_form(const introspection_request& req);

/// The introspection seam.
class introspection_client {
public:
    virtual ~introspection_client() = default;
    /// Calls the endpoint. Runs on the calling coroutine's executor.
    /// @return the whole JSON object of an active token; `inactive` when
    ///   `active` is not `true`; otherwise the failure.
    virtual net::awaitable<result<std::shared_ptr<const nlohmann::json>>> introspect(introspection_request req) = 0;
};

/// The real client: `POST` with `Content-Type: application/x-www-form-urlencoded;
/// charset=utf-8`, one retry when the first attempt fails at the connection
/// level (never after a timeout once the request was sent, never on an HTTP
/// status), 200 and a JSON object required.
class http_introspection_client final : public introspection_client {
public:
    explicit http_introspection_client(http_client::client& client = http_client::client::shared()) : client_(client) {}
    net::awaitable<result<std::shared_ptr<const nlohmann::json>>> introspect(introspection_request req) override;

private:
    http_client::client& client_;
};

}  // namespace countersign::jwt_signer

namespace boost::system {
template <>
struct is_error_code_enum<countersign::jwt_signer::introspection_error> : std::true_type {};
}  // namespace boost::system
