// Every plugin this build knows: name, priority, schema and factory.
#pragma once

#include <functional>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <countersign/config/gateway_config.hpp>
#include <countersign/config/plugin_validator.hpp>
#include <countersign/core/clock.hpp>
#include <countersign/core/net.hpp>
#include <countersign/pipeline/plugin_schema.hpp>

namespace countersign::jwt_signer {
class jwt_signer_services;
}

namespace countersign::pipeline {

class plugin;

/// Node-wide services handed to plugin factories. Long-lived: they outlive
/// every config generation (keys, caches and clients survive reloads).
/// Later features add members here (JWKS cache, keystore, metrics, …).
struct plugin_services {
    const clock* clk = &clock::system();
    std::string data_dir = "./data";
    /// jwt-signer: node setting `jwks_refetch_throttle`.
    std::chrono::milliseconds jwks_refetch_throttle{300'000};
    /// jwt-signer: node setting `token_cache_size` (0 = no token caches).
    std::size_t token_cache_size = 16384;

    /// jwt-signer: JWKS cache, introspection caches and signing keysets,
    /// node-wide. Created by main() (or by the first jwt-signer plugin built).
    std::shared_ptr<jwt_signer::jwt_signer_services> jwt_signer;

    /// While plugin_set::build runs a factory: where a factory may add
    /// detailed errors (under `error_path`, the entry's YAML path). When a
    /// factory fails without adding any, its error_code's message is used.
    config::error_list* errors = nullptr;
    std::string error_path;
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

    /// Registers every built-in plugin into `r` (src/plugins/builtin.cpp:
    /// one line per plugin). builtin() is this applied to an empty registry.
    static void add_builtins(plugin_registry& r);

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
