#pragma once
// JWS algorithms (RFC 7518 §3, RFC 8037). The set is closed: "none" and every
// other name are rejected by alg_from_string.

#include "countersign/jose/error.hpp"

#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <string_view>

namespace countersign::jose {

enum class alg { hs256, hs384, hs512, rs256, rs384, rs512, ps256, ps384, ps512, es256, es384, es512, eddsa };

inline constexpr std::array<alg, 13> all_algs{alg::hs256, alg::hs384, alg::hs512, alg::rs256, alg::rs384,
                                              alg::rs512, alg::ps256, alg::ps384, alg::ps512, alg::es256,
                                              alg::es384, alg::es512, alg::eddsa};

std::string_view to_string(alg a) noexcept;

// Exact, case-sensitive. Any ASCII-case variant of "none" -> error::alg_none,
// everything else unknown -> error::unsupported_alg.
boost::system::result<alg> alg_from_string(std::string_view name) noexcept;

enum class alg_family { hmac, rsa_pkcs1, rsa_pss, ecdsa, eddsa };
alg_family family_of(alg a) noexcept;

// Digest size in bytes of the alg's hash (0 for EdDSA).
std::size_t hash_size(alg a) noexcept;

// JWK "crv" an ES alg requires ("P-256", ...); empty for other algs.
std::string_view curve_for(alg a) noexcept;

// The JWK "kty" an alg requires: "oct", "RSA", "EC" or "OKP".
std::string_view kty_for(alg a) noexcept;

} // namespace countersign::jose
