// The JSON description of a request as the upstream would receive it, used by
// request-termination's `echo`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <countersign/pipeline/request_context.hpp>

namespace countersign::plugins {

/// Query string arguments, Kong's shape: "a=1&a=2&f" -> {"a":["1","2"],"f":true}.
nlohmann::json parse_query(std::string_view query);

/// Request headers with lower-case names; repeated headers become arrays.
nlohmann::json header_map(const http::request_header<>& req);

/// {"message", "kong", "request": {scheme, host, port, method, path, query,
/// headers, body, raw_body}, "matched_route", "matched_service"}.
/// ctx.request is taken as the upstream's view (the session rewrites the
/// target and Host before the access phase); scheme/host/port are the
/// service's.
/// `raw_body` null = the body could not be read.
nlohmann::json describe_request(const pipeline::request_context& ctx, const std::optional<std::string>& raw_body,
                                 std::string_view message);

}  // namespace countersign::plugins
