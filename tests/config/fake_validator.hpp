// A small plugin_validator for the loader tests, so they do not depend on the
// real plugin registry: two plugins with flat schemas.
//
//   request-termination: status_code (integer 100..599, default 503),
//                        message (string), echo (boolean, default false)
//   key-holder:          api_key (string, secret), header (string, default "X-Key")
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <countersign/config/loader.hpp>

namespace countersign::config::testing {

class fake_validator final : public plugin_validator {
public:
    struct field {
        enum kind { integer, string, boolean } type;
        nlohmann::json default_value;
        bool secret = false;
    };

    std::vector<std::string> names() const override { return {"key-holder", "request-termination"}; }

    bool known(std::string_view name) const override { return schemas().count(std::string(name)) != 0; }

    nlohmann::json validate(std::string_view name, const nlohmann::json& config, const std::string& path,
                            const line_lookup& line_of, error_list& errors) const override
    {
        const auto& schema = schemas().at(std::string(name));
        nlohmann::json out = nlohmann::json::object();
        const nlohmann::json in = config.is_null() ? nlohmann::json::object() : config;
        for (const auto& [key, value] : in.items()) {
            const std::string p = path + "." + key;
            if (value.is_null())  // unset, as in Kong
                continue;
            auto f = schema.find(key);
            if (f == schema.end()) {
                errors.add(p, "unknown field", line_of(p));
                continue;
            }
            bool ok = (f->second.type == field::integer && value.is_number_integer()) ||
                      (f->second.type == field::string && value.is_string()) ||
                      (f->second.type == field::boolean && value.is_boolean());
            if (!ok)
                errors.add(p, "expected a different type", line_of(p));
            else if (key == "status_code" && (value.get<int>() < 100 || value.get<int>() > 599))
                errors.add(p, "value should be between 100 and 599", line_of(p));
            else
                out[key] = value;
        }
        for (const auto& [key, f] : schema)
            if (!out.contains(key))
                out[key] = f.default_value;
        return out;
    }

    nlohmann::json redact(std::string_view name, const nlohmann::json& config) const override
    {
        nlohmann::json out = config;
        for (const auto& [key, f] : schemas().at(std::string(name)))
            if (f.secret && out.contains(key) && !out[key].is_null())
                out[key] = "<redacted>";
        return out;
    }

private:
    static const std::map<std::string, std::map<std::string, field>>& schemas()
    {
        static const std::map<std::string, std::map<std::string, field>> s = {
            {"request-termination",
             {{"status_code", {field::integer, 503}},
              {"message", {field::string, nullptr}},
              {"echo", {field::boolean, false}}}},
            {"key-holder", {{"api_key", {field::string, nullptr, true}}, {"header", {field::string, "X-Key"}}}},
        };
        return s;
    }
};

/// An environment with exactly these variables.
inline env_lookup fake_env(std::map<std::string, std::string> vars = {})
{
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    };
}

/// Fixtures name files (certificates, CA bundles) relative to the source tree,
/// as users name them relative to where they start countersign.
inline void in_source_dir() { std::filesystem::current_path(COUNTERSIGN_SOURCE_DIR); }

/// Every error of a load, one string each.
inline std::vector<std::string> error_strings(const load_result& r)
{
    std::vector<std::string> out;
    for (const auto& e : r.errors.errors())
        out.push_back(e.to_string());
    return out;
}

}  // namespace countersign::config::testing
