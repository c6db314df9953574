// Read-only listings of the declarative entities in Kong's Admin API shape.
#include <countersign/admin/api.hpp>
#include <countersign/admin/entity_json.hpp>

#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::admin {

namespace {

using config_ptr = config::gateway_config_ptr;
using entity_handler = std::function<response(const config::gateway_config&, const path_params&)>;

// Binds a handler to the config running at the time of the request; the
// snapshot stays alive for the whole handler even if a reload swaps it.
handler with_config(std::shared_ptr<const context> ctx, entity_handler fn)
{
    return [ctx = std::move(ctx), fn = std::move(fn)](const request&, const path_params& params) {
        config_ptr cfg = ctx->current_config ? ctx->current_config() : nullptr;
        if (!cfg)
            return response::message(503, "no configuration loaded");
        return fn(*cfg, params);
    };
}

const config::plugin_config* find_plugin(const config::gateway_config& cfg, std::string_view id_or_instance)
{
    for (const auto& p : cfg.plugins)
        if (p.id == id_or_instance)
            return &p;
    for (const auto& p : cfg.plugins)
        if (!p.instance_name.empty() && p.instance_name == id_or_instance)
            return &p;
    return nullptr;
}

template <class Pred>
nlohmann::json plugins_where(const config::gateway_config& cfg, const config::plugin_validator* redact, Pred pred)
{
    auto items = nlohmann::json::array();
    for (const auto& p : cfg.plugins)
        if (pred(p))
            items.push_back(to_json(p, redact));
    return items;
}

}  // namespace

void add_entity_routes(router& r, std::shared_ptr<const context> ctx)
{
    const config::plugin_validator* redact = ctx->registry;

    // --- services ---------------------------------------------------------
    r.add("GET", "/services", with_config(ctx, [](const config::gateway_config& cfg, const path_params&) {
              auto items = nlohmann::json::array();
              for (const auto& s : cfg.services)
                  items.push_back(to_json(s));
              return response::json(200, list_page(std::move(items)));
          }));
    r.add("GET", "/services/{service}", with_config(ctx, [](const config::gateway_config& cfg, const path_params& p) {
              const auto* s = cfg.find_service(p.get("service"));
              return s ? response::json(200, to_json(*s)) : response::not_found();
          }));
    r.add("GET", "/services/{service}/routes",
          with_config(ctx, [](const config::gateway_config& cfg, const path_params& p) {
              const auto* s = cfg.find_service(p.get("service"));
              if (!s)
                  return response::not_found();
              auto items = nlohmann::json::array();
              for (const auto& route : cfg.routes)
                  if (route.service_id == s->id)
                      items.push_back(to_json(route));
              return response::json(200, list_page(std::move(items)));
          }));
    r.add("GET", "/services/{service}/plugins",
          with_config(ctx, [redact](const config::gateway_config& cfg, const path_params& p) {
              const auto* s = cfg.find_service(p.get("service"));
              if (!s)
                  return response::not_found();
              return response::json(200, list_page(plugins_where(cfg, redact, [&](const config::plugin_config& pl) {
                                        return pl.service_id == s->id;
                                    })));
          }));

    // --- routes -----------------------------------------------------------
    r.add("GET", "/routes", with_config(ctx, [](const config::gateway_config& cfg, const path_params&) {
              auto items = nlohmann::json::array();
              for (const auto& route : cfg.routes)
                  items.push_back(to_json(route));
              return response::json(200, list_page(std::move(items)));
          }));
    r.add("GET", "/routes/{route}", with_config(ctx, [](const config::gateway_config& cfg, const path_params& p) {
              const auto* route = cfg.find_route(p.get("route"));
              return route ? response::json(200, to_json(*route)) : response::not_found();
          }));
    r.add("GET", "/routes/{route}/service", with_config(ctx, [](const config::gateway_config& cfg, const path_params& p) {
              const auto* route = cfg.find_route(p.get("route"));
              const auto* s = route && !route->service_id.empty() ? cfg.find_service(route->service_id) : nullptr;
              return s ? response::json(200, to_json(*s)) : response::not_found();
          }));
    r.add("GET", "/routes/{route}/plugins",
          with_config(ctx, [redact](const config::gateway_config& cfg, const path_params& p) {
              const auto* route = cfg.find_route(p.get("route"));
              if (!route)
                  return response::not_found();
              return response::json(200, list_page(plugins_where(cfg, redact, [&](const config::plugin_config& pl) {
                                        return pl.route_id == route->id;
                                    })));
          }));

    // --- consumers --------------------------------------------------------
    r.add("GET", "/consumers", with_config(ctx, [](const config::gateway_config& cfg, const path_params&) {
              auto items = nlohmann::json::array();
              for (const auto& c : cfg.consumers)
                  items.push_back(to_json(c));
              return response::json(200, list_page(std::move(items)));
          }));
    r.add("GET", "/consumers/{consumer}", with_config(ctx, [](const config::gateway_config& cfg, const path_params& p) {
              const auto* c = cfg.find_consumer(p.get("consumer"));
              return c ? response::json(200, to_json(*c)) : response::not_found();
          }));
    r.add("GET", "/consumers/{consumer}/plugins",
          with_config(ctx, [redact](const config::gateway_config& cfg, const path_params& p) {
              const auto* c = cfg.find_consumer(p.get("consumer"));
              if (!c)
                  return response::not_found();
              return response::json(200, list_page(plugins_where(cfg, redact, [&](const config::plugin_config& pl) {
                                        return pl.consumer_id == c->id;
                                    })));
          }));

    // --- plugins (configured entries) ---------------------------------------
    r.add("GET", "/plugins", with_config(ctx, [redact](const config::gateway_config& cfg, const path_params&) {
              return response::json(200, list_page(plugins_where(cfg, redact, [](const auto&) { return true; })));
          }));
    r.add("GET", "/plugins/{plugin}", with_config(ctx, [redact](const config::gateway_config& cfg, const path_params& p) {
              const auto* pl = find_plugin(cfg, p.get("plugin"));
              return pl ? response::json(200, to_json(*pl, redact)) : response::not_found();
          }));
}

}  // namespace countersign::admin
