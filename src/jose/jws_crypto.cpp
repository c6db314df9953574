// sign() / verify() for every JWS algorithm through OpenSSL 3 EVP.
// Lengths are checked before any cryptography; ECDSA signatures are the JWS
// fixed-size r||s form and are converted to DER here, never parsed as DER.

#include "countersign/jose/jws.hpp"
#include "ossl.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <cstring>

namespace countersign::jose {

using boost::system::error_code;
using boost::system::result;

namespace {

// One digest context per thread, reset after each use: saves an allocation
// per operation on the hot path.
EVP_MD_CTX* thread_md_ctx()
{
    thread_local detail::md_ctx_ptr ctx(EVP_MD_CTX_new());
    return ctx.get();
}

struct md_ctx_lease {
    EVP_MD_CTX* ctx = thread_md_ctx();
    ~md_ctx_lease() { EVP_MD_CTX_reset(ctx); }
};

std::size_t eddsa_sig_size(const jwk& key) noexcept { return key.crv() == "Ed448" ? 114 : 64; }

bool set_rsa_padding(EVP_PKEY_CTX* pctx, alg a)
{
    if (family_of(a) == alg_family::rsa_pss) {
        // RFC 7518 §3.5: MGF1 with the same hash, salt length = hash length.
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
               EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, static_cast<int>(hash_size(a))) > 0 &&
               EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, detail::md_for(a)) > 0;
    }
    if (family_of(a) == alg_family::rsa_pkcs1)
        return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    return true;
}

// DER INTEGER from an unsigned big-endian value; returns bytes written.
std::size_t der_integer(const unsigned char* p, std::size_t n, unsigned char* out) noexcept
{
    while (n > 1 && *p == 0) {
        ++p;
        --n;
    }
    const bool pad = (*p & 0x80) != 0;
    out[0] = 0x02;
    out[1] = static_cast<unsigned char>(n + (pad ? 1 : 0));
    std::size_t i = 2;
    if (pad)
        out[i++] = 0;
    std::memcpy(out + i, p, n);
    return i + n;
}

// r||s (each `half` bytes) -> DER ECDSA-Sig-Value in `out` (>= 2*half+9 bytes).
std::size_t rs_to_der(const unsigned char* sig, std::size_t half, unsigned char* out) noexcept
{
    unsigned char body[2 * (66 + 3)];
    std::size_t len = der_integer(sig, half, body);
    len += der_integer(sig + half, half, body + len);
    std::size_t i = 0;
    out[i++] = 0x30;
    if (len >= 0x80)
        out[i++] = 0x81;
    out[i++] = static_cast<unsigned char>(len);
    std::memcpy(out + i, body, len);
    return i + len;
}

error_code evp_verify(alg a, const jwk& key, std::string_view input, const unsigned char* sig, std::size_t sig_len)
{
    md_ctx_lease lease;
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = family_of(a) == alg_family::eddsa ? nullptr : detail::md_for(a);
    if (EVP_DigestVerifyInit_ex(lease.ctx, &pctx, md ? EVP_MD_get0_name(md) : nullptr, nullptr, nullptr,
                                key.pkey(), nullptr) != 1 ||
        !set_rsa_padding(pctx, a))
        return make_error_code(error::crypto_failure);
    const int rc = EVP_DigestVerify(lease.ctx, sig, sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                                    input.size());
    if (rc == 1)
        return {};
    ERR_clear_error();
    return make_error_code(error::bad_signature);
}

} // namespace

error_code verify(alg a, const jwk& key, std::string_view input, std::string_view signature)
{
    if (key.algorithm() && *key.algorithm() != a)
        return make_error_code(error::alg_key_mismatch);
    if (auto ec = detail::check_alg_agreement(key, a))
        return ec;
    const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
    switch (family_of(a)) {
    case alg_family::hmac: {
        if (signature.size() != hash_size(a))
            return make_error_code(error::bad_signature_length);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        const auto secret = key.secret();
        if (!HMAC(detail::md_for(a), secret.data(), static_cast<int>(secret.size()),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len) ||
            mac_len != signature.size())
            return make_error_code(error::crypto_failure);
        return CRYPTO_memcmp(mac, sig, mac_len) == 0 ? error_code{} : make_error_code(error::bad_signature);
    }
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
        if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey())))
            return make_error_code(error::bad_signature_length);
        return evp_verify(a, key, input, sig, signature.size());
    case alg_family::ecdsa: {
        const std::size_t half = hash_size(a) == 64 ? 66 : hash_size(a);
        if (signature.size() != 2 * half)
            return make_error_code(error::bad_signature_length);
        unsigned char der[2 * (66 + 3) + 3];
        const std::size_t der_len = rs_to_der(sig, half, der);
        return evp_verify(a, key, input, der, der_len);
    }
    case alg_family::eddsa:
        if (signature.size() != eddsa_sig_size(key))
            return make_error_code(error::bad_signature_length);
        return evp_verify(a, key, input, sig, signature.size());
    }
    return make_error_code(error::unsupported_alg);
}

result<std::string> sign(alg a, const jwk& key, std::string_view input)
{
    if (key.algorithm() && *key.algorithm() != a)
        return make_error_code(error::alg_key_mismatch);
    if (auto ec = detail::check_alg_agreement(key, a))
        return ec;
    if (!key.is_private())
        return make_error_code(error::private_key_required);
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    if (family_of(a) == alg_family::hmac) {
        std::string mac(hash_size(a), '\0');
        unsigned int mac_len = 0;
        const auto secret = key.secret();
        if (!HMAC(detail::md_for(a), secret.data(), static_cast<int>(secret.size()), in, input.size(),
                  reinterpret_cast<unsigned char*>(mac.data()), &mac_len) ||
            mac_len != mac.size())
            return make_error_code(error::crypto_failure);
        return mac;
    }
    md_ctx_lease lease;
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = family_of(a) == alg_family::eddsa ? nullptr : detail::md_for(a);
    if (EVP_DigestSignInit_ex(lease.ctx, &pctx, md ? EVP_MD_get0_name(md) : nullptr, nullptr, nullptr, key.pkey(),
                              nullptr) != 1 ||
        !set_rsa_padding(pctx, a))
        return make_error_code(error::crypto_failure);
    std::size_t len = 0;
    if (EVP_DigestSign(lease.ctx, nullptr, &len, in, input.size()) != 1)
        return make_error_code(error::crypto_failure);
    std::string out(len, '\0');
    if (EVP_DigestSign(lease.ctx, reinterpret_cast<unsigned char*>(out.data()), &len, in, input.size()) != 1)
        return make_error_code(error::crypto_failure);
    out.resize(len);
    if (family_of(a) != alg_family::ecdsa)
        return out;

    // DER -> fixed-size r||s
    const std::size_t half = hash_size(a) == 64 ? 66 : hash_size(a);
    const auto* p = reinterpret_cast<const unsigned char*>(out.data());
    std::unique_ptr<ECDSA_SIG, detail::ossl_deleter<ECDSA_SIG_free>> es(
        d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(out.size())));
    if (!es)
        return make_error_code(error::crypto_failure);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(es.get(), &r, &s);
    std::string rs(2 * half, '\0');
    auto* o = reinterpret_cast<unsigned char*>(rs.data());
    if (BN_bn2binpad(r, o, static_cast<int>(half)) < 0 || BN_bn2binpad(s, o + half, static_cast<int>(half)) < 0)
        return make_error_code(error::crypto_failure);
    return rs;
}

} // namespace countersign::jose
