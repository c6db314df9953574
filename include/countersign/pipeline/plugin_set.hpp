// The plugin instances of one config generation, with Kong's scoping and
// precedence resolved. Immutable and shared by all workers.
#pragma once

#include <memory>
#include <vector>

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/core/beast.hpp>
#include <countersign/pipeline/plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::pipeline {

class plugin_set {
public:
    /// Builds every enabled plugin entry of `cfg` once. Factory failures are
    /// added to `errors` (with the entry's YAML path) and yield null.
    static std::shared_ptr<const plugin_set> build(const config::gateway_config& cfg,
                                                   const plugin_registry& registry,
                                                   plugin_services& services,
                                                   config::error_list& errors);

    /// Chooses the plugins for ctx.route/ctx.service (and, once an access
    /// phase sets ctx.consumer, re-resolves the remaining ones with the
    /// consumer), runs their access phases in descending priority, stops at
    /// the first ctx.exit. Fills ctx.plugins with what ran.
    net::awaitable<void> run_access(request_context& ctx) const;

    /// header_filter of every plugin in ctx.plugins, in order.
    void run_header_filter(request_context& ctx, http::response_header<>& res) const;

    /// log of every plugin in ctx.plugins, in order.
    void run_log(const request_context& ctx) const;

    // Implementation detail exposed for unit tests: the entry that applies to
    // plugin `name` for this (route, service, consumer) triple, by Kong's
    // precedence; null when none.
    const config::plugin_config* resolve(std::string_view name, std::string_view route_id,
                                         std::string_view service_id,
                                         std::string_view consumer_id) const;

    struct entry {
        const config::plugin_config* config;  // points into the gateway_config
        std::shared_ptr<const plugin> instance;
        int priority;
    };

private:
    std::vector<entry> entries_;  // enabled entries, sorted by priority desc then name
    std::vector<std::string> names_by_priority_;
};

}  // namespace countersign::pipeline
