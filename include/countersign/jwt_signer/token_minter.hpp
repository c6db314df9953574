#pragma once
// Mints the re-signed token: compact JWS with header
// {"typ":"JWT","alg":<alg>,"kid":<kid>} over the given claims, signed with
// the first current key of the keyset whose alg matches (reference §3.11).
// Pure and thread-safe; takes a keyset snapshot so a concurrent rotation
// cannot change the key under it.

#include "countersign/jose/alg.hpp"
#include "countersign/jwt_signer/claims_transform.hpp"
#include "countersign/jwt_signer/keyset.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace countersign::jwt_signer {

struct minted_token {
    std::string token;  ///< compact JWS
    std::string kid;    ///< kid of the signing key
    /// The re-signed token's `exp` (whole seconds), when it has a numeric one.
    std::optional<std::int64_t> exp;
};

/// The 12 algorithms a re-signed token may use (Kong's enum; no RS384).
bool is_signing_algorithm(jose::alg a) noexcept;

/// Signs `claims` (must be a JSON object) with `ks.select(a)`.
/// Errors: keys_errc::no_key_for_alg (keyset lacks the alg, or the alg is
/// RS384), keys_errc::invalid_claims (not an object, not serialisable),
/// keys_errc::signing_failed (JOSE refused; should not happen for stored keys).
boost::system::result<minted_token> mint(const nlohmann::json& claims, const keyset& ks, jose::alg a);

/// transform.apply() then mint(): the whole payload side of re-signing.
boost::system::result<minted_token> resign(const nlohmann::json& original_claims, claims_source source,
                                           const claims_transform& transform, const keyset& ks, jose::alg a,
                                           std::int64_t now_unix);

}  // namespace countersign::jwt_signer
