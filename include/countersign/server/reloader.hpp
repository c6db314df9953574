// Hot reload: validate a new declarative document completely, then swap it
// in atomically, or keep the running config and report every error.
//
// A reload parses the document (with the same COUNTERSIGN_* environment
// overrides as at start), builds a complete runtime (router and plugin
// instances) with the node-wide plugin_services, and only then calls
// node::replace. In-flight requests finish on the runtime they pinned;
// keep-alive connections use the new one from their next request. jwt-signer
// keys live in plugin_services and are never touched; the verified-token and
// minted-token caches are dropped after every swap (config_reloaded()).
//
// Node settings (the `countersign:` section: listeners, workers, data_dir,
// limits, logging) are read once at start. A new document whose section
// differs from the running settings is still applied, but the changed
// settings are reported as "restart required" and the running values stay;
// a document without a `countersign:` section keeps the running settings and
// warns about nothing. Either way the running config (GET /config) shows the
// node settings the process really uses.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/signal_set.hpp>

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/config/loader.hpp>
#include <countersign/core/net.hpp>

namespace countersign::pipeline {
class plugin_registry;
struct plugin_services;
}  // namespace countersign::pipeline

namespace countersign::jwt_signer {
class jwt_signer_services;
}

namespace countersign::server {

class node;

/// Reload counters since start; countersign_config_reloads_total{result}.
struct reload_stats {
    std::atomic<std::uint64_t> ok{0};     ///< applied
    std::atomic<std::uint64_t> error{0};  ///< rejected, the running config stayed
};

struct reload_result {
    bool applied = false;
    /// Why it was rejected: every error, each with its YAML path (and line).
    config::error_list errors;
    /// Node settings (keys of `countersign:`) that differ from the running
    /// ones; they take effect only after a restart.
    std::vector<std::string> restart_required;
    /// Human-readable warnings (one per line in the log).
    std::vector<std::string> warnings;
    /// The config running now (when applied).
    config::gateway_config_ptr config;
};

class reloader {
public:
    /// `services` must be the instance the running runtime was built with;
    /// node, registry and services must outlive the reloader.
    reloader(node& n, const pipeline::plugin_registry& registry, pipeline::plugin_services& services,
             config::env_lookup env = config::process_environment());

    reloader(const reloader&) = delete;
    reloader& operator=(const reloader&) = delete;

    /// Reads `path` and reloads from its text. Thread-safe; reloads run one
    /// at a time.
    reload_result reload_from_file(const std::string& path);

    /// Reloads from a YAML or JSON document held in memory. `source` names
    /// it in logs and in the config's `source` (e.g. "admin /config").
    reload_result reload_from_text(std::string_view text, std::string source);

    /// Counters for /metrics.
    const reload_stats& stats() const noexcept { return stats_; }

    /// The node-wide jwt-signer services; null until a config with a
    /// jwt-signer plugin was built (a reload may create them).
    std::shared_ptr<jwt_signer::jwt_signer_services> jwt_signer_services() const;

private:
    reload_result guarded(std::string_view text, const std::string& source);
    reload_result apply(config::load_result loaded, std::string_view text, const std::string& source);
    void log(const reload_result& r, const std::string& source) const;

    node& node_;
    const pipeline::plugin_registry& registry_;
    pipeline::plugin_services& services_;
    config::env_lookup env_;
    mutable std::mutex mutex_;  // one reload at a time; guards services_
    reload_stats stats_;
};

/// The names of the node settings (keys of `countersign:`) whose values
/// differ between `running` and `next`.
std::vector<std::string> changed_node_settings(const config::node_config& running, const config::node_config& next);

/// Whether the document has a top-level `countersign:` key (`text` must be a
/// document config::load_string accepted).
bool has_node_section(std::string_view text);

/// Reloads from `path` on every SIGHUP. The handler is installed by the
/// constructor (a SIGHUP arriving before `ioc` runs is queued, never
/// fatal) and runs on `ioc`, the node's control context.
class sighup_reload {
public:
    sighup_reload(net::io_context& ioc, reloader& r, std::string path);
    ~sighup_reload();

    sighup_reload(const sighup_reload&) = delete;
    sighup_reload& operator=(const sighup_reload&) = delete;

private:
    void arm();

    net::signal_set signals_;
    reloader& reloader_;
    std::string path_;
};

}  // namespace countersign::server
