// Building the typed jwt-signer config from its validated JSON.
#include <countersign/jwt_signer/jwt_signer_config.hpp>

#include <countersign/jwt_signer/introspection_client.hpp>

#include <cmath>

namespace countersign::jwt_signer {

namespace {

using nlohmann::json;

const json& at(const json& cfg, const std::string& key)
{
    static const json null_value;
    auto it = cfg.find(key);
    return it == cfg.end() ? null_value : *it;
}

std::string str(const json& cfg, const std::string& key, std::string def = {})
{
    const auto& v = at(cfg, key);
    return v.is_string() ? v.get<std::string>() : def;
}

bool flag(const json& cfg, const std::string& key, bool def)
{
    const auto& v = at(cfg, key);
    return v.is_boolean() ? v.get<bool>() : def;
}

double num(const json& cfg, const std::string& key, double def)
{
    const auto& v = at(cfg, key);
    return v.is_number() ? v.get<double>() : def;
}

std::map<std::string, std::string> string_map(const json& cfg, const std::string& key)
{
    std::map<std::string, std::string> out;
    const auto& v = at(cfg, key);
    if (!v.is_object()) return out;
    for (auto it = v.begin(); it != v.end(); ++it)
        if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
    return out;
}

std::vector<std::string> string_list(const json& cfg, const std::string& key)
{
    std::vector<std::string> out;
    const auto& v = at(cfg, key);
    if (!v.is_array()) return out;
    for (const auto& e : v)
        if (e.is_string()) out.push_back(e.get<std::string>());
    return out;
}

/// Moves the errors of a building block ("config.<field>") under `path`.
void forward_errors(const config::error_list& from, config::error_list* to, const std::string& path)
{
    if (!to) return;
    for (const auto& e : from.errors()) {
        std::string p = e.path;
        if (p.rfind("config.", 0) == 0) p = path + p.substr(6);
        to->add(p, e.message, e.line);
    }
}

http_client::tls_options tls_for(const json& cfg, const std::string& t, const std::string& cert_field)
{
    http_client::tls_options tls;
    tls.verify = flag(cfg, t + "_endpoints_ssl_verify", true);
    tls.ca_file = str(cfg, "endpoints_ca_file");
    if (!cert_field.empty()) {
        const auto& c = at(cfg, cert_field);
        if (c.is_object()) {
            tls.client_cert_file = str(c, "cert");
            tls.client_key_file = str(c, "key");
        }
    }
    return tls;
}

std::optional<http_client::basic_credentials> basic_for(const json& cfg, const std::string& prefix)
{
    auto user = str(cfg, prefix + "username");
    auto pass = str(cfg, prefix + "password");
    if (user.empty() && pass.empty()) return std::nullopt;
    return http_client::basic_credentials{user, pass};
}

std::chrono::seconds seconds_of(double v)
{
    if (!(v > 0)) return std::chrono::seconds{0};
    return std::chrono::seconds{static_cast<std::int64_t>(std::ceil(v))};
}

token_slot_config build_slot(const json& cfg, token_kind kind, bool enable_hs, std::size_t max_token_bytes,
                             config::error_list* errors, const std::string& path)
{
    const std::string t(token_field_prefix(kind));
    config::error_list local;

    // Verifier.
    verifier_settings v;
    v.kind = kind;
    v.verify_signature = flag(cfg, "verify_" + t + "_signature", true);
    v.jwks_uri = str(cfg, t + "_jwks_uri");
    v.jwks_options.tls = tls_for(cfg, t, t + "_jwks_uri_client_certificate");
    v.jwks_options.basic = basic_for(cfg, t + "_jwks_uri_client_");
    v.jwks_options.rotate_period = seconds_of(num(cfg, t + "_jwks_uri_rotate_period", 0));
    v.allowed_algs = allowed_algorithms(enable_hs);
    v.max_token_bytes = max_token_bytes;

    // Introspection.
    introspection_settings in;
    in.enabled = flag(cfg, "enable_" + t + "_introspection", true);
    in.endpoint = str(cfg, t + "_introspection_endpoint");
    in.authorization = str(cfg, t + "_introspection_authorization");
    if (auto args = str(cfg, t + "_introspection_body_args"); !args.empty()) {
        auto parsed = parse_body_args(args);
        if (parsed)
            in.body_args = std::move(*parsed);
        else
            local.add("config." + t + "_introspection_body_args", "must be a url-encoded form (a=1&b=2)");
    }
    in.hint = str(cfg, t + "_introspection_hint");
    if (double ms = num(cfg, t + "_introspection_timeout", 0); ms > 0)
        in.timeout = std::chrono::milliseconds{static_cast<std::int64_t>(ms)};
    if (auto p = claim_path::from_json(at(cfg, t + "_introspection_jwt_claim"))) in.jwt_claim = *p;
    in.trust = flag(cfg, "trust_" + t + "_introspection", true);
    in.cache = flag(cfg, "cache_" + t + "_introspection", true);
    in.cache_max_ttl = std::max(seconds_of(num(cfg, t + "_introspection_cache_max_ttl", 3600)), std::chrono::seconds{1});
    in.cache_inactive_ttl = seconds_of(num(cfg, t + "_introspection_cache_inactive_ttl", 5));
    in.tls = tls_for(cfg, t, "");

    // Signing.
    signing_settings s;
    const std::string upstream = str(cfg, t + "_upstream_header");
    if (!upstream.empty()) {
        std::string err;
        if (auto loc = parse_token_location(upstream, &err))
            s.upstream_header = *loc;
        else
            local.add("config." + t + "_upstream_header", err);
    }
    s.enabled = flag(cfg, t + "_signing", true) && s.upstream_header.configured();
    if (auto a = jose::alg_from_string(str(cfg, t + "_signing_algorithm", "RS256"))) s.algorithm = *a;
    s.keyset = str(cfg, t + "_keyset", "kong");
    if (s.keyset.empty()) s.keyset = "kong";  // Kong 3.13.0.7+: a null keyset means the default
    s.keyset_is_url = is_url_keyset(s.keyset);
    s.keyset_fetch.tls = tls_for(cfg, t, t + "_keyset_client_certificate");
    s.keyset_fetch.basic = basic_for(cfg, t + "_keyset_client_");
    s.keyset_rotate_period = seconds_of(num(cfg, t + "_keyset_rotate_period", 0));
    if (auto orig = str(cfg, "original_" + t + "_upstream_header"); !orig.empty()) {
        if (auto loc = parse_token_location(orig)) s.original_upstream_header = loc->header_name;
    }
    s.transform.issuer = str(cfg, t + "_issuer", "kong");
    s.transform.upstream_leeway = static_cast<std::int64_t>(num(cfg, t + "_upstream_leeway", 0));
    s.transform.remove_claims = string_list(cfg, "remove_" + t + "_claims");
    s.transform.add_claims = string_map(cfg, "add_" + t + "_claims");
    s.transform.set_claims = string_map(cfg, "set_" + t + "_claims");
    s.transform.global_add_claims = string_map(cfg, "add_claims");
    s.transform.global_set_claims = string_map(cfg, "set_claims");

    token_slot_config slot{
        kind,
        token_extractor::from_plugin_config(cfg, kind, &local, max_token_bytes),
        std::move(v),
        std::move(in),
        claims_config::from_plugin_config(cfg, kind, claim_source::payload, &local),
        claims_config::from_plugin_config(cfg, kind, claim_source::introspection, &local),
        consumer_mapping_config::from_plugin_config(cfg, kind, claim_source::payload, &local),
        consumer_mapping_config::from_plugin_config(cfg, kind, claim_source::introspection, &local),
        std::move(s),
    };
    forward_errors(local, errors, path);
    return slot;
}

}  // namespace

jwt_signer_config jwt_signer_config::from_json(const json& cfg, config::error_list* errors, const std::string& path)
{
    const bool hs = flag(cfg, "enable_hs_signatures", false);
    const auto max_bytes = static_cast<std::size_t>(num(cfg, "max_token_bytes", 8192));
    std::optional<std::string> realm;
    if (auto r = str(cfg, "realm"); !r.empty()) realm = r;
    keyset_options ko;
    ko.rsa_bits = static_cast<int>(num(cfg, "keyset_rsa_bits", 2048));
    ko.include_ed448 = flag(cfg, "keyset_include_ed448", false);

    return jwt_signer_config{
        std::move(realm),
        flag(cfg, "enable_instrumentation", false),
        hs,
        max_bytes,
        ko,
        build_slot(cfg, token_kind::access, hs, max_bytes, errors, path),
        build_slot(cfg, token_kind::channel, hs, max_bytes, errors, path),
    };
}

}  // namespace countersign::jwt_signer
