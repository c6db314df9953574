#pragma once
// Error codes of the JOSE module. Every expected failure on the parse, sign
// and verify paths is reported as one of these (never as an exception), so a
// caller can map each reason to an HTTP status and a metric label.

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace countersign::jose {

enum class error {
    // framing / encoding
    malformed_token = 1,   // not exactly three segments, empty header, ...
    bad_base64,            // not strict unpadded base64url
    bad_json,              // not strict JSON, or header not an object
    duplicate_member,      // a JSON object repeats a member name
    too_large,             // input above the configured size limit
    too_deep,              // JSON nesting above the configured depth
    bad_header,            // header member of the wrong type (alg, kid, crit, b64, ...)
    // algorithm policy
    missing_alg,           // header has no "alg"
    unsupported_alg,       // unknown or non-JWS algorithm name
    alg_none,              // "none" in any spelling
    alg_not_allowed,       // alg not in the caller's allow-list
    alg_key_mismatch,      // alg disagrees with the key's kty / crv / alg
    unknown_crit,          // "crit" lists an extension we do not understand
    b64_unsupported,       // RFC 7797 b64 misuse, or disabled by parse_limits
    zip_unsupported,       // "zip" on a JWS
    // signature
    bad_signature,         // cryptographic check failed
    bad_signature_length,  // signature length wrong for alg / key
    // keys
    weak_key,              // RSA below policy, bad exponent, ROCA, short HMAC key
    key_too_large,         // RSA above policy, oversized oct key
    bad_key,               // malformed or inconsistent key material
    missing_member,        // required JWK member absent
    not_on_curve,          // EC point not on the named curve
    unsupported_key_type,  // kty not RSA / EC / OKP / oct
    unsupported_curve,     // crv not P-256 / P-384 / P-521 / Ed25519 / Ed448
    key_use_mismatch,      // "use" / "key_ops" forbid this operation
    private_key_required,  // signing with a public key
    symmetric_key_not_exportable, // public export of an oct key
    symmetric_key_not_allowed,    // oct key where key_policy forbids it (fetched JWKS)
    private_key_not_allowed,      // private members where key_policy forbids them
    crypto_failure,        // OpenSSL reported an unexpected internal error
};

const boost::system::error_category& jose_category() noexcept;
boost::system::error_code make_error_code(error e) noexcept;

} // namespace countersign::jose

namespace boost::system {
template <>
struct is_error_code_enum<countersign::jose::error> : std::true_type {};
} // namespace boost::system
