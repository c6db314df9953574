// Per-route request metrics: responses by status code and the request and
// upstream latency histograms, labelled {service, route}. One block per
// (service, route) name pair for the life of the process, so counters keep
// counting across reloads; each runtime resolves its routes' blocks once,
// and a request only does relaxed atomic adds.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <countersign/observability/metrics.hpp>

namespace countersign::config {
struct gateway_config;
struct route_config;
}  // namespace countersign::config

namespace countersign::server {

struct route_metrics {
    route_metrics(std::string service_name, std::string route_name);
    std::string service;
    std::string route;
    std::array<std::atomic<std::uint64_t>, 600> by_code{};  ///< index = status (100..599)
    observability::histogram request_seconds;
    observability::histogram upstream_seconds;

    /// `upstream` < 0: no upstream exchange.
    void record(unsigned status, std::chrono::nanoseconds total, std::chrono::nanoseconds upstream,
                bool upstream_used) noexcept;
};

/// The blocks of one config generation, looked up without locks.
struct route_metrics_index {
    std::unordered_map<const config::route_config*, route_metrics*> by_route;
    route_metrics* unmatched = nullptr;  ///< requests no route matched (404, framing errors)

    route_metrics* find(const config::route_config* r) const noexcept;
};

/// Resolves (creating when new) the blocks for every route of `cfg`.
route_metrics_index resolve_route_metrics(const config::gateway_config& cfg);

/// Registers the collector that renders every block into metrics()
/// (idempotent).
void register_request_metrics();

}  // namespace countersign::server

namespace countersign::server {
class node;
/// Registers gauges and counters read from `n`'s stats at scrape time
/// (connections active/accepted, requests in flight). `n` must outlive
/// every later scrape.
void register_node_metrics(const node& n);
}  // namespace countersign::server
