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

#include <array>
#include <cstdint>
#include <cstring>

namespace countersign::jose {

using boost::system::error_code;
using boost::system::result;

namespace {

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

std::size_t ecdsa_half(alg a) noexcept { return hash_size(a) == 64 ? 66 : hash_size(a); }

// Reads one DER INTEGER (non-negative, at most `half` significant bytes) at
// p[i] into out[0..half) right-aligned. Advances i.
bool der_read_integer(const unsigned char* p, std::size_t n, std::size_t& i, std::size_t half,
                      unsigned char* out) noexcept
{
    if (i + 2 > n || p[i] != 0x02)
        return false;
    std::size_t len = p[i + 1];
    i += 2;
    if (len == 0 || len > half + 1 || i + len > n)
        return false;
    const unsigned char* v = p + i;
    i += len;
    if (v[0] & 0x80)
        return false;  // negative
    while (len > 0 && *v == 0) {
        ++v;
        --len;
    }
    if (len > half)
        return false;
    std::memset(out, 0, half - len);
    std::memcpy(out + (half - len), v, len);
    return true;
}

// SEQUENCE { INTEGER r, INTEGER s } -> r||s, each `half` bytes.
bool der_to_rs(std::string_view der, std::size_t half, unsigned char* out) noexcept
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    const std::size_t n = der.size();
    if (n < 8 || p[0] != 0x30)
        return false;
    std::size_t i = 2;
    std::size_t body = p[1];
    if (body == 0x81) {
        body = p[2];
        i = 3;
    } else if (body > 0x7f) {
        return false;
    }
    if (i + body != n)
        return false;
    return der_read_integer(p, n, i, half, out) && der_read_integer(p, n, i, half, out + half) && i == n;
}

// RSASSA-PKCS1-v1_5 verification compares the recovered block with the
// expected encoding, DigestInfo(hash) || H (RFC 8017 §8.2.2 steps 3-4), so
// nothing in the signature is parsed as ASN.1. The verify context carries
// no signature digest: OpenSSL checks the type-1 padding, and the bytes
// behind it must equal the encoding built here exactly. (With a digest set,
// OpenSSL does the same comparison through two more heap buffers.)
bool raw_pkcs1_verify(alg a, bool for_sign) noexcept
{
    return !for_sign && family_of(a) == alg_family::rsa_pkcs1;
}

// RFC 8017 §9.2 note 1: DER of DigestInfo up to the hash value.
std::string_view digest_info_prefix(alg a) noexcept
{
    static constexpr unsigned char sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    static constexpr unsigned char sha384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    static constexpr unsigned char sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                               0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};
    const std::size_t h = hash_size(a);
    const unsigned char* p = h == 32 ? sha256 : h == 48 ? sha384 : sha512;
    return {reinterpret_cast<const char*>(p), sizeof sha256};
}

// One digest context per thread and hash: EVP_DigestInit_ex2 on a context
// that already holds the same digest reuses its provider state.
bool digest(alg a, std::string_view input, unsigned char* out, unsigned int& out_len)
{
    thread_local detail::md_ctx_ptr ctx256(EVP_MD_CTX_new()), ctx384(EVP_MD_CTX_new()), ctx512(EVP_MD_CTX_new());
    const std::size_t h = hash_size(a);
    EVP_MD_CTX* ctx = h == 32 ? ctx256.get() : h == 48 ? ctx384.get() : ctx512.get();
    return ctx && EVP_DigestInit_ex2(ctx, detail::md_for(a), nullptr) == 1 &&
           EVP_DigestUpdate(ctx, input.data(), input.size()) == 1 && EVP_DigestFinal_ex(ctx, out, &out_len) == 1;
}

// Per-thread cache of EVP_PKEY_CTX objects, each initialised once for one
// (key, algorithm, sign or verify). Initialising a context costs OpenSSL 3
// provider fetches and a key export each time, a large part of an ES256 sign
// or an RS256 verify, so the hot path signs and verifies a precomputed digest
// with a ready context, as `openssl speed` does. A context holds a reference
// to its EVP_PKEY, so a cached pointer can never name a different key. The
// price: a rotated-out key stays in memory until 16 newer (key, operation)
// pairs have pushed it out of every thread's cache; it is never used again,
// since lookups start from the current key.
class pkey_ctx_cache {
public:
    EVP_PKEY_CTX* get(EVP_PKEY* pkey, alg a, bool for_sign)
    {
        entry& e = slot(pkey, a, for_sign);
        if (!e.ctx) {
            detail::pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
            if (!ctx || (for_sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get())) != 1 ||
                !set_rsa_padding(ctx.get(), a) ||
                (!raw_pkcs1_verify(a, for_sign) && EVP_PKEY_CTX_set_signature_md(ctx.get(), detail::md_for(a)) <= 0)) {
                ERR_clear_error();
                e = entry{};
                return nullptr;
            }
            e.ctx = std::move(ctx);
        }
        return e.ctx.get();
    }

    // EdDSA signs the message itself (no separate hash): a digest-sign/verify
    // context initialised once per key, then used one-shot per message.
    EVP_MD_CTX* get_eddsa(EVP_PKEY* pkey, bool for_sign)
    {
        entry& e = slot(pkey, alg::eddsa, for_sign);
        if (!e.mctx) {
            detail::md_ctx_ptr mctx(EVP_MD_CTX_new());
            if (!mctx ||
                (for_sign ? EVP_DigestSignInit_ex(mctx.get(), nullptr, nullptr, nullptr, nullptr, pkey, nullptr)
                          : EVP_DigestVerifyInit_ex(mctx.get(), nullptr, nullptr, nullptr, nullptr, pkey, nullptr)) !=
                    1) {
                ERR_clear_error();
                e = entry{};
                return nullptr;
            }
            e.mctx = std::move(mctx);
        }
        return e.mctx.get();
    }

private:
    struct entry {
        EVP_PKEY* pkey = nullptr;
        alg a{};
        bool for_sign = false;
        std::uint64_t used = 0;
        detail::pkey_ctx_ptr ctx;   // RSA, ECDSA
        detail::md_ctx_ptr mctx;    // EdDSA
    };

    // The entry for (pkey, a, for_sign): the cached one, or the least
    // recently used one, emptied and claimed for this key.
    entry& slot(EVP_PKEY* pkey, alg a, bool for_sign)
    {
        ++tick_;
        entry* victim = &entries_[0];
        for (auto& e : entries_) {
            if ((e.ctx || e.mctx) && e.pkey == pkey && e.a == a && e.for_sign == for_sign) {
                e.used = tick_;
                return e;
            }
            if (e.used < victim->used)
                victim = &e;
        }
        *victim = entry{pkey, a, for_sign, tick_, nullptr, nullptr};
        return *victim;
    }

    std::array<entry, 16> entries_;
    std::uint64_t tick_ = 0;
};

pkey_ctx_cache& thread_pkey_ctxs()
{
    thread_local pkey_ctx_cache cache;
    return cache;
}

// EdDSA has no separate hash step: one-shot EVP_DigestVerify on the input.
error_code eddsa_verify(const jwk& key, std::string_view input, const unsigned char* sig, std::size_t sig_len)
{
    EVP_MD_CTX* ctx = thread_pkey_ctxs().get_eddsa(key.pkey(), false);
    if (!ctx)
        return make_error_code(error::crypto_failure);
    const int rc =
        EVP_DigestVerify(ctx, sig, sig_len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    if (rc == 1)
        return {};
    ERR_clear_error();
    return make_error_code(error::bad_signature);
}

// RSA (PKCS#1 v1.5 with the DigestInfo checked, or PSS) and ECDSA (DER).
error_code evp_verify(alg a, const jwk& key, std::string_view input, const unsigned char* sig, std::size_t sig_len)
{
    if (family_of(a) == alg_family::eddsa)
        return eddsa_verify(key, input, sig, sig_len);
    // DigestInfo prefix (PKCS#1 v1.5 only) followed by the hash.
    unsigned char block[32 + EVP_MAX_MD_SIZE];
    std::size_t prefix = 0;
    if (raw_pkcs1_verify(a, false)) {
        const auto p = digest_info_prefix(a);
        std::memcpy(block, p.data(), p.size());
        prefix = p.size();
    }
    unsigned int md_len = 0;
    EVP_PKEY_CTX* pctx = thread_pkey_ctxs().get(key.pkey(), a, false);
    if (!pctx || !digest(a, input, block + prefix, md_len))
        return make_error_code(error::crypto_failure);
    if (EVP_PKEY_verify(pctx, sig, sig_len, block, prefix + md_len) == 1)
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
        const std::size_t half = ecdsa_half(a);
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
    std::string out;
    std::size_t len = 0;
    if (family_of(a) == alg_family::eddsa) {
        EVP_MD_CTX* ctx = thread_pkey_ctxs().get_eddsa(key.pkey(), true);
        if (!ctx)
            return make_error_code(error::crypto_failure);
        len = eddsa_sig_size(key);
        out.resize(len);
        if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, in, input.size()) != 1) {
            ERR_clear_error();
            return make_error_code(error::crypto_failure);
        }
    } else {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int md_len = 0;
        EVP_PKEY_CTX* pctx = thread_pkey_ctxs().get(key.pkey(), a, true);
        if (!pctx || !digest(a, input, md, md_len))
            return make_error_code(error::crypto_failure);
        len = static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey()));  // upper bound
        out.resize(len);
        if (EVP_PKEY_sign(pctx, reinterpret_cast<unsigned char*>(out.data()), &len, md, md_len) != 1) {
            ERR_clear_error();
            return make_error_code(error::crypto_failure);
        }
    }
    out.resize(len);
    if (family_of(a) != alg_family::ecdsa)
        return out;

    // DER ECDSA-Sig-Value (as OpenSSL just produced it) -> fixed-size r||s.
    std::string rs(2 * ecdsa_half(a), '\0');
    if (!der_to_rs(out, ecdsa_half(a), reinterpret_cast<unsigned char*>(rs.data())))
        return make_error_code(error::crypto_failure);
    return rs;
}

} // namespace countersign::jose
