#include "countersign/jwt_signer/token_minter.hpp"

#include "countersign/jose/json_strict.hpp"
#include "countersign/jose/jws.hpp"

namespace countersign::jwt_signer {

bool is_signing_algorithm(jose::alg a) noexcept { return a != jose::alg::rs384; }

boost::system::result<minted_token> mint(const nlohmann::json& claims, const keyset& ks, jose::alg a)
{
    if (!is_signing_algorithm(a))
        return make_error_code(keys_errc::no_key_for_alg);
    if (!claims.is_object())
        return make_error_code(keys_errc::invalid_claims);
    const jose::jwk* key = ks.select(a);
    if (!key)
        return make_error_code(keys_errc::no_key_for_alg);

    std::string payload;
    if (jose::serialize_json(claims, payload))
        return make_error_code(keys_errc::invalid_claims);  // invalid UTF-8 in a string

    nlohmann::json header = nlohmann::json::object();
    header["typ"] = "JWT";
    header["alg"] = jose::to_string(a);
    header["kid"] = key->kid();
    auto token = jose::sign_compact(header, payload, a, *key);
    if (!token)
        return make_error_code(keys_errc::signing_failed);
    return minted_token{std::move(*token), std::string(key->kid()), std::nullopt};
}

boost::system::result<minted_token> resign(const nlohmann::json& original_claims, claims_source source,
                                           const claims_transform& transform, const keyset& ks, jose::alg a,
                                           std::int64_t now_unix)
{
    auto claims = transform.apply(original_claims, source, now_unix);
    if (!claims)
        return claims.error();
    auto minted = mint(*claims, ks, a);
    if (minted) {
        auto it = claims->find("exp");
        if (it != claims->end() && it->is_number())
            minted->exp = static_cast<std::int64_t>(it->get<double>());
    }
    return minted;
}

}  // namespace countersign::jwt_signer
