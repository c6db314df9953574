// The ready-made cross-field rules of plugin_schema.hpp (Kong's entity checks).
#include <countersign/pipeline/plugin_schema.hpp>

#include <algorithm>
#include <cctype>

namespace countersign::pipeline {

using json = nlohmann::json;

// --- ready-made checks -------------------------------------------------------------

namespace {
std::string quoted_list(const std::vector<std::string>& fields)
{
    std::string out;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ", ";
        out += "'" + fields[i] + "'";
    }
    return out;
}
}  // namespace

record_check mutually_exclusive(std::vector<std::string> fields)
{
    return [fields](const json& r, check_reporter& report) {
        std::size_t n = 0;
        for (const auto& f : fields) n += is_present(value_at(r, f));
        if (n > 1) report.error("only one of these fields can be set: " + quoted_list(fields));
    };
}

record_check at_least_one_of(std::vector<std::string> fields)
{
    return [fields](const json& r, check_reporter& report) {
        for (const auto& f : fields)
            if (is_present(value_at(r, f))) return;
        report.error("at least one of these fields must be non-empty: " + quoted_list(fields));
    };
}

record_check only_one_of(std::vector<std::string> fields)
{
    return [fields](const json& r, check_reporter& report) {
        std::size_t n = 0;
        for (const auto& f : fields) n += is_present(value_at(r, f));
        if (n != 1) report.error("exactly one of these fields must be non-empty: " + quoted_list(fields));
    };
}

record_check mutually_required(std::vector<std::string> fields)
{
    return [fields](const json& r, check_reporter& report) {
        std::size_t n = 0;
        for (const auto& f : fields) n += is_present(value_at(r, f));
        if (n != 0 && n != fields.size()) report.error("all or none of these fields must be set: " + quoted_list(fields));
    };
}

record_check conditional_required(std::string if_field, json if_value, std::string then_field)
{
    return [=](const json& r, check_reporter& report) {
        if (value_at(r, if_field) == if_value && !is_present(value_at(r, then_field)))
            report.error_at(then_field, "required when '" + if_field + "' is " +
                                            (if_value.is_string() ? if_value.get<std::string>() : if_value.dump()));
    };
}

record_check distinct(std::vector<std::string> fields, bool case_insensitive)
{
    return [=](const json& r, check_reporter& report) {
        std::vector<std::pair<std::string, std::string>> seen;
        for (const auto& f : fields) {
            const auto& v = value_at(r, f);
            if (!is_present(v) || !v.is_string()) continue;
            std::string s = v.get<std::string>();
            if (case_insensitive)
                std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            for (const auto& [name, other] : seen)
                if (other == s) {
                    report.error_at(f, "must differ from '" + name + "'");
                    break;
                }
            seen.emplace_back(f, std::move(s));
        }
    };
}

}  // namespace countersign::pipeline
