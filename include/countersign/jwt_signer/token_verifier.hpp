#pragma once
// Classifying and verifying an incoming token (reference §3.1 step 3, §3.4,
// §3.5): JWS / JWE / opaque, the JOSE header policy (`alg`, `typ`, HS only
// with `enable_hs_signatures`), key selection through the node-wide JWKS
// cache in Kong's order, and the signature check. `jku`, `x5u`, `jwk` and
// `x5c` are never used: the key always comes from the configured JWKS.
// With verification off (`verify_<t>_signature: false`) a JWS is only
// decoded, so any JWT is accepted and re-signed ("trust the network").

#include <countersign/core/net.hpp>
#include <countersign/jose/alg.hpp>
#include <countersign/jwt_signer/error.hpp>
#include <countersign/jwt_signer/jwks_fetcher.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

class jwks_cache;

/// Kong's token classification: split on '.'; when every segment before the
/// last one is base64url and the first decodes to a JSON object, 3 segments
/// are a JWS and 5 a JWE; everything else is opaque (introspected).
enum class token_type { jws, jwe, opaque };

token_type classify_token(std::string_view token);
std::string_view to_string(token_type t) noexcept;

/// Settings of one slot's verifier, built once at load.
struct verifier_settings {
    token_kind kind = token_kind::access;
    bool verify_signature = true;          ///< verify_<t>_signature
    std::string jwks_uri;                  ///< <t>_jwks_uri; "" = none
    jwks_source_options jwks_options;      ///< TLS, Basic, rotate period
    /// Algorithms accepted on incoming tokens: every asymmetric one, plus
    /// HS256/384/512 when `enable_hs_signatures`.
    std::vector<jose::alg> allowed_algs;
    std::size_t max_token_bytes = 8192;    ///< countersign extension
    std::size_t max_kid_bytes = 256;       ///< longer kids are refused before any lookup
};

/// The allowed list for `enable_hs_signatures`.
std::vector<jose::alg> allowed_algorithms(bool enable_hs_signatures);

/// A verified (or, verification off, decoded) JWS.
struct verified_jws {
    auth_status status;          ///< ok, or the reason (never leaks to the client)
    nlohmann::json header;       ///< the JOSE header
    nlohmann::json payload;      ///< the claims object (when ok)
};

/// Decodes header and payload of a compact JWS without verifying anything
/// (used with verification off and for `introspection_jwt_claim`). The
/// payload must be a JSON object (else unsupported_token).
verified_jws decode_jws_unverified(std::string_view token, std::size_t max_token_bytes = 8192);

/// Verifies JWS tokens for one slot. Immutable; safe to share between threads.
class token_verifier {
public:
    /// `cache` must outlive the verifier (node-wide); may be null when the
    /// slot has no jwks_uri.
    token_verifier(verifier_settings settings, std::shared_ptr<jwks_cache> cache);

    const verifier_settings& settings() const noexcept { return settings_; }

    /// Verifies a token already classified as JWS. Failures:
    /// no_jwks_uri, alg_not_allowed (none, unknown, HS disabled, bad typ,
    /// key alg mismatch), no_key (no suitable JWK, JWKS unavailable),
    /// bad_signature (also undecodable), unsupported_token (payload not an
    /// object), too_large.
    net::awaitable<verified_jws> verify(std::string token) const;

private:
    verifier_settings settings_;
    std::shared_ptr<jwks_cache> cache_;
};

}  // namespace countersign::jwt_signer
