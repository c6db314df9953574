#include <countersign/pipeline/plugin_schema.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

namespace countersign::pipeline {

namespace {

using json = nlohmann::json;

/// Line of `path`, or of its nearest ancestor that has one (a missing field
/// has no line of its own; its record does).
int line_for(const config::line_lookup& line_of, std::string path)
{
    if (!line_of) return 0;
    while (!path.empty()) {
        if (int l = line_of(path); l > 0) return l;
        auto cut = path.find_last_of(".[");
        if (cut == std::string::npos) break;
        path.resize(cut);
    }
    return 0;
}

void add_error(config::error_list& errors, const config::line_lookup& line_of, const std::string& path,
               std::string message)
{
    errors.add(path, std::move(message), line_for(line_of, path));
}

std::string format_number(double v)
{
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15) return std::to_string(static_cast<long long>(v));
    std::string s = std::to_string(v);
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
}

std::string join_values(const std::vector<json>& values)
{
    std::string out;
    for (const auto& v : values) {
        if (!out.empty()) out += ", ";
        out += v.is_string() ? v.get<std::string>() : v.dump();
    }
    return out;
}

std::string child_path(const std::string& base, std::string_view name)
{
    if (base.empty()) return std::string(name);
    std::string p = base;
    p += '.';
    p += name;
    return p;
}

/// YAML scalars may reach us as strings when the loader keeps them untyped:
/// accept "42", "4.2", "true"/"false" for the corresponding types.
std::optional<json> coerce_scalar(const json& in, field_type t)
{
    if (!in.is_string()) return std::nullopt;
    const auto& s = in.get_ref<const std::string&>();
    if (s.empty()) return std::nullopt;
    if (t == field_type::boolean) {
        if (s == "true") return json(true);
        if (s == "false") return json(false);
        return std::nullopt;
    }
    char* end = nullptr;
    if (t == field_type::integer) {
        long long v = std::strtoll(s.c_str(), &end, 10);
        if (end && *end == '\0') return json(v);
        return std::nullopt;
    }
    if (t == field_type::number) {
        double v = std::strtod(s.c_str(), &end);
        if (end && *end == '\0' && std::isfinite(v)) return json(v);
    }
    return std::nullopt;
}

bool is_absolute_http_url(const std::string& s)
{
    std::string_view v(s);
    std::size_t scheme_len = 0;
    if (v.substr(0, 7) == "http://") scheme_len = 7;
    else if (v.substr(0, 8) == "https://") scheme_len = 8;
    else return false;
    auto rest = v.substr(scheme_len);
    auto host_end = rest.find_first_of("/?#");
    auto authority = rest.substr(0, host_end);
    if (authority.empty()) return false;
    for (char c : v)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
    return true;
}

}  // namespace

std::string_view to_string(field_type t)
{
    switch (t) {
    case field_type::string: return "string";
    case field_type::integer: return "integer";
    case field_type::number: return "number";
    case field_type::boolean: return "boolean";
    case field_type::array: return "array";
    case field_type::set: return "set";
    case field_type::map: return "map";
    case field_type::record: return "record";
    }
    return "unknown";
}

bool is_present(const json& v)
{
    if (v.is_null()) return false;
    if (v.is_string()) return !v.get_ref<const std::string&>().empty();
    return true;
}

const json& value_at(const json& record, std::string_view dotted_path)
{
    static const json null_value;
    const json* cur = &record;
    while (!dotted_path.empty()) {
        auto dot = dotted_path.find('.');
        auto key = dotted_path.substr(0, dot);
        if (!cur->is_object()) return null_value;
        auto it = cur->find(std::string(key));
        if (it == cur->end()) return null_value;
        cur = &*it;
        dotted_path = dot == std::string_view::npos ? std::string_view{} : dotted_path.substr(dot + 1);
    }
    return *cur;
}

// --- check_reporter -----------------------------------------------------------

check_reporter::check_reporter(std::string record_path, const config::line_lookup& line_of,
                               config::error_list& errors)
    : path_(std::move(record_path)), line_of_(line_of), errors_(errors)
{
}

void check_reporter::error(std::string message)
{
    failed_ = true;
    add_error(errors_, line_of_, path_, std::move(message));
}

void check_reporter::error_at(std::string_view relative_path, std::string message)
{
    failed_ = true;
    std::string p = path_;
    if (!relative_path.empty()) {
        if (relative_path.front() != '[' && !p.empty()) p += '.';
        p += relative_path;
    }
    add_error(errors_, line_of_, p, std::move(message));
}

// --- field ----------------------------------------------------------------------

field::field(std::string name, field_type type) : name_(std::move(name)), type_(type) {}

field& field::required(bool on) { required_ = on; return *this; }
field& field::default_value(json v) { default_ = std::move(v); return *this; }
field& field::one_of(std::vector<json> values) { one_of_ = std::move(values); return *this; }
field& field::between(double lo, double hi) { min_ = lo; max_ = hi; return *this; }
field& field::at_least(double lo) { min_ = lo; return *this; }
field& field::at_most(double hi) { max_ = hi; return *this; }
field& field::len_min(std::size_t n) { len_min_ = n; return *this; }
field& field::len_max(std::size_t n) { len_max_ = n; return *this; }
field& field::url() { url_ = true; return *this; }
field& field::secret(bool on) { secret_ = on; return *this; }
field& field::description(std::string text) { description_ = std::move(text); return *this; }
field& field::elements(field f) { elements_ = std::make_shared<const field>(std::move(f)); return *this; }
field& field::fields(std::vector<field> fs) { fields_ = std::move(fs); return *this; }

field& field::match(std::string re, std::string description)
{
    regex_ = std::make_shared<const std::regex>(re, std::regex::ECMAScript);
    match_ = std::move(re);
    match_description_ = std::move(description);
    return *this;
}

field& field::check(std::string description, field_check fn)
{
    checks_.emplace_back(std::move(description), std::move(fn));
    return *this;
}

field& field::add_check(std::string description, record_check fn)
{
    entity_checks_.push_back({std::move(description), std::move(fn)});
    return *this;
}

const field* field::member(std::string_view name) const
{
    for (const auto& f : fields_)
        if (f.name_ == name) return &f;
    return nullptr;
}

json field::absent_value() const
{
    if (default_) return *default_;
    if (type_ == field_type::record) {
        json out = json::object();
        for (const auto& f : fields_) out[f.name_] = f.absent_value();
        return out;
    }
    return nullptr;
}

bool field::validate_scalar(const json& in, json& out, const std::string& path, const config::line_lookup& line_of,
                            config::error_list& errors) const
{
    auto fail = [&](std::string msg) {
        add_error(errors, line_of, path, std::move(msg));
        return false;
    };
    switch (type_) {
    case field_type::string:
        if (!in.is_string()) return fail("expected a string");
        break;
    case field_type::boolean:
        if (!in.is_boolean()) {
            auto c = coerce_scalar(in, type_);
            if (!c) return fail("expected a boolean");
            out = *c;
        }
        break;
    case field_type::integer:
        if (in.is_number_float()) {
            double d = in.get<double>();
            if (d != std::floor(d) || !std::isfinite(d)) return fail("expected an integer");
            out = static_cast<long long>(d);
        } else if (!in.is_number_integer()) {
            auto c = coerce_scalar(in, type_);
            if (!c) return fail("expected an integer");
            out = *c;
        }
        break;
    case field_type::number:
        if (!in.is_number()) {
            auto c = coerce_scalar(in, type_);
            if (!c) return fail("expected a number");
            out = *c;
        }
        break;
    default: break;
    }

    if (!one_of_.empty()) {
        bool found = false;
        for (const auto& v : one_of_) {
            if (v == out || (v.is_number() && out.is_number() && v.get<double>() == out.get<double>())) {
                found = true;
                break;
            }
        }
        if (!found) return fail("expected one of: " + join_values(one_of_));
    }
    if (type_ == field_type::integer || type_ == field_type::number) {
        double d = out.get<double>();
        if (min_ && max_ && (d < *min_ || d > *max_))
            return fail("value must be between " + format_number(*min_) + " and " + format_number(*max_));
        if (min_ && !max_ && d < *min_) return fail("value must be at least " + format_number(*min_));
        if (max_ && !min_ && d > *max_) return fail("value must be at most " + format_number(*max_));
    }
    if (type_ == field_type::string) {
        const auto& s = out.get_ref<const std::string&>();
        if (len_min_ && s.size() < *len_min_) return fail("length must be at least " + std::to_string(*len_min_));
        if (len_max_ && s.size() > *len_max_) return fail("length must be at most " + std::to_string(*len_max_));
        if (regex_ && !std::regex_match(s, *regex_))
            return fail("invalid value: " + s + " (must match " +
                        (match_description_.empty() ? "the pattern " + match_ : match_description_) + ")");
        if (url_ && !is_absolute_http_url(s)) return fail("must be an absolute http or https URL");
    }
    return true;
}

json field::validate(const json& value, const std::string& path, const config::line_lookup& line_of,
                     config::error_list& errors) const
{
    if (value.is_null()) {
        json out = absent_value();
        if (required_ && out.is_null()) add_error(errors, line_of, path, "required field missing");
        else if (type_ == field_type::record && !default_ && required_) {
            // A required record with no value: its members must still be complete.
            return validate(json::object(), path, line_of, errors);
        }
        return out;
    }

    json out = value;
    const std::size_t errors_before = errors.size();

    switch (type_) {
    case field_type::array:
    case field_type::set: {
        if (!value.is_array()) {
            // A single scalar where a list is expected is an error, as in Kong.
            add_error(errors, line_of, path, type_ == field_type::set ? "expected a set" : "expected an array");
            return out;
        }
        if (len_min_ && value.size() < *len_min_)
            add_error(errors, line_of, path, "length must be at least " + std::to_string(*len_min_));
        if (len_max_ && value.size() > *len_max_)
            add_error(errors, line_of, path, "length must be at most " + std::to_string(*len_max_));
        out = json::array();
        for (std::size_t i = 0; i < value.size(); ++i) {
            std::string p = path + "[" + std::to_string(i) + "]";
            if (value[i].is_null()) {
                add_error(errors, line_of, p, "required field missing");
                continue;
            }
            out.push_back(elements_ ? elements_->validate(value[i], p, line_of, errors) : value[i]);
        }
        if (type_ == field_type::set && errors.size() == errors_before) {
            for (std::size_t i = 1; i < out.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (out[i] == out[j]) {
                        add_error(errors, line_of, path + "[" + std::to_string(i) + "]", "duplicate set element");
                        j = i;
                    }
        }
        break;
    }
    case field_type::map: {
        if (!value.is_object()) {
            add_error(errors, line_of, path, "expected a map");
            return out;
        }
        if (len_min_ && value.size() < *len_min_)
            add_error(errors, line_of, path, "length must be at least " + std::to_string(*len_min_));
        if (len_max_ && value.size() > *len_max_)
            add_error(errors, line_of, path, "length must be at most " + std::to_string(*len_max_));
        out = json::object();
        for (auto it = value.begin(); it != value.end(); ++it) {
            std::string p = child_path(path, it.key());
            out[it.key()] = elements_ ? elements_->validate(it.value(), p, line_of, errors) : it.value();
        }
        break;
    }
    case field_type::record: {
        if (!value.is_object()) {
            add_error(errors, line_of, path, "expected a record");
            return out;
        }
        out = json::object();
        for (const auto& f : fields_) {
            auto it = value.find(f.name_);
            const json& v = it == value.end() ? json() : *it;
            out[f.name_] = f.validate(v.is_null() ? json() : v, child_path(path, f.name_), line_of, errors);
        }
        for (auto it = value.begin(); it != value.end(); ++it)
            if (!member(it.key())) add_error(errors, line_of, child_path(path, it.key()), "unknown field");
        if (errors.size() == errors_before) {
            check_reporter reporter(path, line_of, errors);
            for (const auto& c : entity_checks_) c.check(out, reporter);
        }
        return out;
    }
    default:
        if (!validate_scalar(value, out, path, line_of, errors)) return out;
        break;
    }

    if (errors.size() == errors_before) {
        for (const auto& [desc, fn] : checks_) {
            if (auto msg = fn(out)) {
                add_error(errors, line_of, path, *msg);
                break;
            }
        }
    }
    return out;
}

json field::redact(const json& value) const
{
    if (secret_ && is_present(value)) return "<redacted>";
    switch (type_) {
    case field_type::record: {
        if (!value.is_object()) return value;
        json out = value;
        for (const auto& f : fields_) {
            auto it = out.find(f.name_);
            if (it != out.end()) *it = f.redact(*it);
        }
        return out;
    }
    case field_type::array:
    case field_type::set: {
        if (!value.is_array() || !elements_) return value;
        json out = json::array();
        for (const auto& v : value) out.push_back(elements_->redact(v));
        return out;
    }
    case field_type::map: {
        if (!value.is_object() || !elements_) return value;
        json out = json::object();
        for (auto it = value.begin(); it != value.end(); ++it) out[it.key()] = elements_->redact(it.value());
        return out;
    }
    default: return value;
    }
}

json field::to_json() const
{
    json d = json::object();
    d["type"] = std::string(to_string(type_));
    if (required_) d["required"] = true;
    if (default_) d["default"] = *default_;
    if (!one_of_.empty()) d["one_of"] = one_of_;
    if (min_ && max_) d["between"] = json::array({*min_, *max_});
    else if (min_) d["gt_or_eq"] = *min_;  // not a Kong keyword; documented in docs/plugins.md
    else if (max_) d["lt_or_eq"] = *max_;
    if (type_ == field_type::integer) {
        // Integral bounds print as integers.
        if (d.contains("between")) d["between"] = json::array({static_cast<long long>(*min_), static_cast<long long>(*max_)});
    }
    if (len_min_) d["len_min"] = *len_min_;
    if (len_max_) d["len_max"] = *len_max_;
    if (!match_.empty()) d["match"] = match_;
    if (url_) d["url"] = true;
    if (secret_) {
        d["encrypted"] = true;
        d["referenceable"] = true;
    }
    if (!description_.empty()) d["description"] = description_;
    if (!checks_.empty()) {
        json c = json::array();
        for (const auto& [desc, fn] : checks_) c.push_back(desc);
        d["custom_validators"] = c;
    }
    if (elements_) {
        json e = elements_->to_json();
        // Element descriptors are anonymous: unwrap {"": {...}}.
        json inner = e.begin().value();
        if (type_ == field_type::map) {
            d["keys"] = json{{"type", "string"}};
            d["values"] = inner;
        } else {
            d["elements"] = inner;
        }
    }
    if (type_ == field_type::record) {
        json fs = json::array();
        for (const auto& f : fields_) fs.push_back(f.to_json());
        d["fields"] = fs;
        if (!entity_checks_.empty()) {
            json c = json::array();
            for (const auto& ec : entity_checks_) c.push_back(json{{"custom_entity_check", {{"description", ec.description}}}});
            d["entity_checks"] = c;
        }
    }
    return json{{name_, d}};
}

field string_field(std::string name) { return field(std::move(name), field_type::string); }
field integer_field(std::string name) { return field(std::move(name), field_type::integer); }
field number_field(std::string name) { return field(std::move(name), field_type::number); }
field boolean_field(std::string name) { return field(std::move(name), field_type::boolean); }
field array_field(std::string name, field elements)
{
    field f(std::move(name), field_type::array);
    f.elements(std::move(elements));
    return f;
}
field set_field(std::string name, field elements)
{
    field f(std::move(name), field_type::set);
    f.elements(std::move(elements));
    return f;
}
field map_field(std::string name, field values)
{
    field f(std::move(name), field_type::map);
    f.elements(std::move(values));
    return f;
}
field record_field(std::string name, std::vector<field> fields)
{
    field f(std::move(name), field_type::record);
    f.fields(std::move(fields));
    return f;
}

// --- plugin_schema ------------------------------------------------------------------

plugin_schema::plugin_schema() : config_(record_field("config", {})) { config_.required(); }

plugin_schema::plugin_schema(std::vector<field> config_fields) : config_(record_field("config", std::move(config_fields)))
{
    config_.required();
}

plugin_schema& plugin_schema::add_check(std::string description, record_check fn)
{
    config_.add_check(std::move(description), std::move(fn));
    return *this;
}

json plugin_schema::validate(const json& config, const std::string& path, const config::line_lookup& line_of,
                             config::error_list& errors) const
{
    return config_.validate(config.is_null() ? json::object() : config, path, line_of, errors);
}

json plugin_schema::redact(const json& config) const { return config_.redact(config); }

json to_json(const plugin_schema& schema)
{
    json protocols = {
        {"protocols",
         {{"type", "set"},
          {"required", true},
          {"default", json::array({"grpc", "grpcs", "http", "https"})},
          {"elements", {{"type", "string"}, {"one_of", json::array({"grpc", "grpcs", "http", "https"})}}}}}};
    return json{{"fields", json::array({protocols, schema.config().to_json()})}};
}

}  // namespace countersign::pipeline
