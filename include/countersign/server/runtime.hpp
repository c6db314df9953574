// One immutable config generation: the config, its compiled router and its
// plugin instances. Requests pin the runtime they started with; a reload
// builds a new one and node::replace swaps it in.
#pragma once

#include <memory>

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/server/request_metrics.hpp>

namespace countersign::pipeline {
class plugin_set;
class plugin_registry;
struct plugin_services;
}  // namespace countersign::pipeline

namespace countersign::proxy {
class router;
}

namespace countersign::jwt_signer {
class jwt_signer_services;
}

namespace countersign::server {

struct runtime {
    config::gateway_config_ptr config;
    std::shared_ptr<const proxy::router> router;
    /// May be null (e.g. while the plugin registry is not available); the
    /// session then runs no plugins.
    std::shared_ptr<const pipeline::plugin_set> plugins;
    /// jwt-signer node services (public JWKS on the proxy listeners); null
    /// when no jwt-signer plugin is configured.
    std::shared_ptr<jwt_signer::jwt_signer_services> jwt_signer;
    /// Per-route metric blocks of this generation (never null once built).
    std::shared_ptr<const route_metrics_index> metrics;
};

using runtime_ptr = std::shared_ptr<const runtime>;

/// Compiles the router and builds the plugin instances of `cfg`. Plugin
/// factory failures are appended to `errors`; the result is then null.
runtime_ptr build_runtime(config::gateway_config_ptr cfg, const pipeline::plugin_registry& registry,
                          pipeline::plugin_services& services, config::error_list& errors);

/// A runtime without plugins (tests, tools).
runtime_ptr build_runtime_without_plugins(config::gateway_config_ptr cfg);

}  // namespace countersign::server
