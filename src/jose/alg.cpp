#include "countersign/jose/alg.hpp"

namespace countersign::jose {

std::string_view to_string(alg a) noexcept
{
    switch (a) {
    case alg::hs256: return "HS256";
    case alg::hs384: return "HS384";
    case alg::hs512: return "HS512";
    case alg::rs256: return "RS256";
    case alg::rs384: return "RS384";
    case alg::rs512: return "RS512";
    case alg::ps256: return "PS256";
    case alg::ps384: return "PS384";
    case alg::ps512: return "PS512";
    case alg::es256: return "ES256";
    case alg::es384: return "ES384";
    case alg::es512: return "ES512";
    case alg::eddsa: return "EdDSA";
    }
    return "";
}

namespace {
bool is_none_spelling(std::string_view s) noexcept
{
    if (s.size() != 4)
        return false;
    constexpr std::string_view none = "none";
    for (std::size_t i = 0; i < 4; ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != none[i])
            return false;
    }
    return true;
}
} // namespace

boost::system::result<alg> alg_from_string(std::string_view name) noexcept
{
    for (alg a : all_algs)
        if (to_string(a) == name)
            return a;
    if (is_none_spelling(name))
        return make_error_code(error::alg_none);
    return make_error_code(error::unsupported_alg);
}

alg_family family_of(alg a) noexcept
{
    switch (a) {
    case alg::hs256:
    case alg::hs384:
    case alg::hs512: return alg_family::hmac;
    case alg::rs256:
    case alg::rs384:
    case alg::rs512: return alg_family::rsa_pkcs1;
    case alg::ps256:
    case alg::ps384:
    case alg::ps512: return alg_family::rsa_pss;
    case alg::es256:
    case alg::es384:
    case alg::es512: return alg_family::ecdsa;
    case alg::eddsa: return alg_family::eddsa;
    }
    return alg_family::eddsa;
}

std::size_t hash_size(alg a) noexcept
{
    switch (a) {
    case alg::hs256:
    case alg::rs256:
    case alg::ps256:
    case alg::es256: return 32;
    case alg::hs384:
    case alg::rs384:
    case alg::ps384:
    case alg::es384: return 48;
    case alg::hs512:
    case alg::rs512:
    case alg::ps512:
    case alg::es512: return 64;
    case alg::eddsa: return 0;
    }
    return 0;
}

std::string_view curve_for(alg a) noexcept
{
    switch (a) {
    case alg::es256: return "P-256";
    case alg::es384: return "P-384";
    case alg::es512: return "P-521";
    default: return {};
    }
}

std::string_view kty_for(alg a) noexcept
{
    switch (family_of(a)) {
    case alg_family::hmac: return "oct";
    case alg_family::rsa_pkcs1:
    case alg_family::rsa_pss: return "RSA";
    case alg_family::ecdsa: return "EC";
    case alg_family::eddsa: return "OKP";
    }
    return {};
}

} // namespace countersign::jose
