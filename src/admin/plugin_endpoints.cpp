// GET /plugins/enabled and GET /schemas/plugins/{name}: what this build offers.
#include <countersign/admin/api.hpp>

#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/pipeline/plugin_schema.hpp>

namespace countersign::admin {

void add_plugin_routes(router& r, std::shared_ptr<const context> ctx)
{
    r.add("GET", "/plugins/enabled", [ctx](const request&, const path_params&) {
        auto names = nlohmann::json::array();
        if (ctx->registry != nullptr)
            for (const auto& n : ctx->registry->names())
                names.push_back(n);
        return response::json(200, {{"enabled_plugins", std::move(names)}});
    });
    r.add("GET", "/schemas/plugins/{name}", [ctx](const request&, const path_params& p) {
        const auto* d = ctx->registry != nullptr ? ctx->registry->find(p.get("name")) : nullptr;
        if (d == nullptr)
            return response::message(404, "No plugin named '" + p.get("name") + "'");
        return response::json(200, pipeline::to_json(d->schema));
    });
}

}  // namespace countersign::admin
