#include <countersign/pipeline/plugin_set.hpp>

#include <countersign/proxy/forwarding.hpp>

#include <algorithm>
#include <optional>

#include <boost/beast/http/field.hpp>

namespace countersign::pipeline {

namespace {

constexpr unsigned protocol_http = 1, protocol_https = 2, protocol_grpc = 4, protocol_grpcs = 8;

unsigned protocol_mask(const std::vector<std::string>& protocols)
{
    unsigned m = 0;
    for (const auto& p : protocols) {
        if (p == "http") m |= protocol_http;
        else if (p == "https") m |= protocol_https;
        else if (p == "grpc") m |= protocol_grpc;
        else if (p == "grpcs") m |= protocol_grpcs;
    }
    return m;
}

// Kong's consumer headers: removed from every incoming request
// (proxy::clear_consumer_headers), set from ctx.consumer by the pipeline only.
void strip_consumer_headers(http::request_header<>& req) { proxy::clear_consumer_headers(req); }

void set_consumer_headers(const request_context& ctx)
{
    if (!ctx.request || !ctx.consumer) return;
    proxy::set_consumer_headers(*ctx.request, *ctx.consumer, ctx.credential_id);
}

}  // namespace

int plugin_set::precedence_rank(bool route, bool service, bool consumer)
{
    // Kong: route+service+consumer > route+consumer > service+consumer >
    // route+service > consumer > route > service > global.
    if (route && service && consumer) return 0;
    if (route && consumer) return 1;
    if (service && consumer) return 2;
    if (route && service) return 3;
    if (consumer) return 4;
    if (route) return 5;
    if (service) return 6;
    return 7;
}

std::shared_ptr<const plugin_set> plugin_set::build(const config::gateway_config& cfg, const plugin_registry& registry,
                                                    plugin_services& services, config::error_list& errors)
{
    auto set = std::make_shared<plugin_set>();
    const std::size_t errors_before = errors.size();

    for (const auto& pc : cfg.plugins) {
        if (!pc.enabled) continue;  // disabled entries are as if absent (Kong)
        const auto* d = registry.find(pc.name);
        if (!d) {
            errors.add(pc.yaml_path + ".name", "unknown plugin '" + pc.name + "'");
            continue;
        }
        services.errors = &errors;
        services.error_path = pc.yaml_path;
        const std::size_t before = errors.size();
        auto made = d->create ? d->create(pc, services) : result<std::shared_ptr<const plugin>>(std::shared_ptr<const plugin>{});
        services.errors = nullptr;
        services.error_path.clear();
        if (!made || !*made) {
            if (errors.size() == before)
                errors.add(pc.yaml_path, made ? "plugin could not be created" : made.error().message());
            continue;
        }
        set->entries_.push_back({&pc, std::move(*made), d->priority, protocol_mask(pc.protocols)});
    }
    if (errors.size() != errors_before) return nullptr;

    std::stable_sort(set->entries_.begin(), set->entries_.end(), [](const entry& a, const entry& b) {
        if (a.priority != b.priority) return a.priority > b.priority;
        return a.config->name < b.config->name;
    });
    for (const auto& e : set->entries_)
        if (set->names_by_priority_.empty() || set->names_by_priority_.back() != e.config->name)
            set->names_by_priority_.push_back(e.config->name);

    set->no_route_plan_ = set->make_plan({}, {});
    for (const auto& r : cfg.routes) set->plans_.emplace(&r, set->make_plan(r.id, r.service_id));
    return set;
}

plugin_set::plan plugin_set::make_plan(std::string_view route_id, std::string_view service_id) const
{
    plan p;
    p.slots.reserve(names_by_priority_.size());
    std::size_t i = 0;
    for (const auto& name : names_by_priority_) {
        slot s;
        // entries_ is sorted by (priority, name): one name's entries are contiguous.
        for (; i < entries_.size() && entries_[i].config->name == name; ++i) {
            const auto& c = *entries_[i].config;
            if (!c.route_id.empty() && c.route_id != route_id) continue;
            if (!c.service_id.empty() && c.service_id != service_id) continue;
            int rank = precedence_rank(!c.route_id.empty(), !c.service_id.empty(), !c.consumer_id.empty());
            if (c.consumer_id.empty()) {
                if (rank < s.base_rank) {  // first in config order wins a tie
                    s.base = static_cast<std::int32_t>(i);
                    s.base_rank = rank;
                }
            } else {
                s.consumers.push_back({c.consumer_id, rank, static_cast<std::uint32_t>(i)});
            }
        }
        std::stable_sort(s.consumers.begin(), s.consumers.end(),
                         [](const consumer_candidate& a, const consumer_candidate& b) { return a.rank < b.rank; });
        // Consumer entries less specific than the base can never win.
        std::erase_if(s.consumers, [&](const consumer_candidate& c) { return c.rank > s.base_rank; });
        if (s.base >= 0 || !s.consumers.empty()) p.slots.push_back(std::move(s));
    }
    return p;
}

const plugin_set::entry* plugin_set::choose(const slot& s, const config::consumer_config* consumer) const
{
    if (consumer) {
        for (const auto& c : s.consumers)  // sorted by rank: the first match is the best
            if (c.consumer_id == consumer->id) return &entries_[c.entry];
    }
    return s.base >= 0 ? &entries_[static_cast<std::size_t>(s.base)] : nullptr;
}

const config::plugin_config* plugin_set::resolve(std::string_view name, std::string_view route_id,
                                                 std::string_view service_id, std::string_view consumer_id) const
{
    const config::plugin_config* best = nullptr;
    int best_rank = 8;
    for (const auto& e : entries_) {
        const auto& c = *e.config;
        if (c.name != name) continue;
        if (!c.route_id.empty() && c.route_id != route_id) continue;
        if (!c.service_id.empty() && c.service_id != service_id) continue;
        if (!c.consumer_id.empty() && c.consumer_id != consumer_id) continue;
        int rank = precedence_rank(!c.route_id.empty(), !c.service_id.empty(), !c.consumer_id.empty());
        if (rank < best_rank) {
            best = &c;
            best_rank = rank;
        }
    }
    return best;
}

net::awaitable<void> plugin_set::run_access(request_context& ctx) const
{
    const auto started = ctx.clk->steady_now();
    if (ctx.request) strip_consumer_headers(*ctx.request);

    const plan* p = &no_route_plan_;
    std::optional<plan> adhoc;  // only for a route that is not part of this config generation
    if (ctx.route) {
        if (auto it = plans_.find(ctx.route); it != plans_.end()) p = &it->second;
        else p = &adhoc.emplace(make_plan(ctx.route->id, ctx.route->service_id));
    }

    const unsigned proto = ctx.tls ? protocol_https : protocol_http;
    const config::consumer_config* consumer_seen = ctx.consumer;
    if (ctx.consumer) set_consumer_headers(ctx);
    ctx.plugins.reserve(ctx.plugins.size() + p->slots.size());

    for (const auto& s : p->slots) {
        // Resolved just before it runs: a consumer set by a higher-priority
        // plugin selects the consumer-scoped entries of the remaining ones.
        const entry* e = choose(s, ctx.consumer);
        if (!e || !(e->protocols & proto)) continue;
        ctx.plugins.push_back(e->instance.get());
        co_await e->instance->access(ctx);
        if (ctx.consumer != consumer_seen) {
            consumer_seen = ctx.consumer;
            set_consumer_headers(ctx);
        }
        if (ctx.exit) break;
    }
    if (ctx.consumer) set_consumer_headers(ctx);  // picks up a credential_id set late
    ctx.timings.access += ctx.clk->steady_now() - started;
}

void plugin_set::run_header_filter(request_context& ctx, http::response_header<>& res) const
{
    for (const auto* pl : ctx.plugins) pl->header_filter(ctx, res);
}

void plugin_set::run_log(const request_context& ctx) const
{
    for (const auto* pl : ctx.plugins) pl->log(ctx);
}

}  // namespace countersign::pipeline
