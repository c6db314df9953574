#include "countersign/jwt_signer/keyset.hpp"

#include "countersign/jose/base64url.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <set>

namespace countersign::jwt_signer {

namespace {

using nlohmann::json;

bool iequals_prefix(std::string_view s, std::string_view prefix) noexcept
{
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i])
            return false;
    }
    return true;
}

std::string etag_of(std::string_view text)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    return "\"" + jose::base64url_encode(std::string_view(reinterpret_cast<const char*>(md), len)) + "\"";
}

// Public form of one signing key, or null for symmetric keys. Belt and braces:
// jose's export is a whitelist already; private member names are erased again.
json public_form(const jose::jwk& k)
{
    if (k.is_symmetric())
        return nullptr;
    json j = k.to_public_json();
    if (!j.is_object())
        return nullptr;
    for (auto m : private_jwk_members)
        j.erase(std::string(m));
    if (!j.contains("use"))
        j["use"] = "sig";
    return j;
}

// Imports one generation of stored/fetched private keys.
keys_result<std::vector<jose::jwk>> import_generation(const json& arr, const std::string& what, keys_errc code)
{
    auto bad = [&](const std::string& why) { return make_failure(code, what + ": " + why); };
    if (!arr.is_array())
        return bad("keys must be an array");
    std::vector<jose::jwk> out;
    std::set<std::string, std::less<>> kids;
    std::size_t index = 0;
    for (const auto& j : arr) {
        const std::string where = "key [" + std::to_string(index++) + "]";
        if (!j.is_object())
            return bad(where + " is not an object");
        auto k = jose::jwk::from_json(j);
        if (!k)
            return bad(where + " does not import: " + k.error().message());
        if (!k->is_private())
            return bad(where + " is not a private key");
        if (!k->algorithm())
            return bad(where + " has no \"alg\"");
        if (!k->compatible_with(*k->algorithm()))
            return bad(where + " does not fit its alg " + std::string(jose::to_string(*k->algorithm())));
        if (!k->permits_sign())
            return bad(where + " does not permit signing (use/key_ops)");
        jose::jwk key = k->kid().empty() ? k->with_kid(k->thumbprint()) : std::move(*k);
        if (!kids.insert(std::string(key.kid())).second)
            return bad(where + " repeats kid \"" + std::string(key.kid()) + "\"");
        out.push_back(std::move(key));
    }
    return out;
}

}  // namespace

bool is_url_keyset(std::string_view name) noexcept
{
    return iequals_prefix(name, "http://") || iequals_prefix(name, "https://");
}

keys_result<std::shared_ptr<const keyset>> keyset::from_record(const keyset_record& rec)
{
    const std::string what = "keyset \"" + rec.name + "\"" + (rec.origin.empty() ? "" : " (" + rec.origin + ")");
    if (rec.name.empty())
        return make_failure(keys_errc::corrupt, what + ": empty name");
    auto cur = import_generation(rec.current, what + " current generation", keys_errc::corrupt);
    if (!cur)
        return cur.error();
    if (cur->empty())
        return make_failure(keys_errc::corrupt, what + ": current generation is empty");
    auto prev = import_generation(rec.previous, what + " previous generation", keys_errc::corrupt);
    if (!prev)
        return prev.error();

    auto ks = std::make_shared<keyset>(private_tag{});
    ks->name_ = rec.name;
    ks->id_ = rec.id;
    ks->generation_ = rec.generation;
    ks->created_at_ = rec.created_at;
    ks->updated_at_ = rec.updated_at;
    ks->source_url_ = rec.source_url;
    ks->current_ = std::move(*cur);
    ks->previous_ = std::move(*prev);

    json cur_pub = json::array();
    json prev_pub = json::array();
    json all_pub = json::array();
    std::set<std::string, std::less<>> listed;
    for (const auto& k : ks->current_) {
        json p = public_form(k);
        if (p.is_null())
            continue;
        cur_pub.push_back(p);
        all_pub.push_back(std::move(p));
        listed.insert(std::string(k.kid()));
    }
    for (const auto& k : ks->previous_) {
        json p = public_form(k);
        if (p.is_null())
            continue;
        prev_pub.push_back(p);
        if (listed.insert(std::string(k.kid())).second)
            all_pub.push_back(std::move(p));
    }
    ks->public_current_ = json{{"keys", cur_pub}};
    ks->public_all_ = json{{"keys", std::move(all_pub)}};
    ks->admin_ = json{{"keys", std::move(cur_pub)}, {"previous", std::move(prev_pub)}};
    ks->public_current_text_ = ks->public_current_.dump();
    ks->public_all_text_ = ks->public_all_.dump();
    ks->etag_current_ = etag_of(ks->public_current_text_);
    ks->etag_all_ = etag_of(ks->public_all_text_);
    return std::shared_ptr<const keyset>(std::move(ks));
}

keys_result<nlohmann::json> keyset::generate_generation(const keyset_options& options)
{
    if (options.rsa_bits != 2048 && options.rsa_bits != 3072 && options.rsa_bits != 4096)
        return make_failure(keys_errc::invalid_keyset,
                            "rsa_bits must be 2048, 3072 or 4096, not " + std::to_string(options.rsa_bits));
    using jose::alg;
    struct spec {
        alg a;
        const char* curve;
    };
    std::vector<spec> plan = {
        {alg::hs256, ""},  {alg::hs384, ""},  {alg::hs512, ""},  {alg::rs256, ""},  {alg::rs384, ""},
        {alg::rs512, ""},  {alg::ps256, ""},  {alg::ps384, ""},  {alg::ps512, ""},  {alg::es256, ""},
        {alg::es384, ""},  {alg::es512, ""},  {alg::eddsa, "Ed25519"},
    };
    if (options.include_ed448)
        plan.push_back({alg::eddsa, "Ed448"});

    json out = json::array();
    for (const auto& s : plan) {
        auto k = jose::jwk::generate(s.a, options.rsa_bits, *s.curve ? s.curve : "Ed25519");
        if (!k)
            return make_failure(keys_errc::generation_failed, "cannot generate " + std::string(jose::to_string(s.a)) +
                                                                  (*s.curve ? std::string(" ") + s.curve : "") +
                                                                  " key: " + k.error().message());
        jose::jwk keyed = k->with_kid(k->thumbprint());
        json j = keyed.to_private_json();
        if (!j.contains("use"))
            j["use"] = "sig";
        out.push_back(std::move(j));
    }
    return out;
}

keys_result<nlohmann::json> keyset::validate_private_jwks(const nlohmann::json& jwks)
{
    if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array())
        return make_failure(keys_errc::invalid_keyset, "keyset JWKS: expected an object with a \"keys\" array");
    if (jwks["keys"].empty())
        return make_failure(keys_errc::invalid_keyset, "keyset JWKS: \"keys\" is empty");
    auto keys = import_generation(jwks["keys"], "keyset JWKS", keys_errc::invalid_keyset);
    if (!keys)
        return keys.error();
    json out = json::array();
    for (const auto& k : *keys)
        out.push_back(k.to_private_json());
    return out;
}

const jose::jwk* keyset::select(jose::alg a) const noexcept
{
    for (const auto& k : current_)
        if (k.algorithm() == a)
            return &k;
    return nullptr;
}

keyset_record keyset::to_record() const
{
    keyset_record rec;
    rec.name = name_;
    rec.id = id_;
    rec.generation = generation_;
    rec.created_at = created_at_;
    rec.updated_at = updated_at_;
    rec.source_url = source_url_;
    rec.current = json::array();
    rec.previous = json::array();
    for (const auto& k : current_)
        rec.current.push_back(k.to_private_json());
    for (const auto& k : previous_)
        rec.previous.push_back(k.to_private_json());
    return rec;
}

keyset_options keyset::inferred_options() const
{
    keyset_options o;
    for (const auto& k : current_) {
        if (k.kty() == "RSA" && k.bits() > 0)
            o.rsa_bits = k.bits();
        if (k.kty() == "OKP" && k.crv() == "Ed448")
            o.include_ed448 = true;
    }
    return o;
}

}  // namespace countersign::jwt_signer
