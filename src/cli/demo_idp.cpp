#include <countersign/cli/demo_idp.hpp>

#include <array>
#include <set>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <countersign/core/percent.hpp>
#include <countersign/core/text.hpp>
#include <countersign/jose/base64url.hpp>
#include <countersign/jose/json_strict.hpp>
#include <countersign/jose/jws.hpp>

namespace countersign::cli {

namespace {

constexpr std::size_t max_value_bytes = 1024;   // sub, scope, aud
constexpr std::size_t max_claims_bytes = 8192;  // the claims= JSON

std::string random_token(std::size_t bytes)
{
    std::string raw(bytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
        return {};
    return jose::base64url_encode(raw);
}

admin::response text(unsigned status, std::string body)
{
    admin::response r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

// RFC 6749 §5.2 error shape.
admin::response oauth_error(unsigned status, std::string_view error, std::string_view description)
{
    auto r = admin::response::json(status, {{"error", error}, {"error_description", description}});
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

std::string standard_base64(std::string_view bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

// Splits "a=1&b=2" into decoded pairs; nullopt on a malformed escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view s)
{
    std::vector<std::pair<std::string, std::string>> out;
    while (!s.empty()) {
        const auto amp = s.find('&');
        const auto part = s.substr(0, amp);
        s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
        if (part.empty())
            continue;
        const auto eq = part.find('=');
        auto name = percent_decode_strict(part.substr(0, eq), true);
        auto value = percent_decode_strict(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
        if (!name || !value)
            return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

constexpr const char* help_text =
    "countersign demo-idp: an example identity provider for trying countersign.\n"
    "NOT FOR PRODUCTION: it gives any token to anyone who asks.\n"
    "\n"
    "GET  /token?sub=alice&scope=a+b&aud=x&ttl=300&claims={json}   a signed JWT (text/plain)\n"
    "GET  /opaque?sub=alice&scope=a+b&ttl=300                      an opaque token (text/plain)\n"
    "POST /introspect   form token=...; HTTP Basic client_id:client_secret (RFC 7662)\n"
    "GET  /jwks         the public key (JWKS)\n"
    "GET  /.well-known/openid-configuration\n";

}  // namespace

std::string demo_token_request::parse_query(std::string_view query)
{
    auto pairs = parse_form(query);
    if (!pairs)
        return "malformed percent-escape in the query string";
    std::set<std::string, std::less<>> seen;
    for (auto& [name, value] : *pairs) {
        if (!seen.insert(name).second)
            return "parameter '" + name + "' given twice";
        if (name != "claims" && value.size() > max_value_bytes)
            return "parameter '" + name + "' is longer than " + std::to_string(max_value_bytes) + " bytes";
        if (name == "sub") {
            sub = std::move(value);
        } else if (name == "scope") {
            scope = std::move(value);
        } else if (name == "aud") {
            aud = std::move(value);
        } else if (name == "ttl") {
            std::size_t used = 0;
            long long v = 0;
            try {
                v = std::stoll(value, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != value.size())
                return "ttl must be a whole number of seconds";
            ttl = v;
        } else if (name == "claims") {
            if (value.size() > max_claims_bytes)
                return "claims is longer than " + std::to_string(max_claims_bytes) + " bytes";
            auto j = jose::parse_json_strict(value);
            if (!j || !j->is_object())
                return "claims must be a JSON object, e.g. claims={\"role\":\"admin\"}";
            claims = std::move(*j);
        } else {
            return "unknown parameter '" + name + "' (known: sub, scope, aud, ttl, claims)";
        }
    }
    return validate();
}

std::string demo_token_request::validate() const
{
    if (ttl < min_ttl || ttl > max_ttl)
        return "ttl must be between " + std::to_string(min_ttl) + " and " + std::to_string(max_ttl) + " seconds";
    if (!claims.is_object())
        return "claims must be a JSON object";
    return {};
}

nlohmann::json demo_claims(const demo_token_request& req, std::string_view issuer, std::string_view client_id,
                           std::int64_t now)
{
    nlohmann::json c = nlohmann::json::object();
    c["iss"] = issuer;
    c["sub"] = req.sub;
    c["iat"] = now;
    c["exp"] = now + req.ttl;
    c["jti"] = random_token(16);
    if (!req.scope.empty())
        c["scope"] = req.scope;
    if (!req.aud.empty())
        c["aud"] = req.aud;
    if (!client_id.empty())
        c["client_id"] = client_id;
    for (const auto& [k, v] : req.claims.items())
        c[k] = v;
    return c;
}

std::string sign_demo_token(const jose::jwk& key, const nlohmann::json& claims)
{
    if (!key.algorithm())
        return {};
    nlohmann::json header = {{"typ", "JWT"}, {"kid", key.kid()}};
    auto token = jose::sign_compact(header, claims.dump(), *key.algorithm(), key);
    return token ? std::move(*token) : std::string{};
}

std::optional<config::listen_address> parse_listen_address(std::string_view text)
{
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == text.size() || colon + 6 < text.size())
        return std::nullopt;
    auto host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    else if (host.find(':') != std::string_view::npos)
        return std::nullopt;  // IPv6 needs brackets
    if (host.empty())
        return std::nullopt;
    unsigned port = 0;
    for (char c : text.substr(colon + 1)) {
        if (c < '0' || c > '9')
            return std::nullopt;
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port > 65535)
        return std::nullopt;
    config::listen_address a;
    a.address = std::string(host);
    a.port = static_cast<std::uint16_t>(port);
    a.text = std::string(text);
    return a;
}

std::string issuer_base(std::string_view issuer)
{
    while (!issuer.empty() && issuer.back() == '/')
        issuer.remove_suffix(1);
    return std::string(issuer);
}

demo_idp::demo_idp(jose::jwk key, demo_idp_settings settings, const clock& c)
    : key_(std::move(key)), settings_(std::move(settings)), clock_(c)
{
}

void demo_idp::add_routes(admin::router& r, std::shared_ptr<demo_idp> idp)
{
    r.add("GET", "/", [](const admin::request&, const admin::path_params&) { return text(200, help_text); });
    r.add("GET", "/jwks", [idp](const admin::request&, const admin::path_params&) { return idp->jwks(); });
    r.add("GET", "/.well-known/openid-configuration",
          [idp](const admin::request&, const admin::path_params&) { return idp->openid_configuration(); });
    r.add("GET", "/token", [idp](const admin::request& req, const admin::path_params&) { return idp->issue_jwt(req); });
    r.add("GET", "/opaque",
          [idp](const admin::request& req, const admin::path_params&) { return idp->issue_opaque(req); });
    r.add("POST", "/introspect",
          [idp](const admin::request& req, const admin::path_params&) { return idp->introspect(req); });
}

admin::response demo_idp::jwks() const
{
    auto r = admin::response::json(200, {{"keys", nlohmann::json::array({key_.to_public_json()})}});
    r.content_type = "application/jwk-set+json";
    return r;
}

admin::response demo_idp::openid_configuration() const
{
    const auto base = issuer_base(settings_.issuer);
    const std::string alg(key_.algorithm() ? jose::to_string(*key_.algorithm()) : "RS256");
    return admin::response::json(200, {
                                          {"issuer", settings_.issuer},
                                          {"jwks_uri", base + "/jwks"},
                                          {"introspection_endpoint", base + "/introspect"},
                                          {"introspection_endpoint_auth_methods_supported", {"client_secret_basic"}},
                                          {"id_token_signing_alg_values_supported", {alg}},
                                          {"subject_types_supported", {"public"}},
                                          {"response_types_supported", {"token"}},
                                      });
}

admin::response demo_idp::issue_jwt(const admin::request& req) const
{
    demo_token_request t;
    if (auto err = t.parse_query(req.query); !err.empty())
        return oauth_error(400, "invalid_request", err);
    auto token = sign_demo_token(key_, demo_claims(t, settings_.issuer, settings_.client_id, clock_.unix_seconds()));
    if (token.empty())
        return oauth_error(500, "server_error", "signing failed");
    return text(200, token + "\n");
}

admin::response demo_idp::issue_opaque(const admin::request& req)
{
    demo_token_request t;
    if (auto err = t.parse_query(req.query); !err.empty())
        return oauth_error(400, "invalid_request", err);
    auto token = random_token(32);
    if (token.empty())
        return oauth_error(500, "server_error", "no randomness");
    auto claims = demo_claims(t, settings_.issuer, settings_.client_id, clock_.unix_seconds());
    {
        std::lock_guard lock(mutex_);
        while (opaque_order_.size() >= settings_.max_opaque_tokens && !opaque_order_.empty()) {
            opaque_.erase(opaque_order_.front());
            opaque_order_.pop_front();
        }
        opaque_.emplace(token, std::move(claims));
        opaque_order_.push_back(token);
    }
    return text(200, token + "\n");
}

bool demo_idp::client_authenticated(std::string_view authorization) const
{
    const auto space = authorization.find(' ');
    if (space == std::string_view::npos || !ascii_iequals(authorization.substr(0, space), "Basic"))
        return false;
    auto given = authorization.substr(space + 1);
    while (!given.empty() && given.front() == ' ')
        given.remove_prefix(1);
    while (!given.empty() && given.back() == ' ')
        given.remove_suffix(1);
    // Base64 with padding is canonical, so comparing encodings compares the
    // credentials (in constant time).
    const auto expected = standard_base64(settings_.client_id + ":" + settings_.client_secret);
    return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

std::optional<nlohmann::json> demo_idp::active_claims(const std::string& token)
{
    const auto now = clock_.unix_seconds();
    {
        std::lock_guard lock(mutex_);
        if (auto it = opaque_.find(token); it != opaque_.end()) {
            const auto& exp = it->second["exp"];
            if (exp.is_number_integer() && exp.get<std::int64_t>() >= now)
                return it->second;
            return std::nullopt;
        }
    }
    // One of our own JWTs: active while its signature holds and it has not expired.
    auto parsed = jose::parse_compact(token);
    if (!parsed || !key_.algorithm())
        return std::nullopt;
    const std::array<jose::alg, 1> allowed{*key_.algorithm()};
    if (jose::verify_jws(*parsed, key_, allowed))
        return std::nullopt;
    auto claims = jose::parse_json_strict(parsed->payload);
    if (!claims || !claims->is_object())
        return std::nullopt;
    const auto exp = claims->find("exp");
    if (exp == claims->end() || !exp->is_number() || exp->get<double>() < static_cast<double>(now))
        return std::nullopt;
    return std::move(*claims);
}

admin::response demo_idp::introspect(const admin::request& req)
{
    if (!client_authenticated(req.header("authorization"))) {
        auto r = oauth_error(401, "invalid_client", "HTTP Basic client credentials required");
        r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"demo-idp\"");
        return r;
    }
    auto form = parse_form(req.body);
    std::optional<std::string> token;
    if (form)
        for (auto& [k, v] : *form)
            if (k == "token")
                token = std::move(v);
    if (!token || token->empty())
        return oauth_error(400, "invalid_request", "the form field 'token' is required");

    auto claims = active_claims(*token);
    nlohmann::json answer;
    if (!claims) {
        answer = {{"active", false}};
    } else {
        answer = std::move(*claims);
        answer["active"] = true;
        answer["token_type"] = "Bearer";
        if (!answer.contains("client_id"))
            answer["client_id"] = settings_.client_id;
    }
    auto r = admin::response::json(200, answer);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

}  // namespace countersign::cli
