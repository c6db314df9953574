#include "countersign/jwt_signer/scopes.hpp"

#include <algorithm>

namespace countersign::jwt_signer {

namespace {

bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string> split_ws(std::string_view text)
{
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_space(text[i]))
            ++i;
        std::size_t start = i;
        while (i < text.size() && !is_space(text[i]))
            ++i;
        if (i > start)
            out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

}  // namespace

scope_set scope_set::parse(std::string_view text)
{
    scope_set s;
    s.scopes_ = split_ws(text);
    std::sort(s.scopes_.begin(), s.scopes_.end());
    s.scopes_.erase(std::unique(s.scopes_.begin(), s.scopes_.end()), s.scopes_.end());
    return s;
}

std::optional<scope_set> scope_set::from_claim(const nlohmann::json& value)
{
    auto text = claim_to_string(value);
    if (!text)
        return std::nullopt;
    return parse(*text);
}

bool scope_set::contains(std::string_view scope) const noexcept
{
    return std::binary_search(scopes_.begin(), scopes_.end(), scope,
                              [](std::string_view a, std::string_view b) { return a < b; });
}

scope_requirement::scope_requirement(const std::vector<std::string>& entries)
{
    for (const auto& e : entries) {
        auto group = split_ws(e);
        if (!group.empty())
            groups_.push_back(std::move(group));
    }
}

bool scope_requirement::satisfied_by(const scope_set& granted) const noexcept
{
    return std::any_of(groups_.begin(), groups_.end(), [&](const std::vector<std::string>& g) {
        return std::all_of(g.begin(), g.end(),
                           [&](const std::string& s) { return granted.contains(s); });
    });
}

std::string scope_requirement::to_string() const
{
    std::string out;
    for (const auto& g : groups_) {
        if (!out.empty())
            out += " or ";
        out += '"';
        for (std::size_t i = 0; i < g.size(); ++i) {
            if (i)
                out += ' ';
            out += g[i];
        }
        out += '"';
    }
    return out;
}

auth_status check_scopes(const nlohmann::json& doc, const claim_path& claim,
                         const scope_requirement& required)
{
    if (required.empty())
        return {};
    if (claim.empty())
        return auth_fail(auth_errc::scopes_claim_not_configured,
                         "scopes are required but no scopes claim is configured");
    const nlohmann::json* value = claim.lookup(doc);
    if (!value)
        return auth_fail(auth_errc::scope, "scopes claim '" + claim.to_string() + "' is missing");
    auto granted = scope_set::from_claim(*value);
    if (!granted)
        return auth_fail(auth_errc::scope,
                         "scopes claim '" + claim.to_string() + "' is not a string or an array");
    if (!required.satisfied_by(*granted))
        return auth_fail(auth_errc::scope, "required scopes " + required.to_string() +
                                               " not granted by '" + claim.to_string() + "'");
    return {};
}

}  // namespace countersign::jwt_signer
