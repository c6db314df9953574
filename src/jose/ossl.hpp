#pragma once
// Internal: RAII holders for OpenSSL objects and shared helpers of the JOSE
// sources. Not installed, not part of the public API.

#include "countersign/jose/alg.hpp"
#include "countersign/jose/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace countersign::jose::detail {

template <auto Fn>
struct ossl_deleter {
    template <class T>
    void operator()(T* p) const noexcept { Fn(p); }
};

using bn_ptr = std::unique_ptr<BIGNUM, ossl_deleter<BN_free>>;
using bn_ctx_ptr = std::unique_ptr<BN_CTX, ossl_deleter<BN_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, ossl_deleter<BIO_free_all>>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, ossl_deleter<EVP_PKEY_CTX_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, ossl_deleter<EVP_MD_CTX_free>>;
using param_bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, ossl_deleter<OSSL_PARAM_BLD_free>>;
using params_ptr = std::unique_ptr<OSSL_PARAM, ossl_deleter<OSSL_PARAM_free>>;
using x509_ptr = std::unique_ptr<X509, ossl_deleter<X509_free>>;

inline std::shared_ptr<EVP_PKEY> share(pkey_ptr p) { return {p.release(), EVP_PKEY_free}; }

// Pre-fetched digests (OpenSSL 3 implicit fetches cost time on every init).
const EVP_MD* md_for(alg a) noexcept;
const EVP_MD* sha1() noexcept;
const EVP_MD* sha256() noexcept;

// Big-endian bytes of an EVP_PKEY BIGNUM parameter, optionally left-padded.
bool get_bn_bytes(const EVP_PKEY* k, const char* name, std::string& out, std::size_t pad_to = 0);

// EC coordinate size in bytes for a JWK curve name ("P-256" -> 32), 0 if unknown.
std::size_t ec_coord_size(std::string_view crv) noexcept;
// JWK curve name of an EC EVP_PKEY ("P-256", ...) or "" if not one we support.
std::string ec_curve_of(const EVP_PKEY* k);

// Sets the private members of a jwk (friend of jwk).
struct jwk_builder {
    jwk k;
    void kty(std::string v) { k.kty_ = std::move(v); }
    void crv(std::string v) { k.crv_ = std::move(v); }
    void kid(std::string v) { k.kid_ = std::move(v); }
    void use(std::string v) { k.use_ = std::move(v); }
    void key_ops(std::vector<std::string> v) { k.key_ops_ = std::move(v); k.has_key_ops_ = true; }
    void algorithm(std::optional<alg> a) { k.alg_ = a; }
    void x5t(std::string v) { k.x5t_ = std::move(v); }
    void x5t_s256(std::string v) { k.x5t_s256_ = std::move(v); }
    void x5c(std::vector<std::string> v) { k.x5c_ = std::move(v); }
    void bits(int b) { k.bits_ = b; }
    void is_private(bool p) { k.private_ = p; }
    void pkey(std::shared_ptr<EVP_PKEY> p) { k.pkey_ = std::move(p); }
    void secret(std::string s);
    static const std::vector<std::string>& x5c_of(const jwk& j) { return j.x5c_; }
    static bool has_key_ops(const jwk& j) { return j.has_key_ops_; }
};

// Validates an EVP_PKEY against the policy and fills kty/crv/bits/pkey in b.
boost::system::error_code adopt_pkey(jwk_builder& b, pkey_ptr pkey, bool is_private, const key_policy& policy);

// Checks that b's alg agrees with its kty/crv (and HMAC length).
boost::system::error_code check_alg_agreement(const jwk& k, alg a);

} // namespace countersign::jose::detail
