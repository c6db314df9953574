// JWS classification and verification for the jwt-signer plugin.
#include <countersign/jwt_signer/token_verifier.hpp>

#include <countersign/core/text.hpp>
#include <countersign/jose/base64url.hpp>
#include <countersign/jose/error.hpp>
#include <countersign/jose/json_strict.hpp>
#include <countersign/jose/jws.hpp>
#include <countersign/jwt_signer/jwks_cache.hpp>

#include <algorithm>
#include <cctype>

namespace countersign::jwt_signer {

namespace {

using nlohmann::json;

std::vector<std::string_view> split_dots(std::string_view token)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (parts.size() < 8) {
        auto dot = token.find('.', start);
        if (dot == std::string_view::npos) {
            parts.push_back(token.substr(start));
            break;
        }
        parts.push_back(token.substr(start, dot - start));
        start = dot + 1;
    }
    return parts;
}

/// RFC 8725 §3.11 / Kong: `typ`, when present, must be JWT or at+jwt (any
/// case, with or without the "application/" prefix).
bool typ_acceptable(const json& header)
{
    auto it = header.find("typ");
    if (it == header.end()) return true;
    if (!it->is_string()) return false;
    std::string_view t = it->get_ref<const std::string&>();
    if (t.size() > 12 && ascii_iequals(t.substr(0, 12), "application/")) t.remove_prefix(12);
    return ascii_iequals(t, "JWT") || ascii_iequals(t, "at+jwt");
}

verified_jws fail(auth_errc code, std::string detail)
{
    verified_jws v;
    v.status = auth_fail(code, std::move(detail));
    return v;
}

auth_errc errc_for_parse(const boost::system::error_code& ec)
{
    if (ec == jose::error::too_large) return auth_errc::too_large;
    if (ec == jose::error::alg_none || ec == jose::error::unsupported_alg || ec == jose::error::missing_alg)
        return auth_errc::alg_not_allowed;
    return auth_errc::bad_signature;  // undecodable: "could not be verified"
}

std::string header_string(const json& h, const char* name)
{
    auto it = h.find(name);
    if (it == h.end() || !it->is_string()) return {};
    return it->get<std::string>();
}

}  // namespace

std::string_view to_string(token_type t) noexcept
{
    switch (t) {
    case token_type::jws: return "jws";
    case token_type::jwe: return "jwe";
    case token_type::opaque: return "opaque";
    }
    return "opaque";
}

token_type classify_token(std::string_view token)
{
    auto parts = split_dots(token);
    if (parts.size() != 3 && parts.size() != 5) return token_type::opaque;
    std::string decoded;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        if (i == 0 || !parts[i].empty()) {
            if (jose::base64url_decode_into(parts[i], decoded)) return token_type::opaque;
        }
        if (i == 0) {
            auto header = jose::parse_json_strict(decoded);
            if (!header || !header->is_object()) return token_type::opaque;
        }
    }
    return parts.size() == 3 ? token_type::jws : token_type::jwe;
}

std::vector<jose::alg> allowed_algorithms(bool enable_hs_signatures)
{
    std::vector<jose::alg> out;
    for (auto a : jose::all_algs) {
        if (jose::family_of(a) == jose::alg_family::hmac && !enable_hs_signatures) continue;
        out.push_back(a);
    }
    return out;
}

verified_jws decode_jws_unverified(std::string_view token, std::size_t max_token_bytes)
{
    if (token.size() > max_token_bytes) return fail(auth_errc::too_large, "token above max_token_bytes");
    auto parts = split_dots(token);
    if (parts.size() != 3) return fail(auth_errc::unsupported_token, "not a compact JWS");
    std::string text;
    if (jose::base64url_decode_into(parts[0], text)) return fail(auth_errc::bad_signature, "header is not base64url");
    auto header = jose::parse_json_strict(text);
    if (!header || !header->is_object()) return fail(auth_errc::bad_signature, "header is not a JSON object");
    if (jose::base64url_decode_into(parts[1], text))
        return fail(auth_errc::unsupported_token, "payload is not base64url");
    auto payload = jose::parse_json_strict(text, 64);
    if (!payload || !payload->is_object()) return fail(auth_errc::unsupported_token, "payload is not a JSON object");
    verified_jws v;
    v.header = std::move(*header);
    v.payload = std::move(*payload);
    return v;
}

token_verifier::token_verifier(verifier_settings settings, std::shared_ptr<jwks_cache> cache)
    : settings_(std::move(settings)), cache_(std::move(cache))
{
}

net::awaitable<verified_jws> token_verifier::verify(std::string token) const
{
    if (!settings_.verify_signature) co_return decode_jws_unverified(token, settings_.max_token_bytes);

    jose::parse_limits limits;
    limits.max_token_bytes = settings_.max_token_bytes;
    auto parsed = jose::parse_compact(token, limits);
    if (!parsed) co_return fail(errc_for_parse(parsed.error()), "jws: " + parsed.error().message());

    const json& header = parsed->header;
    if (!typ_acceptable(header)) co_return fail(auth_errc::alg_not_allowed, "jws: typ is not JWT or at+jwt");

    const auto alg_name = parsed->alg_name();
    auto a = jose::alg_from_string(alg_name);
    if (!a) co_return fail(auth_errc::alg_not_allowed, "jws: alg '" + sanitize_detail(alg_name) + "' not accepted");
    if (std::find(settings_.allowed_algs.begin(), settings_.allowed_algs.end(), *a) == settings_.allowed_algs.end())
        co_return fail(auth_errc::alg_not_allowed,
                       "jws: alg " + std::string(jose::to_string(*a)) + " not allowed (enable_hs_signatures is off)");

    if (settings_.jwks_uri.empty() || !cache_) co_return fail(auth_errc::no_jwks_uri, "jws: no jwks_uri configured");

    const std::string kid = parsed->kid();
    if (kid.size() > settings_.max_kid_bytes) co_return fail(auth_errc::no_key, "jws: kid too long");
    const std::string x5t = header_string(header, "x5t");
    const std::string x5t_s256 = header_string(header, "x5t#S256");

    key_query q;
    q.kid = kid;
    q.alg = *a;
    q.x5t = x5t;
    q.x5t_s256 = x5t_s256;
    auto found = co_await cache_->find_key(settings_.jwks_uri, settings_.jwks_options, q);
    if (!found)
        co_return fail(auth_errc::no_key, "jws: no suitable jwk (kid '" + sanitize_detail(kid, 64) +
                                              "'): " + found.error().message());
    const auto& key = *found->key;
    if (auto key_alg = key.algorithm(); key_alg && *key_alg != *a)
        co_return fail(auth_errc::alg_not_allowed, "jws: algorithm mismatch: token " +
                                                       std::string(jose::to_string(*a)) + ", key " +
                                                       std::string(jose::to_string(*key_alg)));

    const jose::alg one[] = {*a};
    if (auto ec = jose::verify_jws(*parsed, key, one))
        co_return fail(ec == jose::error::alg_key_mismatch ? auth_errc::alg_not_allowed : auth_errc::bad_signature,
                       "jws: signature verification failed: " + ec.message());

    auto payload = jose::parse_json_strict(parsed->payload, 64);
    if (!payload || !payload->is_object())
        co_return fail(auth_errc::unsupported_token, "jws: payload is not a JSON object");

    verified_jws v;
    v.header = std::move(parsed->header);
    v.payload = std::move(*payload);
    co_return v;
}

}  // namespace countersign::jwt_signer
