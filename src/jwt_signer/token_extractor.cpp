#include "countersign/jwt_signer/token_extractor.hpp"

#include <countersign/core/text.hpp>

namespace countersign::jwt_signer {

namespace {

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

bool is_tchar(char c) noexcept
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
    }
}

std::optional<auth_scheme> scheme_from_name(std::string_view s) noexcept
{
    if (ascii_iequals(s, "bearer"))
        return auth_scheme::bearer;
    if (ascii_iequals(s, "basic"))
        return auth_scheme::basic;
    return std::nullopt;
}

std::string_view scheme_name(auth_scheme s) noexcept
{
    switch (s) {
    case auth_scheme::bearer: return "Bearer";
    case auth_scheme::basic: return "Basic";
    default: return "";
    }
}

}  // namespace

std::optional<token_location> parse_token_location(std::string_view configured, std::string* error)
{
    auto set_error = [&](std::string msg) {
        if (error)
            *error = std::move(msg);
        return std::nullopt;
    };
    configured = trim_ows(configured);
    token_location loc;
    if (configured.empty())
        return loc;
    std::string_view name = configured;
    if (auto colon = configured.find(':'); colon != std::string_view::npos) {
        name = trim_ows(configured.substr(0, colon));
        std::string_view suffix = trim_ows(configured.substr(colon + 1));
        auto scheme = scheme_from_name(suffix);
        if (!scheme)
            return set_error("unknown scheme suffix '" + std::string(suffix) +
                             "' (expected ':Bearer' or ':Basic')");
        loc.scheme = *scheme;
    }
    if (name.empty())
        return set_error("header name is empty");
    for (char c : name)
        if (!is_tchar(c))
            return set_error("'" + std::string(name) + "' is not a valid header name");
    loc.header_name = std::string(name);
    return loc;
}

token_extractor::token_extractor(token_location location, extractor_options options)
    : location_(std::move(location)), options_(options)
{
}

token_extractor token_extractor::from_plugin_config(const nlohmann::json& plugin_config,
                                                    token_kind kind, config::error_list* errors,
                                                    std::size_t max_token_bytes)
{
    const std::string prefix(token_field_prefix(kind));
    const std::string header_field = prefix + "_request_header";
    const std::string optional_field = prefix + "_optional";
    auto report = [&](const std::string& field, std::string msg) {
        if (errors)
            errors->add("config." + field, std::move(msg));
    };

    extractor_options opts;
    opts.kind = kind;
    opts.max_token_bytes = max_token_bytes;
    token_location loc;
    if (kind == token_kind::access)
        loc.header_name = "Authorization";  // Kong default; the channel default is unset

    if (plugin_config.is_object()) {
        if (auto it = plugin_config.find(header_field); it != plugin_config.end()) {
            if (it->is_null()) {
                loc = token_location{};
            } else if (!it->is_string()) {
                report(header_field, "must be a string");
            } else {
                std::string err;
                if (auto parsed = parse_token_location(it->get_ref<const std::string&>(), &err))
                    loc = std::move(*parsed);
                else {
                    report(header_field, err);
                    loc = token_location{};  // fail closed: not configured
                }
            }
        }
        if (auto it = plugin_config.find(optional_field); it != plugin_config.end()) {
            if (it->is_boolean())
                opts.optional = it->get<bool>();
            else if (!it->is_null())
                report(optional_field, "must be a boolean");
        }
    }
    return token_extractor(std::move(loc), opts);
}

extraction token_extractor::absent(auth_errc code, std::string detail) const
{
    extraction r;
    if (!options_.optional)
        r.status = auth_fail(code, std::move(detail));
    return r;
}

extraction token_extractor::extract(const header_getter& get_header) const
{
    if (!location_.configured())
        return extract_value(std::nullopt);
    return extract_value(get_header ? get_header(location_.header_name) : std::nullopt);
}

extraction token_extractor::extract_value(std::optional<std::string_view> value) const
{
    const std::string slot(token_display_name(options_.kind));
    if (!location_.configured()) {
        if (options_.kind == token_kind::channel)
            return {};  // Kong's documented intent: not looked for
        return absent(auth_errc::header_not_configured, "the " + slot + " header name was not configured");
    }
    if (!value)
        return absent(auth_errc::missing, "no " + location_.header_name + " header");
    std::string_view v = trim_ows(*value);
    if (v.empty())
        return absent(auth_errc::missing, "empty " + location_.header_name + " header");

    auto malformed = [&](std::string why) {
        extraction r;
        r.status = auth_fail(auth_errc::malformed, slot + " in " + location_.header_name + ": " + why);
        return r;
    };

    // Optional scheme: the first word, when it is Bearer/Basic and is
    // followed by whitespace or ends the value.
    auth_scheme found = auth_scheme::none;
    std::size_t word_end = 0;
    while (word_end < v.size() && !is_ows(v[word_end]))
        ++word_end;
    if (auto s = scheme_from_name(v.substr(0, word_end))) {
        found = *s;
        v = trim_ows(v.substr(word_end));
        if (v.empty())
            return malformed(std::string(scheme_name(found)) + " scheme without a token");
    }
    if (options_.strict_scheme && location_.scheme != auth_scheme::none && found != location_.scheme)
        return malformed("expected the " + std::string(scheme_name(location_.scheme)) + " scheme");

    if (v.size() > options_.max_token_bytes) {
        extraction r;
        r.status = auth_fail(auth_errc::too_large, slot + " is " + std::to_string(v.size()) +
                                                       " bytes, limit " +
                                                       std::to_string(options_.max_token_bytes));
        return r;
    }
    if (!all_visible_ascii(v)) {
        for (char c : v) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u >= 0x7f)
                return malformed(is_ows(c) ? "whitespace inside the token (unknown scheme?)"
                                           : "control or non-ASCII character in the token");
        }
    }
    extraction r;
    r.token = std::string(v);
    r.present = true;
    return r;
}

}  // namespace countersign::jwt_signer
