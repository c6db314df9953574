#include <countersign/server/request_metrics.hpp>

#include <countersign/config/gateway_config.hpp>

#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

namespace countersign::server {

namespace {

struct store {
    std::mutex mutex;
    std::map<std::pair<std::string, std::string>, std::unique_ptr<route_metrics>> blocks;

    route_metrics* get(const std::string& service, const std::string& route)
    {
        std::lock_guard lock(mutex);
        auto& b = blocks[{service, route}];
        if (!b) b = std::make_unique<route_metrics>(service, route);
        return b.get();
    }
};

store& the_store()
{
    static store s;
    return s;
}

void render(std::string& out)
{
    using observability::write_header;
    auto& s = the_store();
    std::lock_guard lock(s.mutex);
    write_header(out, "countersign_http_requests_total", "Requests answered, by service, route and status code.",
                 "counter");
    for (const auto& [key, b] : s.blocks) {
        for (unsigned code = 100; code < 600; ++code) {
            const auto n = b->by_code[code].load(std::memory_order_relaxed);
            if (n == 0) continue;
            const std::string code_text = std::to_string(code);
            observability::write_sample(out, "countersign_http_requests_total",
                                        {{"service", b->service}, {"route", b->route}, {"code", code_text}},
                                        static_cast<double>(n));
        }
    }
    auto histograms = [&](const char* name, const char* help, observability::histogram route_metrics::*member) {
        write_header(out, name, help, "histogram");
        for (const auto& [key, b] : s.blocks) {
            const auto& h = (*b).*member;
            std::uint64_t cumulative = 0;
            const auto& bounds = h.bounds();
            const std::string bucket = std::string(name) + "_bucket";
            for (std::size_t i = 0; i <= bounds.size(); ++i) {
                cumulative += h.bucket(i);
                char le[32];
                if (i < bounds.size()) std::snprintf(le, sizeof le, "%g", bounds[i]);
                else std::snprintf(le, sizeof le, "+Inf");
                observability::write_sample(out, bucket, {{"service", b->service}, {"route", b->route}, {"le", le}},
                                            static_cast<double>(cumulative));
            }
            observability::write_sample(out, std::string(name) + "_sum", {{"service", b->service}, {"route", b->route}},
                                        h.sum());
            observability::write_sample(out, std::string(name) + "_count",
                                        {{"service", b->service}, {"route", b->route}},
                                        static_cast<double>(cumulative));
        }
    };
    histograms("countersign_http_request_duration_seconds",
               "Time from the first byte of a request to the last byte of its response.",
               &route_metrics::request_seconds);
    histograms("countersign_upstream_duration_seconds",
               "Time from sending a request upstream to receiving the response head.",
               &route_metrics::upstream_seconds);
}

}  // namespace

route_metrics::route_metrics(std::string service_name, std::string route_name)
    : service(std::move(service_name)),
      route(std::move(route_name)),
      request_seconds(observability::histogram::default_bounds()),
      upstream_seconds(observability::histogram::default_bounds())
{
}

void route_metrics::record(unsigned status, std::chrono::nanoseconds total, std::chrono::nanoseconds upstream,
                           bool upstream_used) noexcept
{
    if (status >= 100 && status < 600) by_code[status].fetch_add(1, std::memory_order_relaxed);
    request_seconds.observe(total);
    if (upstream_used) upstream_seconds.observe(upstream);
}

route_metrics* route_metrics_index::find(const config::route_config* r) const noexcept
{
    if (!r) return unmatched;
    auto it = by_route.find(r);
    return it == by_route.end() ? unmatched : it->second;
}

route_metrics_index resolve_route_metrics(const config::gateway_config& cfg)
{
    route_metrics_index index;
    auto& s = the_store();
    for (const auto& r : cfg.routes) {
        std::string service;
        for (const auto& svc : cfg.services)
            if (svc.id == r.service_id) service = svc.name.empty() ? svc.id : svc.name;
        index.by_route[&r] = s.get(service, r.name.empty() ? r.id : r.name);
    }
    index.unmatched = s.get("", "");
    return index;
}

void register_request_metrics()
{
    static std::once_flag once;
    std::call_once(once, [] { observability::metrics().add_collector(render); });
}

}  // namespace countersign::server
