// JWK export (public whitelist, private, PEM), RFC 7638 thumbprints and the
// small accessors of jwk.

#include "countersign/jose/base64url.hpp"
#include "countersign/jose/jwk.hpp"
#include "ossl.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <algorithm>

namespace countersign::jose {

using json = nlohmann::json;
using boost::system::result;

namespace {

// Members that only private keys carry. The public export is built from a
// whitelist, this list only backs a final defensive scrub.
constexpr const char* private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};

std::string b64_param(const EVP_PKEY* k, const char* name, std::size_t pad = 0)
{
    std::string raw;
    if (!detail::get_bn_bytes(k, name, raw, pad))
        return {};
    auto out = base64url_encode(raw);
    OPENSSL_cleanse(raw.data(), raw.size());
    return out;
}

std::string okp_raw(const EVP_PKEY* k, bool priv)
{
    unsigned char buf[64];
    std::size_t len = sizeof buf;
    const int ok = priv ? EVP_PKEY_get_raw_private_key(k, buf, &len) : EVP_PKEY_get_raw_public_key(k, buf, &len);
    if (ok != 1)
        return {};
    auto out = base64url_encode({reinterpret_cast<char*>(buf), len});
    OPENSSL_cleanse(buf, sizeof buf);
    return out;
}

// The members RFC 7638 requires for each kty, i.e. the public key itself.
json key_members(const jwk& k)
{
    json j = json::object();
    j["kty"] = std::string(k.kty());
    const EVP_PKEY* p = k.pkey();
    if (k.kty() == "RSA") {
        j["n"] = b64_param(p, OSSL_PKEY_PARAM_RSA_N);
        j["e"] = b64_param(p, OSSL_PKEY_PARAM_RSA_E);
    } else if (k.kty() == "EC") {
        const std::size_t size = detail::ec_coord_size(k.crv());
        j["crv"] = std::string(k.crv());
        j["x"] = b64_param(p, OSSL_PKEY_PARAM_EC_PUB_X, size);
        j["y"] = b64_param(p, OSSL_PKEY_PARAM_EC_PUB_Y, size);
    } else if (k.kty() == "OKP") {
        j["crv"] = std::string(k.crv());
        j["x"] = okp_raw(p, false);
    }
    return j;
}

void add_metadata(const jwk& k, json& j, bool public_only)
{
    if (!k.kid().empty())
        j["kid"] = std::string(k.kid());
    if (!k.use().empty())
        j["use"] = std::string(k.use());
    if (detail::jwk_builder::has_key_ops(k)) {
        json ops = json::array();
        for (const auto& op : k.key_ops())
            if (!public_only || op == "verify")
                ops.push_back(op);
        if (!public_only || !ops.empty())
            j["key_ops"] = std::move(ops);
    }
    if (auto a = k.algorithm())
        j["alg"] = std::string(to_string(*a));
    if (!k.x5t().empty())
        j["x5t"] = std::string(k.x5t());
    if (!k.x5t_s256().empty())
        j["x5t#S256"] = std::string(k.x5t_s256());
    if (const auto& chain = detail::jwk_builder::x5c_of(k); !chain.empty())
        j["x5c"] = chain;
}

std::string pem_of(const EVP_PKEY* k, bool priv)
{
    detail::bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio)
        return {};
    const int ok = priv ? PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr)
                        : PEM_write_bio_PUBKEY(bio.get(), k);
    if (ok != 1)
        return {};
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    std::string out(data, static_cast<std::size_t>(len));
    if (priv)
        OPENSSL_cleanse(data, static_cast<std::size_t>(len));
    return out;
}

} // namespace

json jwk::to_public_json() const
{
    if (is_symmetric() || !pkey_)
        return nullptr;
    json j = key_members(*this);
    add_metadata(*this, j, true);
    for (const char* m : private_members)  // defensive: cannot be present
        j.erase(m);
    return j;
}

json jwk::to_private_json() const
{
    json j;
    if (is_symmetric()) {
        j["kty"] = "oct";
        j["k"] = base64url_encode(secret());
    } else {
        j = key_members(*this);
        if (private_) {
            const EVP_PKEY* p = pkey_.get();
            if (kty_ == "RSA") {
                j["d"] = b64_param(p, OSSL_PKEY_PARAM_RSA_D);
                std::string v = b64_param(p, OSSL_PKEY_PARAM_RSA_FACTOR1);
                if (!v.empty()) {
                    j["p"] = std::move(v);
                    j["q"] = b64_param(p, OSSL_PKEY_PARAM_RSA_FACTOR2);
                    j["dp"] = b64_param(p, OSSL_PKEY_PARAM_RSA_EXPONENT1);
                    j["dq"] = b64_param(p, OSSL_PKEY_PARAM_RSA_EXPONENT2);
                    j["qi"] = b64_param(p, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
                }
            } else if (kty_ == "EC") {
                j["d"] = b64_param(p, OSSL_PKEY_PARAM_PRIV_KEY, detail::ec_coord_size(crv_));
            } else if (kty_ == "OKP") {
                j["d"] = okp_raw(p, true);
            }
        }
    }
    add_metadata(*this, j, false);
    return j;
}

std::string jwk::to_pem_public() const
{
    return pkey_ ? pem_of(pkey_.get(), false) : std::string{};
}

std::string jwk::to_pem_private() const
{
    return pkey_ && private_ ? pem_of(pkey_.get(), true) : std::string{};
}

std::string jwk::thumbprint() const
{
    json j;
    if (is_symmetric()) {
        j["k"] = base64url_encode(secret());
        j["kty"] = "oct";
    } else {
        j = key_members(*this);
    }
    // nlohmann objects are sorted by name and dump() emits no whitespace:
    // exactly the RFC 7638 §3 canonical form for these base64url-only members.
    const std::string canonical = j.dump();
    unsigned char digest[32];
    unsigned int len = 0;
    if (EVP_Digest(canonical.data(), canonical.size(), digest, &len, detail::sha256(), nullptr) != 1)
        return {};
    return base64url_encode({reinterpret_cast<char*>(digest), len});
}

std::string_view jwk::secret() const noexcept
{
    return secret_ ? std::string_view(*secret_) : std::string_view{};
}

jwk jwk::with_kid(std::string kid) const
{
    jwk copy = *this;
    copy.kid_ = std::move(kid);
    return copy;
}

result<jwk> jwk::with_alg(alg a) const
{
    if (auto ec = detail::check_alg_agreement(*this, a))
        return ec;
    if (alg_ && *alg_ != a)
        return make_error_code(error::alg_key_mismatch);
    jwk copy = *this;
    copy.alg_ = a;
    return copy;
}

result<jwk> jwk::public_key() const
{
    if (is_symmetric())
        return make_error_code(error::symmetric_key_not_exportable);
    if (!private_)
        return *this;
    const std::string pem = to_pem_public();
    auto pub = from_pem(pem, {}, key_policy{0, 1 << 30, true, true, false});
    if (!pub)
        return pub.error();
    jwk copy = std::move(*pub);
    copy.kid_ = kid_;
    copy.use_ = use_;
    copy.alg_ = alg_;
    copy.x5t_ = x5t_;
    copy.x5t_s256_ = x5t_s256_;
    copy.x5c_ = x5c_;
    if (has_key_ops_) {
        copy.has_key_ops_ = true;
        for (const auto& op : key_ops_)
            if (op == "verify")
                copy.key_ops_.push_back(op);
    }
    return copy;
}

bool jwk::compatible_with(alg a) const noexcept
{
    if (alg_ && *alg_ != a)
        return false;
    return !detail::check_alg_agreement(*this, a);
}

bool jwk::permits_sign() const noexcept
{
    if (!use_.empty() && use_ != "sig")
        return false;
    return !has_key_ops_ || std::find(key_ops_.begin(), key_ops_.end(), "sign") != key_ops_.end();
}

bool jwk::permits_verify() const noexcept
{
    if (!use_.empty() && use_ != "sig")
        return false;
    return !has_key_ops_ || std::find(key_ops_.begin(), key_ops_.end(), "verify") != key_ops_.end();
}

} // namespace countersign::jose
