// Key generation for every algorithm the signer supports.

#include "countersign/jose/jwk.hpp"
#include "ossl.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

namespace countersign::jose {

using boost::system::result;

result<jwk> jwk::generate_oct(int bits, std::optional<alg> a)
{
    if (bits != 256 && bits != 384 && bits != 512)
        return make_error_code(error::bad_key);
    std::string secret(static_cast<std::size_t>(bits / 8), '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1)
        return make_error_code(error::crypto_failure);
    auto k = from_secret(secret, a);
    OPENSSL_cleanse(secret.data(), secret.size());
    return k;
}

result<jwk> jwk::generate(alg a, int rsa_bits, std::string_view okp_curve)
{
    detail::pkey_ptr pk;
    switch (family_of(a)) {
    case alg_family::hmac: return generate_oct(static_cast<int>(hash_size(a) * 8), a);
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss:
        if (rsa_bits != 2048 && rsa_bits != 3072 && rsa_bits != 4096)
            return make_error_code(error::bad_key);
        pk.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits)));
        break;
    case alg_family::ecdsa: {
        const std::string crv(curve_for(a));
        pk.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", crv.c_str()));
        break;
    }
    case alg_family::eddsa:
        if (okp_curve == "Ed25519")
            pk.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
        else if (okp_curve == "Ed448")
            pk.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
        else
            return make_error_code(error::unsupported_curve);
        break;
    }
    if (!pk)
        return make_error_code(error::crypto_failure);
    detail::jwk_builder b;
    if (auto ec = detail::adopt_pkey(b, std::move(pk), true, key_policy{}))
        return ec;
    b.algorithm(a);
    b.use("sig");
    return std::move(b.k);
}

} // namespace countersign::jose
