// What admin handlers may see of the running node. main() fills it from the
// server::node; unit tests fill it by hand. Later features (metrics, config
// reload, key admin) add members here and routes in admin/api.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <countersign/config/gateway_config.hpp>

namespace countersign::pipeline {
class plugin_registry;
}

namespace countersign::server {
class reloader;
}

namespace countersign::admin {

class router;

/// Connection and request counters, read from the node at request time.
struct node_counters {
    std::uint64_t connections_accepted = 0;
    std::uint64_t connections_active = 0;
    std::uint64_t connections_handled = 0;
    std::uint64_t requests_total = 0;
    std::uint64_t requests_active = 0;
};

/// Facts about this process, fixed at start.
struct node_info {
    std::string node_id;   ///< random UUID per process
    std::string hostname;
    std::string version;   ///< COUNTERSIGN_VERSION
    int pid = 0;
    unsigned workers = 1;
    std::chrono::system_clock::time_point started_at;
};

struct context {
    node_info node;
    /// The plugins this build knows (schemas, priorities). Must outlive the router.
    const pipeline::plugin_registry* registry = nullptr;
    /// The config the node runs now (may change on reload). Never null once running.
    std::function<config::gateway_config_ptr()> current_config;
    /// Live counters.
    std::function<node_counters()> counters;
    /// False while shutting down (GET /status/ready answers 503).
    std::function<bool()> ready;
    /// Hot reload (POST /config) and its counters (`reloader->stats()`, for
    /// /metrics). Null when the node cannot reload (unit tests): POST
    /// /config then answers 501. Must outlive the router.
    server::reloader* reloader = nullptr;
    /// Extra route groups make_router mounts after its own (e.g. the
    /// jwt-signer key admin API, added by main()).
    std::vector<std::function<void(router&)>> route_hooks;

    /// A context with node_info filled for this process (hostname, pid, a
    /// fresh node id, version, start time); the functions stay empty.
    static context for_this_process(unsigned workers);
};

/// A random (version 4) UUID, lower-case.
std::string random_uuid();

}  // namespace countersign::admin
