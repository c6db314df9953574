#include "countersign/jose/jwk_set.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace countersign::jose {

using json = nlohmann::json;

namespace {

void skip(std::vector<std::string>* reasons, std::string reason)
{
    spdlog::warn("jwks: skipping key: {}", reason);
    if (reasons)
        reasons->push_back(std::move(reason));
}

std::string describe(std::size_t index, std::string_view kid)
{
    std::string s = "keys[" + std::to_string(index) + "]";
    if (!kid.empty()) {
        // kid is attacker-influenced text: keep the log line printable and short
        std::string clean;
        for (char c : kid.substr(0, 64))
            clean.push_back(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f ? c : '?');
        s += " (kid \"" + clean + "\")";
    }
    return s;
}

} // namespace

jwk_set jwk_set::parse(const json& j, const key_policy& policy, std::vector<std::string>* skipped_reasons)
{
    jwk_set set;
    auto it = j.is_object() ? j.find("keys") : j.end();
    if (!j.is_object() || it == j.end() || !it->is_array()) {
        skip(skipped_reasons, "not a JWK set: no \"keys\" array");
        return set;
    }
    std::vector<std::pair<std::size_t, std::shared_ptr<const jwk>>> parsed;
    // kids are counted over every entry, usable or not: a set that names two
    // keys alike is ambiguous even when one of them is broken
    std::map<std::string, int, std::less<>> kid_count;
    std::size_t index = 0;
    for (const auto& entry : *it) {
        std::string kid;
        if (entry.is_object())
            if (auto k = entry.find("kid"); k != entry.end() && k->is_string())
                kid = k->get<std::string>();
        if (!kid.empty())
            ++kid_count[kid];
        auto key = jwk::from_json(entry, policy);
        if (!key)
            skip(skipped_reasons, describe(index, kid) + ": " + key.error().message());
        else
            parsed.emplace_back(index, std::make_shared<const jwk>(std::move(*key)));
        ++index;
    }

    const bool any_symmetric = std::any_of(parsed.begin(), parsed.end(), [](auto& p) { return p.second->is_symmetric(); });
    const bool any_asymmetric = std::any_of(parsed.begin(), parsed.end(), [](auto& p) { return !p.second->is_symmetric(); });

    for (auto& [i, k] : parsed) {
        if (any_symmetric && any_asymmetric && k->is_symmetric()) {
            skip(skipped_reasons, describe(i, k->kid()) + ": symmetric key in a set with asymmetric keys");
            continue;
        }
        if (!k->kid().empty() && kid_count.find(k->kid())->second > 1) {
            skip(skipped_reasons, describe(i, k->kid()) + ": duplicate kid");
            continue;
        }
        set.keys_.push_back(std::move(k));
    }
    return set;
}

std::shared_ptr<const jwk> jwk_set::find_by_kid(std::string_view kid) const
{
    if (kid.empty())
        return nullptr;  // a missing kid never selects a key implicitly
    for (const auto& k : keys_)
        if (k->kid() == kid)
            return k;
    return nullptr;
}

std::shared_ptr<const jwk> jwk_set::find_by_x5t(std::string_view x5t) const
{
    if (x5t.empty())
        return nullptr;
    for (const auto& k : keys_)
        if (k->x5t() == x5t)
            return k;
    return nullptr;
}

std::shared_ptr<const jwk> jwk_set::find_by_x5t_s256(std::string_view x5t_s256) const
{
    if (x5t_s256.empty())
        return nullptr;
    for (const auto& k : keys_)
        if (k->x5t_s256() == x5t_s256)
            return k;
    return nullptr;
}

json jwk_set::to_public_json() const
{
    json keys = json::array();
    for (const auto& k : keys_)
        if (!k->is_symmetric())
            keys.push_back(k->to_public_json());
    return json{{"keys", std::move(keys)}};
}

} // namespace countersign::jose
