// Helpers for the admin entity listings. The entities themselves are
// rendered by config::to_json (Kong 3's Admin API field names).
#pragma once

#include <nlohmann/json.hpp>

#include <countersign/config/gateway_config.hpp>
#include <countersign/config/loader.hpp>  // config::to_json: the entity renderings

namespace countersign::admin {

/// Kong's paginated list shape: {"data": items, "next": null}.
nlohmann::json list_page(nlohmann::json items);

}  // namespace countersign::admin
