// Every plugin this build knows: name, priority, schema and factory.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <countersign/config/gateway_config.hpp>
#include <countersign/config/plugin_validator.hpp>
#include <countersign/core/net.hpp>
#include <countersign/pipeline/plugin_schema.hpp>

namespace countersign::pipeline {

class plugin;

/// Node-wide services handed to plugin factories. Long-lived: they outlive
/// every config generation (keys, caches and clients survive reloads).
/// Later features add members here (JWKS cache, keystore, metrics, …).
struct plugin_services {
    const clock* clk = &clock::system();
    std::string data_dir = "./data";
};

struct plugin_descriptor {
    std::string name;
    int priority = 0;
    std::string version = "1.0.0";
    plugin_schema schema;
    /// Builds an instance from a config already validated (defaults filled).
    std::function<result<std::shared_ptr<const plugin>>(const config::plugin_config&, plugin_services&)> create;
};

class plugin_registry final : public config::plugin_validator {
public:
    /// The registry with every built-in plugin.
    static const plugin_registry& builtin();

    void add(plugin_descriptor d);
    const plugin_descriptor* find(std::string_view name) const;
    const std::vector<plugin_descriptor>& all() const { return plugins_; }

    // config::plugin_validator
    std::vector<std::string> names() const override;
    bool known(std::string_view name) const override;
    nlohmann::json validate(std::string_view name, const nlohmann::json& config,
                            const std::string& path, const config::line_lookup& line_of,
                            config::error_list& errors) const override;
    nlohmann::json redact(std::string_view name, const nlohmann::json& config) const override;

private:
    std::vector<plugin_descriptor> plugins_;
};

}  // namespace countersign::pipeline
