#pragma once
// Compact JWS (RFC 7515 §7.1): strict parsing, sign / verify for every JWS
// algorithm through OpenSSL 3 EVP, and the high-level verify_jws /
// sign_compact. No function here throws on bad input; failures are
// jose::error codes.

#include "countersign/jose/alg.hpp"
#include "countersign/jose/error.hpp"
#include "countersign/jose/jwk.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace countersign::jose {

struct parse_limits {
    std::size_t max_token_bytes = 16384;   // whole compact token, checked before anything else
    std::size_t max_depth = 16;            // JSON nesting of the header
    std::size_t max_header_bytes = 8192;   // decoded header JSON
    // RFC 7797 unencoded payloads ("b64":false, listed in "crit"). Off by
    // default: a JWT verifier has no use for them (security checklist J12).
    bool allow_unencoded_payload = false;
};

struct jws {  // a parsed compact JWS, nothing verified yet
    nlohmann::json header;      // object; duplicates rejected while parsing
    std::string payload;        // decoded payload bytes
    std::string signing_input;  // "<b64 header>.<b64 payload>" exactly as received
    std::string signature;      // decoded

    std::string_view alg_name() const noexcept;  // header "alg" (empty if absent)
    std::string kid() const;                     // "" if absent
};

boost::system::result<jws> parse_compact(std::string_view token, const parse_limits& limits = {});
// Compact JWS with detached content (RFC 7515 Appendix F): the token's payload
// segment must be empty; `payload` is the detached content.
boost::system::result<jws> parse_compact_detached(std::string_view token, std::string_view payload,
                                                  const parse_limits& limits = {});

// Raw signature bytes (JWS form: r||s for ECDSA) over signing_input.
boost::system::result<std::string> sign(alg a, const jwk& key, std::string_view signing_input);
// Low-level check of one signature. Enforces alg/key agreement and the exact
// signature length for the alg before any cryptography.
boost::system::error_code verify(alg a, const jwk& key, std::string_view signing_input, std::string_view signature);

// High level: the header alg must be one of `allowed`, agree with the key
// (kty, crv, alg), and the key's use/key_ops must permit verification.
boost::system::error_code verify_jws(const jws& token, const jwk& key, std::span<const alg> allowed);

// High level: builds "<b64 header>.<b64 payload>.<b64 sig>". The header must be
// an object; its "alg" is set to `a` (an existing different alg is an error).
boost::system::result<std::string> sign_compact(const nlohmann::json& header, std::string_view payload, alg a,
                                                const jwk& key);

} // namespace countersign::jose
