// The plugin instances of one config generation, with Kong's scoping and
// precedence resolved. Immutable and shared by all workers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/core/beast.hpp>
#include <countersign/pipeline/plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::pipeline {

class plugin_set {
public:
    /// Builds every enabled plugin entry of `cfg` once. Factory failures are
    /// added to `errors` (with the entry's YAML path) and yield null.
    static std::shared_ptr<const plugin_set> build(const config::gateway_config& cfg,
                                                   const plugin_registry& registry,
                                                   plugin_services& services,
                                                   config::error_list& errors);

    /// Chooses the plugins for ctx.route/ctx.service (and, once an access
    /// phase sets ctx.consumer, re-resolves the remaining ones with the
    /// consumer), runs their access phases in descending priority, stops at
    /// the first ctx.exit. Fills ctx.plugins with what ran.
    ///
    /// Also owns the consumer headers: incoming X-Consumer-ID,
    /// X-Consumer-Custom-ID, X-Consumer-Username, X-Consumer-Groups,
    /// X-Credential-Identifier and X-Anonymous-Consumer are removed from
    /// *ctx.request first; as soon as a plugin sets ctx.consumer they are set
    /// from it (so later plugins, e.g. request-termination's echo, see them).
    /// Plugin entries whose `protocols` exclude the request's (http/https by
    /// ctx.tls) are skipped. Adds the time spent to ctx.timings.access.
    net::awaitable<void> run_access(request_context& ctx) const;

    /// header_filter of every plugin in ctx.plugins, in order. Does not apply
    /// ctx.downstream_headers: the session does that.
    void run_header_filter(request_context& ctx, http::response_header<>& res) const;

    /// log of every plugin in ctx.plugins, in order.
    void run_log(const request_context& ctx) const;

    // Implementation detail exposed for unit tests: the entry that applies to
    // plugin `name` for this (route, service, consumer) triple, by Kong's
    // precedence; null when none.
    const config::plugin_config* resolve(std::string_view name, std::string_view route_id,
                                         std::string_view service_id,
                                         std::string_view consumer_id) const;

    struct entry {
        const config::plugin_config* config;  // points into the gateway_config
        std::shared_ptr<const plugin> instance;
        int priority;
        unsigned protocols = ~0u;              // protocol_bit() mask
    };

    /// Every enabled entry, sorted by priority (desc), then name, then config order.
    const std::vector<entry>& entries() const { return entries_; }
    /// Plugin names with at least one enabled entry, in run order.
    const std::vector<std::string>& names() const { return names_by_priority_; }

    /// Kong's precedence rank of a scope, 0 = most specific (route+service+
    /// consumer) .. 7 = global.
    static int precedence_rank(bool route, bool service, bool consumer);

private:
    // Per route, precomputed at build: for each plugin name (in run order)
    // the best entry without a consumer scope, plus the consumer-scoped
    // entries that may apply to the route (sorted by rank). Resolution on the
    // hot path is then a scan of a few integers, no allocation.
    struct consumer_candidate {
        std::string_view consumer_id;
        int rank;
        std::uint32_t entry;
    };
    struct slot {
        std::int32_t base = -1;  // index into entries_, -1 = none
        int base_rank = 8;
        std::vector<consumer_candidate> consumers;
    };
    struct plan {
        std::vector<slot> slots;
    };

    plan make_plan(std::string_view route_id, std::string_view service_id) const;
    const entry* choose(const slot& s, const config::consumer_config* consumer) const;

    std::vector<entry> entries_;  // enabled entries, sorted by priority desc then name
    std::vector<std::string> names_by_priority_;
    std::unordered_map<const config::route_config*, plan> plans_;
    plan no_route_plan_;  // requests without a matched route: global/consumer entries only
};

}  // namespace countersign::pipeline
