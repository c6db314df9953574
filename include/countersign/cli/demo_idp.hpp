// A tiny example identity provider for trying the gateway out: it mints
// signed JWTs and opaque tokens for whoever asks, publishes its public key as
// a JWKS and answers RFC 7662 introspection. NOT FOR PRODUCTION: anyone who
// can reach it gets any token they ask for.
//
// The endpoints are plain admin::router handlers (no Beast here); the
// `countersign demo-idp` command serves them with the admin listener.
//
//   GET  /                                   a short text help
//   GET  /jwks                               {"keys":[public JWK]}
//   GET  /.well-known/openid-configuration   issuer, jwks_uri, introspection_endpoint
//   GET  /token?sub=&scope=&aud=&ttl=&claims=   compact JWT + "\n", text/plain
//   GET  /opaque?sub=&scope=&aud=&ttl=&claims=  opaque token + "\n", text/plain
//   POST /introspect  (form token=…, HTTP Basic client_id:client_secret)
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include <countersign/admin/router.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/core/clock.hpp>
#include <countersign/jose/jwk.hpp>

namespace countersign::cli {

/// What one minted token says. Query parameters of /token and /opaque, and
/// the options of `countersign token`.
struct demo_token_request {
    std::string sub = "alice";
    std::string scope;                                 ///< "" = no `scope` claim
    std::string aud;                                   ///< "" = no `aud` claim
    std::int64_t ttl = 300;                            ///< seconds; negative = already expired
    nlohmann::json claims = nlohmann::json::object();  ///< merged last (overrides)

    static constexpr std::int64_t min_ttl = -86'400;
    static constexpr std::int64_t max_ttl = 7 * 86'400;

    /// Parses a query string (`sub`, `scope`, `aud`, `ttl`, `claims`; values
    /// percent-decoded, '+' is a space). Returns "" or a message naming the
    /// bad parameter; unknown parameters are refused (typos).
    std::string parse_query(std::string_view query);
    /// Checks `ttl` and `claims` (a JSON object); "" or a message.
    std::string validate() const;
};

/// The claims of a token for `req` issued at `now` (unix seconds): `iss`,
/// `sub`, `iat`, `exp`, a random `jti`, then `scope`, `aud` and `client_id`
/// when not empty, then `req.claims` on top.
nlohmann::json demo_claims(const demo_token_request& req, std::string_view issuer, std::string_view client_id,
                           std::int64_t now);

/// `claims` signed as a compact JWS with `key` (header typ JWT, alg, kid).
/// Returns the token, or "" when signing failed.
std::string sign_demo_token(const jose::jwk& key, const nlohmann::json& claims);

struct demo_idp_settings {
    std::string issuer = "http://127.0.0.1:9000";  ///< `iss`; jwks_uri etc. are <issuer>/…
    std::string client_id = "demo-client";          ///< introspection Basic credentials
    std::string client_secret = "demo-secret";
    std::size_t max_opaque_tokens = 10'000;         ///< the oldest are forgotten beyond this
};

/// The IdP's state: its key and the opaque tokens it issued (in memory).
/// Thread-safe.
class demo_idp {
public:
    /// `key` must be a private asymmetric key with an alg and a kid.
    demo_idp(jose::jwk key, demo_idp_settings settings, const clock& c = clock::system());

    const jose::jwk& key() const noexcept { return key_; }
    const demo_idp_settings& settings() const noexcept { return settings_; }
    /// Changes the issuer; only before the endpoints serve (e.g. once the
    /// listener knows its port).
    void set_issuer(std::string issuer) { settings_.issuer = std::move(issuer); }

    /// Registers the endpoints listed at the top of this file. The router
    /// keeps a shared reference to the IdP.
    static void add_routes(admin::router& r, std::shared_ptr<demo_idp> idp);

    admin::response jwks() const;
    admin::response openid_configuration() const;
    admin::response issue_jwt(const admin::request& req) const;
    admin::response issue_opaque(const admin::request& req);
    admin::response introspect(const admin::request& req);

private:
    /// Basic credentials in `authorization` equal client_id:client_secret.
    bool client_authenticated(std::string_view authorization) const;
    /// The claims of an active token (opaque or one of our JWTs), or nullopt.
    std::optional<nlohmann::json> active_claims(const std::string& token);

    jose::jwk key_;
    demo_idp_settings settings_;
    const clock& clock_;

    std::mutex mutex_;
    std::unordered_map<std::string, nlohmann::json> opaque_;  // token -> claims
    std::deque<std::string> opaque_order_;                    // oldest first
};

/// "HOST:PORT" or "[IPv6]:PORT" (port 0-65535) as a listen address; nullopt
/// when malformed.
std::optional<config::listen_address> parse_listen_address(std::string_view text);

/// Base URL of an issuer without a trailing slash, for `<issuer>/jwks`.
std::string issuer_base(std::string_view issuer);

}  // namespace countersign::cli
