#include <countersign/proxy/hop_by_hop.hpp>

#include <countersign/core/text.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace countersign::proxy {

namespace {

bool is_protected(std::string_view name)
{
    static constexpr std::array<std::string_view, 8> exact{
        "host", "authorization", "content-length", "x-real-ip",
        "forwarded", "cookie", "content-type", "x-credential-identifier"};
    if (std::find(exact.begin(), exact.end(), name) != exact.end())
        return true;
    return name.starts_with("x-forwarded-") || name.starts_with("x-consumer-") ||
           name == "x-anonymous-consumer";
}

}  // namespace

std::vector<std::string> connection_tokens(const http::fields& fields)
{
    std::vector<std::string> out;
    for (auto it = fields.find(http::field::connection); it != fields.end() && it->name() == http::field::connection;
         ++it) {
        std::string_view v = it->value();
        while (!v.empty()) {
            auto comma = v.find(',');
            auto token = trim_ows(v.substr(0, comma));
            if (!token.empty())
                out.push_back(ascii_lower(token));
            if (comma == std::string_view::npos)
                break;
            v.remove_prefix(comma + 1);
        }
    }
    return out;
}

namespace {

bool always_hop_by_hop_field(http::field f) noexcept
{
    switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::te:
    case http::field::trailer:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::proxy_authenticate:
    case http::field::proxy_authorization: return true;
    default: return false;
    }
}

}  // namespace

void strip_hop_by_hop(http::fields& fields)
{
    // One walk over the fields, deciding by the name Beast already resolved
    // when it parsed the field, instead of one set search per name. Only a
    // request that carries Connection pays for its token list.
    std::vector<std::string> tokens;
    for (const auto& f : fields) {
        if (f.name() == http::field::connection) {
            tokens = connection_tokens(fields);
            break;
        }
    }
    for (auto it = fields.begin(); it != fields.end();) {
        bool drop = always_hop_by_hop_field(it->name());
        if (!drop && !tokens.empty()) {
            const auto name = it->name_string();
            drop = std::any_of(tokens.begin(), tokens.end(),
                               [&](const std::string& t) { return ascii_iequals(name, t); });
        }
        it = drop ? fields.erase(it) : std::next(it);
    }
}

bool connection_names_protected_field(const http::fields& fields)
{
    auto tokens = connection_tokens(fields);
    return std::any_of(tokens.begin(), tokens.end(), [](const std::string& t) { return is_protected(t); });
}

std::size_t drop_underscore_fields(http::fields& fields)
{
    std::size_t dropped = 0;
    for (auto it = fields.begin(); it != fields.end();) {
        if (it->name_string().find('_') != std::string_view::npos) {
            it = fields.erase(it);
            ++dropped;
        } else {
            ++it;
        }
    }
    return dropped;
}

}  // namespace countersign::proxy
