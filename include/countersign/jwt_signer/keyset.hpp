#pragma once
// An immutable, in-memory snapshot of one signing keyset: the current
// generation (signs and verifies) and the previous one (verifies only).
// Shared as std::shared_ptr<const keyset>; a rotation publishes a new object
// and requests holding the old one keep using it.

#include "countersign/jose/alg.hpp"
#include "countersign/jose/jwk.hpp"
#include "countersign/jwt_signer/keystore.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

/// How a generated keyset is made.
struct keyset_options {
    int rsa_bits = 2048;         ///< 2048, 3072 or 4096, for all RS* and PS* keys
    bool include_ed448 = false;  ///< add a second EdDSA key on Ed448 (after the Ed25519 one)
};

/// True for keyset names that are JWKS URLs ("http://", "https://", case-insensitive).
bool is_url_keyset(std::string_view name) noexcept;

/// Member names that must never appear in a published JWK.
inline constexpr std::string_view private_jwk_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

class keyset {
public:
    /// Imports every key of a stored record. A key that does not import, is
    /// not private, has no alg, or a duplicate kid within a generation ->
    /// keys_errc::corrupt naming `rec.origin`. Keys without a kid get their
    /// RFC 7638 thumbprint.
    static keys_result<std::shared_ptr<const keyset>> from_record(const keyset_record& rec);

    /// One fresh generation, in Kong's order: HS256, HS384, HS512, RS256,
    /// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA
    /// (Ed25519), and EdDSA (Ed448) when asked. Every key has `use:"sig"`, its
    /// `alg`, and kid = RFC 7638 thumbprint. Returns private JWK objects.
    /// Errors: generation_failed, invalid_keyset (bad rsa_bits).
    static keys_result<nlohmann::json> generate_generation(const keyset_options& options);

    /// Validates a JWKS fetched for a URL keyset: `{"keys":[...]}` with at
    /// least one key, every key private, with an `alg` it fits, `use` absent
    /// or "sig", kids unique (missing kids become thumbprints). Returns the
    /// normalised private JWK array. Errors: invalid_keyset with the reason.
    static keys_result<nlohmann::json> validate_private_jwks(const nlohmann::json& jwks);

    const std::string& name() const noexcept { return name_; }
    const std::string& id() const noexcept { return id_; }
    std::uint64_t generation() const noexcept { return generation_; }
    std::int64_t created_at() const noexcept { return created_at_; }
    /// When the current generation was installed (unix seconds).
    std::int64_t updated_at() const noexcept { return updated_at_; }
    const std::string& source_url() const noexcept { return source_url_; }
    bool is_url() const noexcept { return !source_url_.empty(); }

    const std::vector<jose::jwk>& current() const noexcept { return current_; }
    const std::vector<jose::jwk>& previous() const noexcept { return previous_; }

    /// First current key whose alg is `a` (EdDSA -> the Ed25519 key of a
    /// generated set); nullptr when there is none. Lock-free, no allocation.
    const jose::jwk* select(jose::alg a) const noexcept;

    /// `{"keys":[...]}`: public members only, never symmetric keys; with
    /// `include_previous` the previous generation follows the current one
    /// (keys whose kid is already listed are skipped). Precomputed.
    const nlohmann::json& public_jwks(bool include_previous = true) const noexcept
    {
        return include_previous ? public_all_ : public_current_;
    }
    /// The same document serialised (the bytes to serve).
    const std::string& public_jwks_text(bool include_previous = true) const noexcept
    {
        return include_previous ? public_all_text_ : public_current_text_;
    }
    /// Strong ETag (quoted) of public_jwks_text(include_previous).
    const std::string& etag(bool include_previous = true) const noexcept
    {
        return include_previous ? etag_all_ : etag_current_;
    }
    /// Kong's admin shape: `{"keys":[current public],"previous":[previous public]}`.
    const nlohmann::json& admin_jwks() const noexcept { return admin_; }

    /// The stored form (private keys), for persisting a successor.
    keyset_record to_record() const;
    /// rsa_bits of the current RSA keys and whether an Ed448 key is present.
    keyset_options inferred_options() const;

    struct private_tag {};
    explicit keyset(private_tag) {}

private:
    std::string name_;
    std::string id_;
    std::uint64_t generation_ = 0;
    std::int64_t created_at_ = 0;
    std::int64_t updated_at_ = 0;
    std::string source_url_;
    std::vector<jose::jwk> current_;
    std::vector<jose::jwk> previous_;
    nlohmann::json public_current_;
    nlohmann::json public_all_;
    nlohmann::json admin_;
    std::string public_current_text_;
    std::string public_all_text_;
    std::string etag_current_;
    std::string etag_all_;
};

using keyset_ptr = std::shared_ptr<const keyset>;

}  // namespace countersign::jwt_signer
