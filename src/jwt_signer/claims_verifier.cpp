#include "countersign/jwt_signer/claims_verifier.hpp"

#include <algorithm>
#include <cmath>

namespace countersign::jwt_signer {

namespace {

using json = nlohmann::json;

// ---- reading the plugin config under Kong's names -------------------------

class field_reader {
public:
    field_reader(const json& cfg, config::error_list* errors) : cfg_(cfg), errors_(errors) {}

    /// nullptr when absent. JSON null is returned as is (means "unset").
    const json* find(const std::string& name) const
    {
        if (!cfg_.is_object())
            return nullptr;
        auto it = cfg_.find(name);
        return it == cfg_.end() ? nullptr : &*it;
    }

    void boolean(const std::string& name, bool& out) const
    {
        const json* v = find(name);
        if (!v || v->is_null())
            return;
        if (v->is_boolean())
            out = v->get<bool>();
        else
            report(name, "must be a boolean");
    }

    void number(const std::string& name, double& out) const
    {
        const json* v = find(name);
        if (!v || v->is_null())
            return;
        if (v->is_number() && std::isfinite(v->get<double>()))
            out = v->get<double>();
        else
            report(name, "must be a number");
    }

    /// `keep_default_when_unset`: null/""/[] keep `out` (Kong default) rather
    /// than clearing it.
    void path(const std::string& name, claim_path& out, bool keep_default_when_unset) const
    {
        const json* v = find(name);
        if (!v)
            return;
        auto p = claim_path::from_json(*v);
        if (!p) {
            report(name, "must be an array of strings");
            return;
        }
        if (p->empty() && keep_default_when_unset)
            return;
        out = std::move(*p);
    }

    void strings(const std::string& name, std::vector<std::string>& out) const
    {
        const json* v = find(name);
        if (!v || v->is_null())
            return;
        if (!v->is_array()) {
            report(name, "must be an array of strings");
            return;
        }
        std::vector<std::string> r;
        for (const auto& e : *v) {
            if (!e.is_string()) {
                report(name, "must be an array of strings");
                return;
            }
            r.push_back(e.get<std::string>());
        }
        out = std::move(r);
    }

    void paths(const std::string& name, std::vector<claim_path>& out) const
    {
        const json* v = find(name);
        if (!v || v->is_null())
            return;
        if (!v->is_array()) {
            report(name, "must be an array of claim paths");
            return;
        }
        std::vector<claim_path> r;
        for (const auto& e : *v) {
            auto p = claim_path::from_json(e);
            if (!p) {
                report(name, "must be an array of claim paths");
                return;
            }
            if (!p->empty())
                r.push_back(std::move(*p));
        }
        out = std::move(r);
    }

private:
    void report(const std::string& name, const std::string& message) const
    {
        if (errors_)
            errors_->add("config." + name, message);
    }

    const json& cfg_;
    config::error_list* errors_;
};

bool contains(const std::vector<std::string>& list, std::string_view v)
{
    return std::find(list.begin(), list.end(), v) != list.end();
}

std::string in_quotes(std::string_view s)
{
    std::string out = "'";
    out += s;
    out += '\'';
    return out;
}

std::string format_seconds(double v)
{
    if (std::trunc(v) == v && std::fabs(v) < 9.0e15)
        return std::to_string(static_cast<long long>(v));
    return std::to_string(v);
}

/// An allow-list check on a scalar claim (issuer, subject).
auth_status check_scalar_allowed(const json& doc, const claim_path& path,
                                 const std::vector<std::string>& allowed, auth_errc code,
                                 std::string_view what)
{
    const json* v = path.lookup(doc);
    if (!v)
        return auth_fail(code, std::string(what) + " claim " + in_quotes(path.to_string()) +
                                   " is missing");
    auto s = scalar_to_string(*v);
    if (!s)
        return auth_fail(code, std::string(what) + " claim " + in_quotes(path.to_string()) +
                                   " is not a string");
    if (!contains(allowed, *s))
        return auth_fail(code, std::string(what) + " " + in_quotes(sanitize_detail(*s)) + " is not allowed");
    return {};
}

bool is_time_claim_name(std::string_view k) { return k == "exp" || k == "nbf" || k == "iat"; }
bool is_string_claim_name(std::string_view k) { return k == "iss" || k == "sub" || k == "jti"; }

}  // namespace

claims_config claims_config::from_plugin_config(const json& plugin_config, token_kind kind,
                                                claim_source source, config::error_list* errors)
{
    claims_config c;
    c.kind = kind;
    c.source = source;
    std::string p(token_field_prefix(kind));
    if (source == claim_source::introspection)
        p += "_introspection";
    const std::string v = "verify_" + p;
    const field_reader r(plugin_config, errors);

    r.boolean(v + "_expiry", c.verify_expiry);
    r.number(p + "_leeway", c.leeway);
    r.path(p + "_expiry_claim", c.expiry_claim, true);
    r.boolean(v + "_notbefore", c.verify_notbefore);
    r.path(p + "_notbefore_claim", c.notbefore_claim, true);

    r.boolean(v + "_issuer", c.verify_issuer);
    r.path(p + "_issuer_claim", c.issuer_claim, true);
    r.strings(p + "_issuers_allowed", c.issuers_allowed);

    r.boolean(v + "_audience", c.verify_audience);
    r.path(p + "_audience_claim", c.audience_claim, true);
    r.strings(p + "_audiences_allowed", c.audiences_allowed);

    r.boolean(v + "_subject", c.verify_subject);
    r.path(p + "_subject_claim", c.subject_claim, true);
    r.strings(p + "_subjects_allowed", c.subjects_allowed);

    r.paths(p + "_required_claims", c.required_claims);
    r.paths(p + "_optional_claims", c.optional_claims);

    r.boolean(v + "_scopes", c.verify_scopes);
    r.path(p + "_scopes_claim", c.scopes_claim, false);
    r.strings(p + "_scopes_required", c.scopes_required);
    return c;
}

claims_verifier::claims_verifier(claims_config cfg)
    : cfg_(std::move(cfg)), scopes_(cfg_.scopes_required)
{
}

auth_status claims_verifier::verify(const json& doc, const clock& clk) const
{
    if (auto s = verify_time(doc, clk.unix_seconds()); !s.ok())
        return s;
    return verify_static(doc);
}

auth_status claims_verifier::verify_time(const json& doc, std::int64_t now) const
{
    if (auto s = check_expiry(doc, now); !s.ok())
        return s;
    return check_notbefore(doc, now);
}

auth_status claims_verifier::verify_static(const json& doc) const
{
    for (auto check : {&claims_verifier::check_issuer, &claims_verifier::check_audience,
                       &claims_verifier::check_subject, &claims_verifier::check_required_claims,
                       &claims_verifier::check_optional_claims, &claims_verifier::check_scopes}) {
        if (auto s = (this->*check)(doc); !s.ok())
            return s;
    }
    return {};
}

auth_status claims_verifier::check_expiry(const json& doc, std::int64_t now) const
{
    if (!cfg_.verify_expiry)
        return {};
    const json* v = cfg_.expiry_claim.lookup(doc);
    const bool numeric = v && v->is_number();
    double exp = static_cast<double>(now);
    if (cfg_.source == claim_source::introspection) {
        // Kong: an introspection result must carry an expiry.
        if (!numeric)
            return auth_fail(auth_errc::no_expiry,
                             "introspection result has no numeric " +
                                 in_quotes(cfg_.expiry_claim.to_string()));
        exp = v->get<double>();
    } else if (v) {
        // Deviation from Kong: a present but non-numeric exp is rejected
        // rather than treated as "now".
        if (!numeric)
            return auth_fail(auth_errc::claim_invalid,
                             "expiry claim " + in_quotes(cfg_.expiry_claim.to_string()) +
                                 " is not a number");
        exp = v->get<double>();
    }
    // Kong: reject when now > exp + leeway (a missing payload exp counts as now).
    if (static_cast<double>(now) > exp + cfg_.leeway)
        return auth_fail(auth_errc::expired, "expired at " + format_seconds(exp) + " (now " +
                                                 std::to_string(now) + ", leeway " +
                                                 format_seconds(cfg_.leeway) + ")");
    return {};
}

auth_status claims_verifier::check_notbefore(const json& doc, std::int64_t now) const
{
    if (!cfg_.verify_notbefore)
        return {};
    const json* v = cfg_.notbefore_claim.lookup(doc);
    if (!v)
        return {};
    if (!v->is_number())
        return auth_fail(auth_errc::claim_invalid, "not-before claim " +
                                                       in_quotes(cfg_.notbefore_claim.to_string()) +
                                                       " is not a number");
    const double nbf = v->get<double>();
    if (static_cast<double>(now) < nbf - cfg_.leeway)
        return auth_fail(auth_errc::not_yet_valid, "not valid before " + format_seconds(nbf) +
                                                       " (now " + std::to_string(now) +
                                                       ", leeway " + format_seconds(cfg_.leeway) +
                                                       ")");
    return {};
}

auth_status claims_verifier::check_issuer(const json& doc) const
{
    if (!cfg_.verify_issuer || cfg_.issuers_allowed.empty())
        return {};
    return check_scalar_allowed(doc, cfg_.issuer_claim, cfg_.issuers_allowed, auth_errc::issuer,
                                "issuer");
}

auth_status claims_verifier::check_subject(const json& doc) const
{
    if (!cfg_.verify_subject || cfg_.subjects_allowed.empty())
        return {};
    return check_scalar_allowed(doc, cfg_.subject_claim, cfg_.subjects_allowed,
                                auth_errc::subject, "subject");
}

auth_status claims_verifier::check_audience(const json& doc) const
{
    if (!cfg_.verify_audience || cfg_.audiences_allowed.empty())
        return {};
    const std::string name = in_quotes(cfg_.audience_claim.to_string());
    const json* v = cfg_.audience_claim.lookup(doc);
    if (!v)
        return auth_fail(auth_errc::audience, "audience claim " + name + " is missing");
    if (v->is_string()) {
        if (contains(cfg_.audiences_allowed, v->get_ref<const std::string&>()))
            return {};
        return auth_fail(auth_errc::audience,
                         "audience " + in_quotes(sanitize_detail(v->get_ref<const std::string&>())) +
                             " is not allowed");
    }
    if (v->is_array()) {
        // Any one allowed audience is enough (RFC 7519 §4.1.3).
        for (const auto& e : *v)
            if (e.is_string() && contains(cfg_.audiences_allowed, e.get_ref<const std::string&>()))
                return {};
        return auth_fail(auth_errc::audience,
                         "none of the audiences " + sanitize_detail(v->dump()) + " is allowed");
    }
    return auth_fail(auth_errc::audience,
                     "audience claim " + name + " is not a string or an array");
}

std::optional<std::string> claims_verifier::type_problem(const claim_path& path,
                                                         const json& value) const
{
    const std::string& last = path.keys().back();
    const bool single = path.keys().size() == 1;
    if (path == cfg_.expiry_claim || path == cfg_.notbefore_claim ||
        (single && is_time_claim_name(last))) {
        if (!value.is_number())
            return std::string("a number");
        return std::nullopt;
    }
    if (path == cfg_.audience_claim || (single && last == "aud")) {
        if (value.is_string())
            return std::nullopt;
        if (value.is_array() &&
            std::all_of(value.begin(), value.end(), [](const json& e) { return e.is_string(); }))
            return std::nullopt;
        return std::string("a string or an array of strings");
    }
    if (path == cfg_.issuer_claim || path == cfg_.subject_claim ||
        (single && is_string_claim_name(last))) {
        if (!value.is_string())
            return std::string("a string");
        return std::nullopt;
    }
    return std::nullopt;
}

auth_status claims_verifier::check_required_claims(const json& doc) const
{
    for (const auto& path : cfg_.required_claims) {
        const json* v = path.lookup(doc);
        if (!v)
            return auth_fail(auth_errc::claim_missing,
                             "required claim " + in_quotes(path.to_string()) + " is missing");
        if (auto problem = type_problem(path, *v))
            return auth_fail(auth_errc::claim_invalid,
                             "claim " + in_quotes(path.to_string()) + " must be " + *problem);
    }
    return {};
}

auth_status claims_verifier::check_optional_claims(const json& doc) const
{
    for (const auto& path : cfg_.optional_claims) {
        const json* v = path.lookup(doc);
        if (!v)
            continue;
        if (auto problem = type_problem(path, *v))
            return auth_fail(auth_errc::claim_invalid,
                             "claim " + in_quotes(path.to_string()) + " must be " + *problem);
    }
    return {};
}

auth_status claims_verifier::check_scopes(const json& doc) const
{
    if (!cfg_.verify_scopes)
        return {};
    return jwt_signer::check_scopes(doc, cfg_.scopes_claim, scopes_);
}

}  // namespace countersign::jwt_signer
