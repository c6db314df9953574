#include <countersign/admin/api.hpp>

namespace countersign::admin {

std::shared_ptr<const router> make_router(std::shared_ptr<const context> ctx)
{
    auto r = std::make_shared<router>();
    add_node_routes(*r, ctx);
    add_entity_routes(*r, ctx);
    add_plugin_routes(*r, ctx);
    for (const auto& hook : ctx->route_hooks) hook(*r);
    // Later: add_metrics_routes (GET /metrics), add_config_routes (GET/POST /config).
    return r;
}

}  // namespace countersign::admin
