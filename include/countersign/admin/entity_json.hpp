// Kong Admin API renderings of the declarative entities: the field names and
// null-for-unset conventions of Kong 3's GET /services, /routes, /plugins and
// /consumers, so existing tooling can read them.
#pragma once

#include <nlohmann/json.hpp>

#include <countersign/config/gateway_config.hpp>
#include <countersign/config/plugin_validator.hpp>

namespace countersign::admin {

nlohmann::json to_json(const config::service_config& s);
nlohmann::json to_json(const config::route_config& r);
nlohmann::json to_json(const config::consumer_config& c);
/// `config` passes through `redact_with.redact()` when given, so secrets never leave.
nlohmann::json to_json(const config::plugin_config& p, const config::plugin_validator* redact_with);

/// Kong's paginated list shape: {"data": items, "next": null}.
nlohmann::json list_page(nlohmann::json items);

}  // namespace countersign::admin
