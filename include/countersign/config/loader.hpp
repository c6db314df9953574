// Loads a Kong-style declarative YAML (or JSON) document into a validated
// gateway_config. Every error is collected with its YAML path and line;
// a document with any error yields no config at all.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/config/plugin_validator.hpp>

namespace countersign::config {

/// Reads an environment variable; the default reads the process environment.
using env_lookup = std::function<std::optional<std::string>(const std::string& name)>;
env_lookup process_environment();

struct load_result {
    gateway_config_ptr config;  ///< null when errors is non-empty
    error_list errors;
    bool ok() const { return config != nullptr; }
};

/// Parse and validate a document held in memory. `source` names it in messages.
load_result load_string(std::string_view text, std::string source,
                        const plugin_validator& plugins,
                        const env_lookup& env = process_environment());

/// Read the file at `path`, then load_string. An unreadable file is an error.
load_result load_file(const std::string& path,
                      const plugin_validator& plugins,
                      const env_lookup& env = process_environment());

/// The running config as a JSON document in declarative shape. When
/// `redact_with` is given, plugin secrets are replaced through its redact().
/// Used by `GET /config` and the admin entity listings.
nlohmann::json to_declarative_json(const gateway_config& cfg, const plugin_validator* redact_with);

/// One entity in the shape of Kong's Admin API (`GET /services/{id}` …):
/// Kong's field names, unset optional fields as null, references as
/// `"service": {"id": "…"}`. For plugins, `redact_with` (when given) hides
/// secret config fields.
nlohmann::json to_json(const service_config& service);
nlohmann::json to_json(const route_config& route);
nlohmann::json to_json(const consumer_config& consumer);
nlohmann::json to_json(const plugin_config& plugin, const plugin_validator* redact_with);

}  // namespace countersign::config
