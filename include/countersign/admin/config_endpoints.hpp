// GET /config (the running config, secrets redacted) and POST /config (hot
// reload from a declarative YAML or JSON document, as Kong's DB-less /config).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include <countersign/admin/context.hpp>
#include <countersign/admin/router.hpp>

namespace countersign::admin {

/// Largest POST /config body; the admin listener must accept at least this
/// much (main() sets its max_body_bytes to it).
inline constexpr std::size_t max_config_body_bytes = 16 * 1024 * 1024;

/// Registers GET /config and POST /config.
void add_config_routes(router& r, std::shared_ptr<const context> ctx);

/// The declarative document carried by a POST /config request, or the error
/// answer. Accepted bodies:
///   - the document itself: YAML or JSON, any YAML/JSON/text Content-Type or
///     none (also `application/x-www-form-urlencoded`, which curl's
///     --data-binary sends by default, when the body is not a form);
///   - Kong's wrappers: a JSON object `{"config": "<document>"}`, a form
///     field `config=<document>`, or a multipart/form-data part named
///     `config` (`curl -F config=@kong.yml`).
std::variant<std::string, response> config_document(const request& req);

/// A JSON document as block-style YAML; strings are double-quoted so they
/// read back as strings.
std::string to_yaml(const nlohmann::json& doc);

}  // namespace countersign::admin
