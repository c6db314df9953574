#include "countersign/jwt_signer/claims_transform.hpp"

#include "countersign/jose/json_strict.hpp"
#include "countersign/jwt_signer/keystore.hpp"

namespace countersign::jwt_signer {

using nlohmann::json;

json decode_claim_value(const std::string& value)
{
    if (value.empty())
        return value;
    auto parsed = jose::parse_json_strict(value, 32);
    if (parsed)
        return std::move(*parsed);
    return value;
}

claims_transform::claims_transform(const claims_transform_config& config)
    : issuer_(config.issuer), leeway_(config.upstream_leeway), remove_(config.remove_claims)
{
    // Global first, then the per-token map overwrites the same names.
    for (const auto* m : {&config.global_add_claims, &config.add_claims})
        for (const auto& [k, v] : *m)
            add_[k] = decode_claim_value(v);
    for (const auto* m : {&config.global_set_claims, &config.set_claims})
        for (const auto& [k, v] : *m)
            set_[k] = decode_claim_value(v);
}

boost::system::result<json> claims_transform::apply(json claims, claims_source source, std::int64_t now_unix) const
{
    if (!claims.is_object())
        return make_error_code(keys_errc::invalid_claims);

    if (source == claims_source::introspection)
        claims.erase("active");

    if (!issuer_.empty()) {
        if (auto it = claims.find("iss"); it != claims.end())
            claims["original_iss"] = *it;
        claims["iss"] = issuer_;
    }

    if (leeway_ != 0) {
        auto it = claims.find("exp");
        if (it == claims.end()) {
            claims["exp"] = now_unix + leeway_;
        } else if (it->is_number_integer()) {
            const json old = *it;
            claims["original_exp"] = old;
            claims["exp"] = old.get<std::int64_t>() + leeway_;
        } else if (it->is_number()) {
            const json old = *it;
            claims["original_exp"] = old;
            claims["exp"] = old.get<double>() + static_cast<double>(leeway_);
        } else {
            return make_error_code(keys_errc::invalid_claims);
        }
    }

    for (const auto& name : remove_)
        claims.erase(name);
    for (const auto& [name, value] : add_)
        if (!claims.contains(name))
            claims[name] = value;
    for (const auto& [name, value] : set_)
        claims[name] = value;
    return claims;
}

}  // namespace countersign::jwt_signer
