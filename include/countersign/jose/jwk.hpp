#pragma once
// JSON Web Key (RFC 7517/7518/8037): import, export, PEM, generation and
// RFC 7638 thumbprints. A jwk is immutable after construction and holds a
// ready EVP_PKEY (or the secret bytes of an oct key), so nothing is parsed per
// request. Copies are cheap (shared, reference-counted key material).

#include "countersign/jose/alg.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace countersign::jose {

namespace detail {
struct jwk_builder;
}

struct key_policy {
    int min_rsa_bits = 2048;        // RSA moduli below this are refused (error::weak_key)
    int max_rsa_bits = 8192;        // ... and above this (error::key_too_large), bounds CPU per verify
    bool allow_symmetric = true;    // false: oct keys are refused
    bool allow_private = true;      // false for fetched JWKS: asymmetric keys with private members are refused
    bool reject_roca = true;        // refuse RSA moduli with the ROCA (CVE-2017-15361) fingerprint
};

class jwk {
public:
    // Imports a JWK object. Validates kty/crv/alg agreement, coordinate and
    // key sizes, that EC points lie on their curve, RSA exponent and size.
    static boost::system::result<jwk> from_json(const nlohmann::json& j, const key_policy& policy = {});
    // Imports a PEM public key (SPKI), private key (PKCS#8 or traditional) or
    // certificate (its public key; x5t / x5t#S256 are filled in).
    static boost::system::result<jwk> from_pem(std::string_view pem, std::optional<alg> a = {},
                                               const key_policy& policy = {});
    // Wraps raw secret bytes as an oct key.
    static boost::system::result<jwk> from_secret(std::string_view secret, std::optional<alg> a = {},
                                                  const key_policy& policy = {});
    // Generates a fresh key for `a`: RSA (rsa_bits 2048/3072/4096), EC on the
    // alg's curve, OKP (okp_curve "Ed25519" or "Ed448"), oct of the hash size.
    static boost::system::result<jwk> generate(alg a, int rsa_bits = 2048, std::string_view okp_curve = "Ed25519");
    // oct key of 256, 384 or 512 bits.
    static boost::system::result<jwk> generate_oct(int bits, std::optional<alg> a = {});

    std::string_view kty() const noexcept { return kty_; }
    std::string_view crv() const noexcept { return crv_; }
    std::string_view kid() const noexcept { return kid_; }
    std::string_view use() const noexcept { return use_; }
    const std::vector<std::string>& key_ops() const noexcept { return key_ops_; }
    std::optional<alg> algorithm() const noexcept { return alg_; }
    std::string_view x5t() const noexcept { return x5t_; }
    std::string_view x5t_s256() const noexcept { return x5t_s256_; }
    int bits() const noexcept { return bits_; }

    bool is_private() const noexcept { return private_; }
    bool is_symmetric() const noexcept { return kty_ == "oct"; }

    // Same key with another kid (keys are immutable; this makes a copy).
    jwk with_kid(std::string kid) const;
    // Same key pinned to one alg; fails when the alg does not fit the key.
    boost::system::result<jwk> with_alg(alg a) const;
    // Public half of a private key (same kid/alg/use); oct -> error.
    boost::system::result<jwk> public_key() const;

    // THE public export: built from a whitelist (kty, kid, use, key_ops,
    // alg, crv, n, e, x, y, x5c, x5t, x5t#S256), so d, p, q, dp, dq, qi, oth
    // and k can never appear. oct keys have no public form: returns null.
    nlohmann::json to_public_json() const;
    // Full key including private members, for storage only.
    nlohmann::json to_private_json() const;
    std::string to_pem_public() const;   // "" for oct
    std::string to_pem_private() const;  // "" for oct or public keys
    // RFC 7638 JWK thumbprint: base64url(SHA-256(canonical required members)).
    std::string thumbprint() const;

    EVP_PKEY* pkey() const noexcept { return pkey_.get(); }
    // Secret bytes of an oct key (empty view otherwise).
    std::string_view secret() const noexcept;

    // kty / crv / alg agree with `a`, and an HMAC key is long enough for it.
    bool compatible_with(alg a) const noexcept;
    // "use" and "key_ops" permit signing / verifying.
    bool permits_sign() const noexcept;
    bool permits_verify() const noexcept;

    // Not for direct use; see the factories above.
    jwk() = default;

private:
    friend struct detail::jwk_builder;

    std::string kty_;
    std::string crv_;
    std::string kid_;
    std::string use_;
    std::vector<std::string> key_ops_;
    bool has_key_ops_ = false;
    std::optional<alg> alg_;
    std::string x5t_;
    std::string x5t_s256_;
    std::vector<std::string> x5c_;
    int bits_ = 0;
    bool private_ = false;
    std::shared_ptr<EVP_PKEY> pkey_;
    std::shared_ptr<const std::string> secret_;  // wiped on release
};

} // namespace countersign::jose
