// The jwt-signer config schema: Kong's 153 fields plus countersign extensions.
#include <countersign/jwt_signer/jwt_signer_schema.hpp>

#include <countersign/jwt_signer/token_extractor.hpp>

#include <algorithm>
#include <cctype>

namespace countersign::jwt_signer {

namespace {

using nlohmann::json;
using namespace pipeline;

constexpr const char* ext = "countersign extension: ";

const std::vector<std::string> token_prefixes{"access_token", "channel_token"};

field claim_path_field(std::string name, json def = nullptr)
{
    auto f = array_field(std::move(name), string_field("").len_min(1));
    if (!def.is_null()) f.default_value(std::move(def));
    return f;
}

field string_list_field(std::string name)
{
    return array_field(std::move(name), string_field(""));
}

field claim_paths_field(std::string name)
{
    return array_field(std::move(name), array_field("", string_field("").len_min(1)));
}

field consumer_by_field(std::string name)
{
    return array_field(std::move(name), string_field("").one_of({"id", "username", "custom_id"}))
        .default_value(json::array({"username", "custom_id"}));
}

std::optional<std::string> check_request_header(const json& v)
{
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty()) return std::nullopt;
    std::string err;
    if (!parse_token_location(s, &err)) return err.empty() ? std::string("invalid header name") : err;
    return std::nullopt;
}

field header_field(std::string name, json def = nullptr)
{
    auto f = string_field(std::move(name));
    if (!def.is_null()) f.default_value(std::move(def));
    f.check("an HTTP header name, optionally with a :Bearer or :Basic suffix", check_request_header);
    return f;
}

field client_certificate_field(std::string name)
{
    return record_field(std::move(name),
                        {string_field("id").description(
                             "Kong's Certificate reference. countersign has no Certificate entities: use cert and key"),
                         string_field("cert").len_min(1).description(
                             std::string(ext) + "PEM file with the client certificate (chain)"),
                         string_field("key").len_min(1).description(std::string(ext) +
                                                                       "PEM file with the private key of `cert`")})
        .description("Client certificate for mTLS to the URL")
        .add_check("client certificate", [](const json& r, check_reporter& rep) {
            const bool cert = is_present(value_at(r, "cert"));
            const bool key = is_present(value_at(r, "key"));
            if (is_present(value_at(r, "id")) && !cert)
                rep.error_at("id",
                             "certificate references are not supported: countersign has no Certificate entities; "
                             "set `cert` and `key` (PEM files) instead");
            if (cert != key) rep.error("`cert` and `key` must be set together");
        });
}

std::optional<std::string> check_keyset(const json& v)
{
    const auto& s = v.get_ref<const std::string&>();
    std::string lower(s.substr(0, 8));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0) {
        auto rest = s.substr(lower.rfind("https://", 0) == 0 ? 8 : 7);
        if (rest.empty() || rest.front() == '/') return std::string("must be a keyset name or an absolute http(s) URL");
        for (unsigned char c : s)
            if (c <= 0x20 || c == 0x7f) return std::string("must be a keyset name or an absolute http(s) URL");
    } else {
        for (unsigned char c : s)
            if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
                return std::string("a keyset name must not contain '/', '\\' or control characters");
    }
    return std::nullopt;
}

/// The claim-check fields of one source: `p` is "<t>" or "<t>_introspection".
void add_claim_fields(std::vector<field>& out, const std::string& p)
{
    out.push_back(boolean_field("verify_" + p + "_expiry").default_value(true));
    out.push_back(number_field(p + "_leeway").default_value(0));
    out.push_back(claim_path_field(p + "_expiry_claim", json::array({"exp"})));
    out.push_back(boolean_field("verify_" + p + "_notbefore").default_value(false));
    out.push_back(claim_path_field(p + "_notbefore_claim", json::array({"nbf"})));
    out.push_back(boolean_field("verify_" + p + "_scopes").default_value(true));
    out.push_back(claim_path_field(p + "_scopes_claim", json::array({"scope"})));
    out.push_back(string_list_field(p + "_scopes_required"));
    out.push_back(boolean_field("verify_" + p + "_issuer").default_value(true));
    out.push_back(claim_path_field(p + "_issuer_claim", json::array({"iss"})));
    out.push_back(string_list_field(p + "_issuers_allowed"));
    out.push_back(boolean_field("verify_" + p + "_audience").default_value(true));
    out.push_back(claim_path_field(p + "_audience_claim", json::array({"aud"})));
    out.push_back(string_list_field(p + "_audiences_allowed"));
    out.push_back(boolean_field("verify_" + p + "_subject").default_value(true));
    out.push_back(claim_path_field(p + "_subject_claim", json::array({"sub"})));
    out.push_back(string_list_field(p + "_subjects_allowed"));
    out.push_back(claim_paths_field(p + "_required_claims"));
    out.push_back(claim_paths_field(p + "_optional_claims"));
}

/// Every field of one token slot (Kong: 74 per slot) plus its extensions.
void add_token_fields(std::vector<field>& out, const std::string& t)
{
    const bool access = t == "access_token";
    // 1.1 location
    out.push_back(header_field(t + "_request_header", access ? json("Authorization") : json(nullptr))
                      .description("Request header carrying the token (`:Bearer` / `:Basic` suffix allowed)"));
    out.push_back(boolean_field(t + "_optional").default_value(false));
    // 1.2 verification
    out.push_back(boolean_field("verify_" + t + "_signature").default_value(true));
    out.push_back(string_field(t + "_jwks_uri").url());
    out.push_back(string_field(t + "_jwks_uri_client_username"));
    out.push_back(string_field(t + "_jwks_uri_client_password").secret());
    out.push_back(client_certificate_field(t + "_jwks_uri_client_certificate"));
    out.push_back(number_field(t + "_jwks_uri_rotate_period").default_value(0).at_least(0));
    out.push_back(boolean_field(t + "_endpoints_ssl_verify").default_value(true));
    // 1.3 introspection
    out.push_back(boolean_field("enable_" + t + "_introspection").default_value(true));
    out.push_back(string_field(t + "_introspection_endpoint").url());
    out.push_back(string_field(t + "_introspection_authorization").secret());
    out.push_back(string_field(t + "_introspection_body_args"));
    {
        auto hint = string_field(t + "_introspection_hint");
        if (access) hint.default_value("access_token");
        out.push_back(std::move(hint));
    }
    out.push_back(number_field(t + "_introspection_timeout").at_least(1).description("milliseconds"));
    out.push_back(claim_path_field(t + "_introspection_jwt_claim"));
    out.push_back(boolean_field("trust_" + t + "_introspection").default_value(true));
    // 1.4 / 1.5 claim checks
    add_claim_fields(out, t);
    add_claim_fields(out, t + "_introspection");
    // 1.6 consumers
    out.push_back(claim_path_field(t + "_consumer_claim"));
    out.push_back(consumer_by_field(t + "_consumer_by"));
    out.push_back(claim_path_field(t + "_introspection_consumer_claim"));
    out.push_back(consumer_by_field(t + "_introspection_consumer_by"));
    // 1.7 signing
    out.push_back(boolean_field(t + "_signing").default_value(true));
    {
        std::vector<json> algs(signing_algorithm_names().begin(), signing_algorithm_names().end());
        out.push_back(string_field(t + "_signing_algorithm").default_value("RS256").one_of(std::move(algs)));
    }
    out.push_back(string_field(t + "_issuer").default_value("kong"));
    out.push_back(string_field(t + "_keyset")
                      .default_value("kong")
                      .len_max(2048)
                      .check("a keyset name or an http(s) URL", check_keyset));
    out.push_back(string_field(t + "_keyset_client_username"));
    out.push_back(string_field(t + "_keyset_client_password").secret());
    out.push_back(client_certificate_field(t + "_keyset_client_certificate"));
    out.push_back(number_field(t + "_keyset_rotate_period").default_value(0).at_least(0));
    out.push_back(number_field(t + "_upstream_leeway").default_value(0));
    out.push_back(map_field("add_" + t + "_claims", string_field("")).default_value(json::object()));
    out.push_back(map_field("set_" + t + "_claims", string_field("")).default_value(json::object()));
    out.push_back(array_field("remove_" + t + "_claims", string_field("")).default_value(json::array()));
    // 1.8 upstream headers
    out.push_back(header_field(t + "_upstream_header", access ? json("Authorization:Bearer") : json(nullptr)));
    out.push_back(header_field("original_" + t + "_upstream_header"));
    // 1.9 caching
    out.push_back(boolean_field("cache_" + t + "_introspection").default_value(true));

    // countersign extensions
    out.push_back(number_field(t + "_introspection_cache_max_ttl")
                      .default_value(3600)
                      .at_least(1)
                      .description(std::string(ext) +
                                   "upper bound (seconds) of the TTL of a cached active introspection answer"));
    out.push_back(number_field(t + "_introspection_cache_inactive_ttl")
                      .default_value(5)
                      .at_least(0)
                      .description(std::string(ext) +
                                   "TTL (seconds) of a cached inactive introspection answer; 0 = never cached"));
}

}  // namespace

const std::vector<std::string>& signing_algorithm_names()
{
    static const std::vector<std::string> names{"HS256", "HS384", "HS512", "RS256", "RS512", "ES256",
                                                "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"};
    return names;
}

std::string header_name_of(std::string_view configured)
{
    auto colon = configured.find(':');
    std::string name(configured.substr(0, colon));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    return name;
}

pipeline::plugin_schema jwt_signer_schema()
{
    std::vector<field> fields;
    fields.reserve(170);
    for (const auto& t : token_prefixes) add_token_fields(fields, t);

    fields.push_back(boolean_field("enable_hs_signatures").default_value(false));
    fields.push_back(map_field("add_claims", string_field("")).default_value(json::object()));
    fields.push_back(map_field("set_claims", string_field("")).default_value(json::object()));
    fields.push_back(string_field("realm"));
    fields.push_back(boolean_field("enable_instrumentation").default_value(false));

    // Global countersign extensions.
    fields.push_back(integer_field("max_token_bytes")
                         .default_value(8192)
                         .between(256, 1048576)
                         .description(std::string(ext) + "incoming tokens above this size are rejected (401)"));
    fields.push_back(integer_field("keyset_rsa_bits")
                         .default_value(2048)
                         .one_of({2048, 3072, 4096})
                         .description(std::string(ext) + "RSA modulus size of generated keysets"));
    fields.push_back(boolean_field("keyset_include_ed448")
                         .default_value(false)
                         .description(std::string(ext) + "generated keysets also hold an Ed448 EdDSA key"));
    fields.push_back(string_field("endpoints_ca_file")
                         .len_min(1)
                         .description(std::string(ext) +
                                      "PEM file of CAs trusted for jwks_uri, introspection and keyset URLs "
                                      "(default: the system trust store)"));

    plugin_schema s{std::move(fields)};

    s.add_check("the four upstream header names must all differ", [](const json& c, check_reporter& r) {
        static const char* names[] = {"access_token_upstream_header", "channel_token_upstream_header",
                                      "original_access_token_upstream_header",
                                      "original_channel_token_upstream_header"};
        for (int i = 0; i < 4; ++i) {
            const auto& a = value_at(c, names[i]);
            if (!is_present(a)) continue;
            for (int j = i + 1; j < 4; ++j) {
                const auto& b = value_at(c, names[j]);
                if (!is_present(b)) continue;
                if (header_name_of(a.get<std::string>()) == header_name_of(b.get<std::string>()))
                    r.error_at(names[j], std::string("must differ from ") + names[i] + " (both name the header '" +
                                             header_name_of(b.get<std::string>()) + "')");
            }
        }
    });
    for (const auto& t : token_prefixes) {
        for (const char* what : {"_jwks_uri_client_", "_keyset_client_"}) {
            const std::string user = t + what + "username";
            const std::string pass = t + what + "password";
            s.add_check(user + " and " + pass + " must be set together", mutually_required({user, pass}));
        }
    }
    return s;
}

std::vector<std::string> kong_field_names()
{
    auto all = jwt_signer_schema().config().members();
    auto exts = extension_field_names();
    std::vector<std::string> out;
    for (const auto& f : all)
        if (!std::binary_search(exts.begin(), exts.end(), f.name())) out.push_back(f.name());
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> extension_field_names()
{
    std::vector<std::string> out{"max_token_bytes", "keyset_rsa_bits", "keyset_include_ed448", "endpoints_ca_file"};
    for (const auto& t : token_prefixes) {
        out.push_back(t + "_introspection_cache_max_ttl");
        out.push_back(t + "_introspection_cache_inactive_ttl");
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace countersign::jwt_signer
