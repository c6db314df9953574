#include "countersign/jwt_signer/claim_path.hpp"

#include <cmath>
#include <cstdint>

namespace countersign::jwt_signer {

std::optional<claim_path> claim_path::from_json(const nlohmann::json& v)
{
    if (v.is_null())
        return claim_path{};
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        std::vector<std::string> keys;
        std::size_t start = 0;
        while (start <= s.size() && !s.empty()) {
            auto comma = s.find(',', start);
            if (comma == std::string::npos)
                comma = s.size();
            keys.emplace_back(s.substr(start, comma - start));
            start = comma + 1;
        }
        return claim_path{std::move(keys)};
    }
    if (!v.is_array())
        return std::nullopt;
    std::vector<std::string> keys;
    keys.reserve(v.size());
    for (const auto& k : v) {
        if (!k.is_string())
            return std::nullopt;
        keys.push_back(k.get<std::string>());
    }
    return claim_path{std::move(keys)};
}

std::string claim_path::to_string() const
{
    std::string out;
    for (const auto& k : keys_) {
        if (!out.empty())
            out += '.';
        out += k;
    }
    return out;
}

const nlohmann::json* claim_path::lookup(const nlohmann::json& doc) const noexcept
{
    if (keys_.empty())
        return nullptr;
    const nlohmann::json* cur = &doc;
    for (const auto& k : keys_) {
        if (!cur->is_object())
            return nullptr;
        auto it = cur->find(k);
        if (it == cur->end())
            return nullptr;
        cur = &*it;
    }
    return cur->is_null() ? nullptr : cur;
}

std::optional<std::string> scalar_to_string(const nlohmann::json& v)
{
    switch (v.type()) {
    case nlohmann::json::value_t::string: return v.get<std::string>();
    case nlohmann::json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return v.dump();
    case nlohmann::json::value_t::number_float: {
        // Lua prints 123.0 as "123"; keep that for integral values.
        const double d = v.get<double>();
        if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9007199254740992.0)
            return std::to_string(static_cast<std::int64_t>(d));
        return v.dump();
    }
    default: return std::nullopt;
    }
}

std::optional<std::string> claim_to_string(const nlohmann::json& v)
{
    if (!v.is_array())
        return scalar_to_string(v);
    std::string out;
    bool first = true;
    for (const auto& e : v) {
        auto s = scalar_to_string(e);
        if (!s)
            continue;
        if (!first)
            out += ' ';
        out += *s;
        first = false;
    }
    return out;
}

}  // namespace countersign::jwt_signer
