#pragma once
// JWK Set (RFC 7517 §5). Parsing never fails as a whole: unusable keys are
// skipped with a logged reason. Keys are parsed once into ready EVP_PKEYs.
//
// Set-level rules on top of jwk::from_json:
//  - a set that mixes symmetric and asymmetric keys drops the symmetric ones
//    (Wycheproof "JWK keyset mixed symmetry");
//  - keys sharing a kid are ambiguous and are all dropped (checklist J11).

#include "countersign/jose/jwk.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::jose {

class jwk_set {
public:
    static jwk_set parse(const nlohmann::json& j, const key_policy& policy = {},
                         std::vector<std::string>* skipped_reasons = nullptr);

    jwk_set() = default;
    explicit jwk_set(std::vector<std::shared_ptr<const jwk>> keys) : keys_(std::move(keys)) {}

    const std::vector<std::shared_ptr<const jwk>>& keys() const noexcept { return keys_; }
    bool empty() const noexcept { return keys_.empty(); }
    std::size_t size() const noexcept { return keys_.size(); }

    // nullptr when absent (kids are unique after parse).
    std::shared_ptr<const jwk> find_by_kid(std::string_view kid) const;
    std::shared_ptr<const jwk> find_by_x5t(std::string_view x5t) const;
    std::shared_ptr<const jwk> find_by_x5t_s256(std::string_view x5t_s256) const;

    // {"keys":[...]} with public members only; symmetric keys are omitted.
    nlohmann::json to_public_json() const;

private:
    std::vector<std::shared_ptr<const jwk>> keys_;
};

} // namespace countersign::jose
