// The seam between the config loader and the plugin registry: the loader
// knows the declarative format, the registry knows each plugin's schema.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <countersign/config/config_error.hpp>

namespace countersign::config {

/// Maps a YAML path (e.g. "plugins[0].config.status_code") to its 1-based
/// source line, or 0 when unknown.
using line_lookup = std::function<int(const std::string& path)>;

class plugin_validator {
public:
    virtual ~plugin_validator() = default;

    /// Names of every plugin this build knows, sorted.
    virtual std::vector<std::string> names() const = 0;

    virtual bool known(std::string_view name) const = 0;

    /// Validates `config` (the entry's `config:` object, converted from YAML;
    /// null when absent) against the schema of plugin `name`. Every problem
    /// is added to `errors` with a path below `path` (which ends in
    /// ".config"). Returns the config with all defaults filled in.
    virtual nlohmann::json validate(std::string_view name,
                                    const nlohmann::json& config,
                                    const std::string& path,
                                    const line_lookup& line_of,
                                    error_list& errors) const = 0;

    /// A copy of a validated config with every field the schema marks as
    /// secret (passwords, client secrets, authorization values) replaced by
    /// "<redacted>".
    virtual nlohmann::json redact(std::string_view name, const nlohmann::json& config) const = 0;
};

}  // namespace countersign::config
