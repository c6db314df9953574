// The typed config schema of a plugin: a small DSL modelled on Kong's schema
// language (types, defaults, one_of, required, between, len_*, match, secret
// marks, per-field checks and cross-field "entity checks"). Validation runs at
// config load only; the request path never sees it.
//
//     plugin_schema{{
//         integer_field("status_code").default_value(503).between(100, 599),
//         string_field("message"),
//         boolean_field("echo").required().default_value(false),
//     }}.add_check("message cannot be used with body", mutually_exclusive({"message", "body"}));
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <countersign/config/config_error.hpp>
#include <countersign/config/plugin_validator.hpp>

namespace countersign::pipeline {

enum class field_type { string, integer, number, boolean, array, set, map, record };

/// Kong's type names: "string", "integer", "number", "boolean", "array", "set", "map", "record".
std::string_view to_string(field_type t);

/// True for a non-null value that is not an empty string (Kong's `is_present`).
bool is_present(const nlohmann::json& v);

/// Collects the problems a cross-field check finds. Paths are relative to the
/// record the check is attached to; messages get the record's YAML path and line.
class check_reporter {
public:
    check_reporter(std::string record_path, const config::line_lookup& line_of, config::error_list& errors);

    /// A problem with the record as a whole.
    void error(std::string message);
    /// A problem with one field of the record ("field", "a.b", "list[2]").
    void error_at(std::string_view relative_path, std::string message);
    bool failed() const { return failed_; }

private:
    std::string path_;
    const config::line_lookup& line_of_;
    config::error_list& errors_;
    bool failed_ = false;
};

/// A single-field rule: returns an error message, or nothing when the value is fine.
/// Called only for present (non-null) values of the right type.
using field_check = std::function<std::optional<std::string>(const nlohmann::json& value)>;

/// A cross-field rule over a whole record (defaults already filled in, absent
/// fields are null). Called only when every field of the record is valid.
using record_check = std::function<void(const nlohmann::json& record, check_reporter& report)>;

struct entity_check {
    std::string description;  ///< shown by GET /schemas/plugins/{name}
    record_check check;
};

/// One field declaration. Built with the *_field() functions and the fluent
/// setters below; immutable once the schema is built.
class field {
public:
    field(std::string name, field_type type);

    // --- declaration (fluent) ---
    field& required(bool on = true);
    field& default_value(nlohmann::json v);
    field& one_of(std::vector<nlohmann::json> values);
    field& between(double lo, double hi);   ///< numbers: inclusive range
    field& at_least(double lo);
    field& at_most(double hi);
    field& len_min(std::size_t n);          ///< strings (bytes), arrays, sets, maps
    field& len_max(std::size_t n);
    field& match(std::string ecmascript_regex, std::string description = {});  ///< whole-string match
    field& url();                           ///< absolute http:// or https:// URL with a host
    field& secret(bool on = true);          ///< redacted in /config output
    field& description(std::string text);
    field& check(std::string description, field_check fn);
    field& elements(field f);               ///< array/set elements, map values
    field& fields(std::vector<field> fs);   ///< record members
    field& add_check(std::string description, record_check fn);  ///< record: cross-field rule

    // --- inspection ---
    const std::string& name() const { return name_; }
    field_type type() const { return type_; }
    bool is_required() const { return required_; }
    const std::optional<nlohmann::json>& default_json() const { return default_; }
    bool is_secret() const { return secret_; }
    const std::vector<field>& members() const { return fields_; }
    const field* element() const { return elements_.get(); }
    const field* member(std::string_view name) const;

    /// Validates `value` found at `path`; returns it normalised (defaults
    /// filled, absent members null). Errors go to `errors`.
    nlohmann::json validate(const nlohmann::json& value, const std::string& path,
                            const config::line_lookup& line_of, config::error_list& errors) const;

    /// The value a field takes when absent: its default, a record of defaults, or null.
    nlohmann::json absent_value() const;

    nlohmann::json redact(const nlohmann::json& value) const;

    /// Kong's shape: {"<name>": {"type": ..., "default": ..., ...}}
    nlohmann::json to_json() const;

private:
    bool validate_scalar(const nlohmann::json& in, nlohmann::json& out, const std::string& path,
                         const config::line_lookup& line_of, config::error_list& errors) const;

    std::string name_;
    field_type type_;
    bool required_ = false;
    bool secret_ = false;
    bool url_ = false;
    std::optional<nlohmann::json> default_;
    std::vector<nlohmann::json> one_of_;
    std::optional<double> min_, max_;
    std::optional<std::size_t> len_min_, len_max_;
    std::string match_;
    std::string match_description_;
    std::shared_ptr<const std::regex> regex_;
    std::string description_;
    std::vector<std::pair<std::string, field_check>> checks_;
    std::shared_ptr<const field> elements_;
    std::vector<field> fields_;
    std::vector<entity_check> entity_checks_;
};

field string_field(std::string name);
field integer_field(std::string name);
field number_field(std::string name);
field boolean_field(std::string name);
field array_field(std::string name, field elements);
field set_field(std::string name, field elements);  ///< array without duplicates
field map_field(std::string name, field values);    ///< string keys
field record_field(std::string name, std::vector<field> fields);

/// The schema of one plugin's `config:` record.
class plugin_schema {
public:
    plugin_schema();
    plugin_schema(std::vector<field> config_fields);

    /// A cross-field rule on the config record (Kong's custom_validator / entity_checks).
    plugin_schema& add_check(std::string description, record_check fn);

    const field& config() const { return config_; }

    /// Validates a `config:` object (null = absent) found at `path` (which
    /// ends in ".config"); returns it with defaults filled in.
    nlohmann::json validate(const nlohmann::json& config, const std::string& path,
                            const config::line_lookup& line_of, config::error_list& errors) const;

    /// A copy with every secret field that holds a value replaced by "<redacted>".
    nlohmann::json redact(const nlohmann::json& config) const;

private:
    field config_;
};

/// Kong's schema JSON for GET /schemas/plugins/{name}:
/// {"fields":[{"protocols":{...}},{"config":{"type":"record","required":true,"fields":[...]}}]}
nlohmann::json to_json(const plugin_schema& schema);

// --- ready-made cross-field rules (Kong's entity checks) ---------------------
// Field names may be dotted paths into nested records ("a.b").

/// At most one of the fields is present.
record_check mutually_exclusive(std::vector<std::string> fields);
/// At least one of the fields is present.
record_check at_least_one_of(std::vector<std::string> fields);
/// Exactly one of the fields is present.
record_check only_one_of(std::vector<std::string> fields);
/// Either all of the fields are present or none.
record_check mutually_required(std::vector<std::string> fields);
/// When `if_field` equals `if_value`, `then_field` must be present.
record_check conditional_required(std::string if_field, nlohmann::json if_value, std::string then_field);
/// All present string fields hold different values (case-insensitive when asked).
record_check distinct(std::vector<std::string> fields, bool case_insensitive = true);

/// The value at a dotted path inside a record, or null.
const nlohmann::json& value_at(const nlohmann::json& record, std::string_view dotted_path);

}  // namespace countersign::pipeline
