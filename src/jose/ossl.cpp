#include "ossl.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>

namespace countersign::jose::detail {
namespace {

const EVP_MD* fetch(const char* name) noexcept
{
    // Never freed: lives for the process, like the legacy EVP_sha256() objects.
    return EVP_MD_fetch(nullptr, name, nullptr);
}

struct wiped_string_deleter {
    void operator()(const std::string* s) const noexcept
    {
        auto* m = const_cast<std::string*>(s);
        if (!m->empty())
            OPENSSL_cleanse(m->data(), m->size());
        delete m;
    }
};

} // namespace

const EVP_MD* sha1() noexcept
{
    static const EVP_MD* md = fetch("SHA1");
    return md;
}

const EVP_MD* sha256() noexcept
{
    static const EVP_MD* md = fetch("SHA256");
    return md;
}

const EVP_MD* md_for(alg a) noexcept
{
    static const EVP_MD* md384 = fetch("SHA384");
    static const EVP_MD* md512 = fetch("SHA512");
    switch (hash_size(a)) {
    case 32: return sha256();
    case 48: return md384;
    case 64: return md512;
    default: return nullptr;
    }
}

bool get_bn_bytes(const EVP_PKEY* k, const char* name, std::string& out, std::size_t pad_to)
{
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(k, name, &raw) != 1)
        return false;
    bn_ptr bn(raw);
    const int n = BN_num_bytes(bn.get());
    const std::size_t size = pad_to != 0 ? pad_to : static_cast<std::size_t>(n == 0 ? 1 : n);
    if (static_cast<std::size_t>(n) > size)
        return false;
    out.assign(size, '\0');
    return BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) ==
           static_cast<int>(size);
}

std::size_t ec_coord_size(std::string_view crv) noexcept
{
    if (crv == "P-256")
        return 32;
    if (crv == "P-384")
        return 48;
    if (crv == "P-521")
        return 66;
    return 0;
}

std::string ec_curve_of(const EVP_PKEY* k)
{
    char name[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
        return {};
    const std::string_view n(name, len);
    if (n == "prime256v1" || n == "P-256" || n == "secp256r1")
        return "P-256";
    if (n == "secp384r1" || n == "P-384")
        return "P-384";
    if (n == "secp521r1" || n == "P-521")
        return "P-521";
    return {};
}

void jwk_builder::secret(std::string s)
{
    k.secret_ = std::shared_ptr<const std::string>(new std::string(std::move(s)), wiped_string_deleter{});
}

} // namespace countersign::jose::detail
