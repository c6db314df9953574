// JWK import: from_json, from_pem, from_secret, and the key-quality policy
// shared by every import path.

#include "countersign/jose/base64url.hpp"
#include "countersign/jose/jwk.hpp"
#include "ossl.hpp"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace countersign::jose {

using boost::system::error_code;
using boost::system::result;
using json = nlohmann::json;

namespace detail {
namespace {

// ROCA (CVE-2017-15361): moduli from the vulnerable Infineon generator are
// congruent, modulo each small prime p, to a power of 65537. A random modulus
// passes this for all of these primes with negligible probability.
bool has_roca_fingerprint(const BIGNUM* n)
{
    static constexpr std::array<unsigned, 38> primes{3,  5,  7,  11, 13, 17, 19, 23, 29,  31,  37,  41,  43,
                                                     47, 53, 59, 61, 67, 71, 73, 79, 83,  89,  97,  101, 103,
                                                     107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
    for (unsigned p : primes) {
        const BN_ULONG r = BN_mod_word(n, p);
        if (r == static_cast<BN_ULONG>(-1) || r == 0)
            return false;
        const unsigned g = 65537 % p;
        unsigned x = 1;
        bool member = false;
        for (unsigned i = 0; i < p; ++i) {
            if (x == r) {
                member = true;
                break;
            }
            x = (x * g) % p;
            if (x == 1 && i > 0)
                break;
        }
        if (!member)
            return false;
    }
    return true;
}

} // namespace

error_code adopt_pkey(jwk_builder& b, pkey_ptr pkey, bool is_private, const key_policy& policy)
{
    if (is_private && !policy.allow_private)
        return make_error_code(error::private_key_not_allowed);
    switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA: {
        BIGNUM* n_raw = nullptr;
        BIGNUM* e_raw = nullptr;
        if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n_raw) != 1)
            return make_error_code(error::bad_key);
        bn_ptr n(n_raw);
        if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e_raw) != 1)
            return make_error_code(error::bad_key);
        bn_ptr e(e_raw);
        const int bits = BN_num_bits(n.get());
        if (bits < policy.min_rsa_bits)
            return make_error_code(error::weak_key);
        if (bits > policy.max_rsa_bits)
            return make_error_code(error::key_too_large);
        // e odd, >= 3, and at most 64 bits (bounds verify cost)
        if (!BN_is_odd(e.get()) || BN_is_one(e.get()) || BN_num_bits(e.get()) > 64)
            return make_error_code(error::weak_key);
        if (policy.reject_roca && has_roca_fingerprint(n.get()))
            return make_error_code(error::weak_key);
        b.kty("RSA");
        b.bits(bits);
        break;
    }
    case EVP_PKEY_EC: {
        auto crv = ec_curve_of(pkey.get());
        if (crv.empty())
            return make_error_code(error::unsupported_curve);
        {
            pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
            if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1)
                return make_error_code(error::not_on_curve);
            if (is_private && EVP_PKEY_pairwise_check(ctx.get()) != 1)
                return make_error_code(error::bad_key);
        }
        b.kty("EC");
        b.bits(EVP_PKEY_get_bits(pkey.get()));
        b.crv(std::move(crv));
        break;
    }
    case EVP_PKEY_ED25519:
        b.kty("OKP");
        b.crv("Ed25519");
        b.bits(256);
        break;
    case EVP_PKEY_ED448:
        b.kty("OKP");
        b.crv("Ed448");
        b.bits(456);
        break;
    default: return make_error_code(error::unsupported_key_type);
    }
    b.is_private(is_private);
    b.pkey(share(std::move(pkey)));
    return {};
}

error_code check_alg_agreement(const jwk& k, alg a)
{
    if (k.kty() != kty_for(a))
        return make_error_code(error::alg_key_mismatch);
    switch (family_of(a)) {
    case alg_family::ecdsa:
        if (k.crv() != curve_for(a))
            return make_error_code(error::alg_key_mismatch);
        break;
    case alg_family::eddsa:
        if (k.crv() != "Ed25519" && k.crv() != "Ed448")
            return make_error_code(error::alg_key_mismatch);
        break;
    case alg_family::hmac:
        if (k.secret().size() < hash_size(a))
            return make_error_code(error::weak_key);
        break;
    default: break;
    }
    return {};
}

} // namespace detail

namespace {

using detail::bn_ptr;
using detail::jwk_builder;
using detail::param_bld_ptr;
using detail::params_ptr;
using detail::pkey_ctx_ptr;
using detail::pkey_ptr;

// Optional string member: absent -> "", wrong type -> error.
error_code opt_string(const json& j, const char* name, std::string& out)
{
    auto it = j.find(name);
    if (it == j.end())
        return {};
    if (!it->is_string())
        return make_error_code(error::bad_key);
    out = it->get<std::string>();
    return {};
}

// Required base64url member.
error_code req_b64(const json& j, const char* name, std::string& out)
{
    auto it = j.find(name);
    if (it == j.end())
        return make_error_code(error::missing_member);
    if (!it->is_string())
        return make_error_code(error::bad_key);
    if (auto ec = base64url_decode_into(it->get_ref<const std::string&>(), out))
        return make_error_code(error::bad_key);
    return {};
}

bool has(const json& j, const char* name) { return j.find(name) != j.end(); }

BIGNUM* to_bn(const std::string& bytes)
{
    return BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr);
}

result<pkey_ptr> pkey_from_params(const char* type, OSSL_PARAM_BLD* bld, bool is_private)
{
    params_ptr params(OSSL_PARAM_BLD_to_param(bld));
    pkey_ctx_ptr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
        return make_error_code(error::crypto_failure);
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_fromdata(ctx.get(), &raw, is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
        return make_error_code(error::bad_key);
    return pkey_ptr(raw);
}

// Consistency of an imported RSA private key: a signature made with it
// (through the CRT values) must verify with its public part. This catches
// mismatched d / e / CRT members, the faults that matter for signing, in
// about one signature's time. EVP_PKEY_pairwise_check also proves p and q
// prime, which costs seconds per key on a loaded machine and made every
// keyset load and rotation slow.
bool rsa_crt_consistent(EVP_PKEY* pk)
{
    auto get = [&](const char* name) {
        BIGNUM* b = nullptr;
        EVP_PKEY_get_bn_param(pk, name, &b);
        return bn_ptr(b);
    };
    auto n = get(OSSL_PKEY_PARAM_RSA_N), d = get(OSSL_PKEY_PARAM_RSA_D);
    auto p = get(OSSL_PKEY_PARAM_RSA_FACTOR1), q = get(OSSL_PKEY_PARAM_RSA_FACTOR2);
    auto dp = get(OSSL_PKEY_PARAM_RSA_EXPONENT1), dq = get(OSSL_PKEY_PARAM_RSA_EXPONENT2);
    auto qi = get(OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
    if (!n || !d || !p || !q || !dp || !dq || !qi) return false;
    BN_CTX* ctx = BN_CTX_new();
    if (!ctx) return false;
    bn_ptr t(BN_new()), pm1(BN_new()), qm1(BN_new());
    bool ok = t && pm1 && qm1 && BN_cmp(p.get(), q.get()) != 0 &&
              // n = p * q
              BN_mul(t.get(), p.get(), q.get(), ctx) == 1 && BN_cmp(t.get(), n.get()) == 0 &&
              // dp = d mod (p-1), dq = d mod (q-1)
              BN_sub(pm1.get(), p.get(), BN_value_one()) == 1 && BN_sub(qm1.get(), q.get(), BN_value_one()) == 1 &&
              BN_mod(t.get(), d.get(), pm1.get(), ctx) == 1 && BN_cmp(t.get(), dp.get()) == 0 &&
              BN_mod(t.get(), d.get(), qm1.get(), ctx) == 1 && BN_cmp(t.get(), dq.get()) == 0 &&
              // qi * q = 1 mod p
              BN_mod_mul(t.get(), qi.get(), q.get(), p.get(), ctx) == 1 && BN_is_one(t.get());
    BN_CTX_free(ctx);
    return ok;
}

bool rsa_sign_verify_ok(EVP_PKEY* pk)
{
    static constexpr unsigned char msg[] = "countersign rsa key consistency check";
    EVP_MD_CTX* sctx = EVP_MD_CTX_new();
    if (!sctx) return false;
    std::array<unsigned char, 1024> sig{};
    std::size_t sig_len = sig.size();
    bool ok = EVP_DigestSignInit(sctx, nullptr, EVP_sha256(), nullptr, pk) == 1 &&
              EVP_PKEY_get_size(pk) <= static_cast<int>(sig.size()) &&
              EVP_DigestSign(sctx, sig.data(), &sig_len, msg, sizeof msg - 1) == 1;
    EVP_MD_CTX_free(sctx);
    if (!ok) return false;
    EVP_MD_CTX* vctx = EVP_MD_CTX_new();
    if (!vctx) return false;
    ok = EVP_DigestVerifyInit(vctx, nullptr, EVP_sha256(), nullptr, pk) == 1 &&
         EVP_DigestVerify(vctx, sig.data(), sig_len, msg, sizeof msg - 1) == 1;
    EVP_MD_CTX_free(vctx);
    return ok;
}

result<pkey_ptr> rsa_from_json(const json& j, bool& is_private)
{
    std::string n, e;
    if (auto ec = req_b64(j, "n", n))
        return ec;
    if (auto ec = req_b64(j, "e", e))
        return ec;
    if (n.empty() || e.empty() || e.size() > 8)
        return make_error_code(error::bad_key);
    bn_ptr bn_n(to_bn(n)), bn_e(to_bn(e));
    param_bld_ptr bld(OSSL_PARAM_BLD_new());
    if (!bld || !bn_n || !bn_e || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
        !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
        return make_error_code(error::crypto_failure);
    is_private = has(j, "d");
    if (has(j, "oth"))
        return make_error_code(error::bad_key);  // multi-prime keys are not supported
    static constexpr const char* crt_names[] = {"p", "q", "dp", "dq", "qi"};
    static constexpr const char* crt_params[] = {OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
                                                 OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
                                                 OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
    bn_ptr bn_d, crt[5];
    bool has_crt = false;
    if (is_private) {
        std::string d;
        if (auto ec = req_b64(j, "d", d))
            return ec;
        bn_d.reset(to_bn(d));
        OPENSSL_cleanse(d.data(), d.size());
        if (!bn_d || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, bn_d.get()))
            return make_error_code(error::crypto_failure);
        int present = 0;
        for (const char* name : crt_names)
            present += has(j, name) ? 1 : 0;
        if (present != 0 && present != 5)
            return make_error_code(error::bad_key);  // partial CRT parameters
        if (present == 5) {
            has_crt = true;
            for (int i = 0; i < 5; ++i) {
                std::string v;
                if (auto ec = req_b64(j, crt_names[i], v))
                    return ec;
                crt[i].reset(to_bn(v));
                OPENSSL_cleanse(v.data(), v.size());
                if (!crt[i] || !OSSL_PARAM_BLD_push_BN(bld.get(), crt_params[i], crt[i].get()))
                    return make_error_code(error::crypto_failure);
            }
        }
    } else {
        for (const char* name : crt_names)
            if (has(j, name))
                return make_error_code(error::bad_key);  // CRT members without d
    }
    auto pk = pkey_from_params("RSA", bld.get(), is_private);
    if (!pk)
        return pk.error();
    if (has_crt) {
        // n = p*q, the CRT values derive from d, and a signature verifies
        // (so d and e agree).
        if (!rsa_crt_consistent(pk->get()) || !rsa_sign_verify_ok(pk->get()))
            return make_error_code(error::bad_key);
    }
    return std::move(*pk);
}

result<pkey_ptr> ec_from_json(const json& j, const std::string& crv, bool& is_private)
{
    const std::size_t size = detail::ec_coord_size(crv);
    if (size == 0)
        return make_error_code(error::unsupported_curve);
    std::string x, y;
    if (auto ec = req_b64(j, "x", x))
        return ec;
    if (auto ec = req_b64(j, "y", y))
        return ec;
    if (x.size() != size || y.size() != size)
        return make_error_code(error::bad_key);  // RFC 7518 §6.2.1.2: exactly the coordinate size
    std::string point;
    point.reserve(1 + 2 * size);
    point.push_back('\x04');
    point += x;
    point += y;
    param_bld_ptr bld(OSSL_PARAM_BLD_new());
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, crv.c_str(), 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
        return make_error_code(error::crypto_failure);
    is_private = has(j, "d");
    bn_ptr bn_d;
    if (is_private) {
        std::string d;
        if (auto ec = req_b64(j, "d", d))
            return ec;
        if (d.size() != size)
            return make_error_code(error::bad_key);
        bn_d.reset(to_bn(d));
        OPENSSL_cleanse(d.data(), d.size());
        if (!bn_d || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, bn_d.get()))
            return make_error_code(error::crypto_failure);
    }
    auto pk = pkey_from_params("EC", bld.get(), is_private);
    if (!pk)
        return pk.error() == error::bad_key ? make_error_code(error::not_on_curve) : pk.error();
    return std::move(*pk);
}

result<pkey_ptr> okp_from_json(const json& j, const std::string& crv, bool& is_private)
{
    std::size_t size = 0;
    const char* type = nullptr;
    if (crv == "Ed25519") {
        size = 32;
        type = "ED25519";
    } else if (crv == "Ed448") {
        size = 57;
        type = "ED448";
    } else {
        return make_error_code(error::unsupported_curve);  // X25519 / X448 are not signature keys
    }
    std::string x;
    if (auto ec = req_b64(j, "x", x))
        return ec;
    if (x.size() != size)
        return make_error_code(error::bad_key);
    is_private = has(j, "d");
    const auto* xu = reinterpret_cast<const unsigned char*>(x.data());
    if (!is_private) {
        pkey_ptr pk(EVP_PKEY_new_raw_public_key_ex(nullptr, type, nullptr, xu, size));
        if (!pk)
            return make_error_code(error::bad_key);
        return pk;
    }
    std::string d;
    if (auto ec = req_b64(j, "d", d))
        return ec;
    if (d.size() != size)
        return make_error_code(error::bad_key);
    pkey_ptr pk(EVP_PKEY_new_raw_private_key_ex(nullptr, type, nullptr,
                                                reinterpret_cast<const unsigned char*>(d.data()), size));
    OPENSSL_cleanse(d.data(), d.size());
    if (!pk)
        return make_error_code(error::bad_key);
    unsigned char pub[57];
    std::size_t pub_len = sizeof pub;
    if (EVP_PKEY_get_raw_public_key(pk.get(), pub, &pub_len) != 1 || pub_len != size ||
        std::memcmp(pub, xu, size) != 0)
        return make_error_code(error::bad_key);  // x does not belong to d
    return pk;
}

error_code check_oct(std::size_t size, std::optional<alg> a)
{
    if (size > 1024)
        return make_error_code(error::key_too_large);
    const std::size_t min = a ? hash_size(*a) : 32;
    if (size < min)
        return make_error_code(error::weak_key);  // RFC 7518 §3.2: at least the hash size
    return {};
}

} // namespace

result<jwk> jwk::from_json(const json& j, const key_policy& policy)
{
    if (!j.is_object())
        return make_error_code(error::bad_key);
    jwk_builder b;
    std::string kty, kid, use, x5t, x5t_s256, alg_name, crv;
    if (auto ec = opt_string(j, "kty", kty))
        return ec;
    if (kty.empty())
        return make_error_code(error::missing_member);
    for (auto [name, out] : {std::pair{"kid", &kid}, {"use", &use}, {"x5t", &x5t}, {"x5t#S256", &x5t_s256},
                             {"alg", &alg_name}, {"crv", &crv}})
        if (auto ec = opt_string(j, name, *out))
            return ec;
    if (kid.size() > 1024)
        return make_error_code(error::bad_key);
    if (has(j, "use") && use != "sig")
        return make_error_code(error::key_use_mismatch);
    if (auto it = j.find("key_ops"); it != j.end()) {
        if (!it->is_array())
            return make_error_code(error::bad_key);
        std::vector<std::string> ops;
        for (const auto& op : *it) {
            if (!op.is_string())
                return make_error_code(error::bad_key);
            auto s = op.get<std::string>();
            if (std::find(ops.begin(), ops.end(), s) != ops.end())
                return make_error_code(error::bad_key);  // RFC 7517 §4.3: no duplicates
            ops.push_back(std::move(s));
        }
        const bool usable = std::find(ops.begin(), ops.end(), "sign") != ops.end() ||
                            std::find(ops.begin(), ops.end(), "verify") != ops.end();
        if (!usable)
            return make_error_code(error::key_use_mismatch);
        b.key_ops(std::move(ops));
    }
    if (!x5t.empty()) {
        auto raw = base64url_decode(x5t);
        if (!raw || raw->size() != 20)
            return make_error_code(error::bad_key);
    }
    if (!x5t_s256.empty()) {
        auto raw = base64url_decode(x5t_s256);
        if (!raw || raw->size() != 32)
            return make_error_code(error::bad_key);
    }
    if (auto it = j.find("x5c"); it != j.end()) {
        if (!it->is_array())
            return make_error_code(error::bad_key);
        std::vector<std::string> chain;
        for (const auto& c : *it) {
            if (!c.is_string())
                return make_error_code(error::bad_key);
            chain.push_back(c.get<std::string>());
        }
        b.x5c(std::move(chain));
    }
    std::optional<alg> a;
    if (has(j, "alg")) {
        auto parsed = alg_from_string(alg_name);
        if (!parsed)
            return parsed.error();
        a = *parsed;
    }

    if (kty == "oct") {
        // An oct key is its secret: allow_symmetric alone decides.
        if (!policy.allow_symmetric)
            return make_error_code(error::symmetric_key_not_allowed);
        std::string k;
        if (auto ec = req_b64(j, "k", k))
            return ec;
        if (auto ec = check_oct(k.size(), a)) {
            OPENSSL_cleanse(k.data(), k.size());
            return ec;
        }
        b.kty("oct");
        b.bits(static_cast<int>(k.size() * 8));
        b.is_private(true);
        b.secret(std::move(k));
    } else {
        bool is_private = false;
        result<pkey_ptr> pk = error::unsupported_key_type;
        if (kty == "RSA")
            pk = rsa_from_json(j, is_private);
        else if (kty == "EC")
            pk = ec_from_json(j, crv, is_private);
        else if (kty == "OKP")
            pk = okp_from_json(j, crv, is_private);
        if (!pk)
            return pk.error();
        if (auto ec = detail::adopt_pkey(b, std::move(*pk), is_private, policy))
            return ec;
    }
    b.kid(std::move(kid));
    b.use(std::move(use));
    b.x5t(std::move(x5t));
    b.x5t_s256(std::move(x5t_s256));
    if (a) {
        if (auto ec = detail::check_alg_agreement(b.k, *a))
            return ec;
        b.algorithm(a);
    }
    return std::move(b.k);
}

result<jwk> jwk::from_secret(std::string_view secret, std::optional<alg> a, const key_policy& policy)
{
    if (!policy.allow_symmetric)
        return make_error_code(error::symmetric_key_not_allowed);
    if (a && family_of(*a) != alg_family::hmac)
        return make_error_code(error::alg_key_mismatch);
    if (auto ec = check_oct(secret.size(), a))
        return ec;
    jwk_builder b;
    b.kty("oct");
    b.bits(static_cast<int>(secret.size() * 8));
    b.is_private(true);
    b.secret(std::string(secret));
    b.algorithm(a);
    return std::move(b.k);
}

namespace {
int no_passphrase(char*, int, int, void*) { return 0; }  // never prompt on a terminal
} // namespace

result<jwk> jwk::from_pem(std::string_view pem, std::optional<alg> a, const key_policy& policy)
{
    if (pem.size() > 64 * 1024)
        return make_error_code(error::too_large);
    auto mem = [&] { return detail::bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); };
    jwk_builder b;
    pkey_ptr pk;
    bool is_private = false;
    if (pem.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos) {
        auto bio = mem();
        detail::x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
        if (!cert)
            return make_error_code(error::bad_key);
        pk.reset(X509_get_pubkey(cert.get()));
        unsigned char der_hash[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (X509_digest(cert.get(), detail::sha1(), der_hash, &len) == 1)
            b.x5t(base64url_encode({reinterpret_cast<char*>(der_hash), len}));
        if (X509_digest(cert.get(), detail::sha256(), der_hash, &len) == 1)
            b.x5t_s256(base64url_encode({reinterpret_cast<char*>(der_hash), len}));
    } else if (pem.find("PRIVATE KEY-----") != std::string_view::npos) {
        auto bio = mem();
        pk.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
        is_private = true;
    } else {
        auto bio = mem();
        pk.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    }
    if (!pk)
        return make_error_code(error::bad_key);
    if (auto ec = detail::adopt_pkey(b, std::move(pk), is_private, policy))
        return ec;
    if (a) {
        if (auto ec = detail::check_alg_agreement(b.k, *a))
            return ec;
        b.algorithm(a);
    }
    return std::move(b.k);
}

} // namespace countersign::jose
