#include <countersign/admin/api.hpp>

#include <countersign/admin/config_endpoints.hpp>

namespace countersign::admin {

std::shared_ptr<const router> make_router(std::shared_ptr<const context> ctx)
{
    auto r = std::make_shared<router>();
    add_node_routes(*r, ctx);
    add_entity_routes(*r, ctx);
    add_plugin_routes(*r, ctx);
    add_config_routes(*r, ctx);  // GET/POST /config
    add_metrics_routes(*r);
    for (const auto& hook : ctx->route_hooks) hook(*r);
    return r;
}

}  // namespace countersign::admin
