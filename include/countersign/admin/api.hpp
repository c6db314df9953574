// The admin API: every route of the admin listener, registered in one place.
#pragma once

#include <memory>

#include <countersign/admin/context.hpp>
#include <countersign/admin/router.hpp>

namespace countersign::admin {

/// The router with every admin endpoint, bound to `ctx`:
///   GET /                        node information
///   GET /status                  connection and request counters (Kong shape)
///   GET /status/ready            200 ready / 503 while shutting down
///   GET /services[/{service}[/routes|/plugins]]
///   GET /routes[/{route}[/service|/plugins]]
///   GET /plugins[/{plugin}]      by id or instance_name
///   GET /consumers[/{consumer}[/plugins]]
///   GET /plugins/enabled         {"enabled_plugins": [...]}
///   GET /schemas/plugins/{name}  the plugin's config schema
/// Adding an endpoint: write a handler in the matching add_*_routes function
/// (or a new one) and call it from make_router.
std::shared_ptr<const router> make_router(std::shared_ptr<const context> ctx);

/// The groups make_router combines; exposed so tests can build partial routers.
void add_node_routes(router& r, std::shared_ptr<const context> ctx);
void add_entity_routes(router& r, std::shared_ptr<const context> ctx);
void add_plugin_routes(router& r, std::shared_ptr<const context> ctx);
/// GET /metrics: observability::metrics() in the Prometheus text format.
void add_metrics_routes(router& r);

}  // namespace countersign::admin
