#include <countersign/server/runtime.hpp>

#include <countersign/pipeline/plugin_set.hpp>
#include <countersign/proxy/router.hpp>

namespace countersign::server {

runtime_ptr build_runtime(config::gateway_config_ptr cfg, const pipeline::plugin_registry& registry,
                          pipeline::plugin_services& services, config::error_list& errors)
{
    if (!cfg)
        return nullptr;
    auto rt = std::make_shared<runtime>();
    rt->router = proxy::router::build(*cfg);
    auto before = errors.size();
    rt->plugins = pipeline::plugin_set::build(*cfg, registry, services, errors);
    if (errors.size() != before || !rt->plugins)
        return nullptr;
    rt->metrics = std::make_shared<const route_metrics_index>(resolve_route_metrics(*cfg));
    rt->config = std::move(cfg);
    rt->jwt_signer = services.jwt_signer;
    return rt;
}

runtime_ptr build_runtime_without_plugins(config::gateway_config_ptr cfg)
{
    if (!cfg)
        return nullptr;
    auto rt = std::make_shared<runtime>();
    rt->router = proxy::router::build(*cfg);
    rt->metrics = std::make_shared<const route_metrics_index>(resolve_route_metrics(*cfg));
    rt->config = std::move(cfg);
    return rt;
}

}  // namespace countersign::server
