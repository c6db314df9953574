// GET /metrics: every metric of the process in the Prometheus text format.
#include <countersign/admin/api.hpp>

#include <countersign/observability/metrics.hpp>

namespace countersign::admin {

void add_metrics_routes(router& r)
{
    r.add("GET", "/metrics", [](const request&, const path_params&) {
        response res;
        res.status = 200;
        res.content_type = "text/plain; version=0.0.4; charset=utf-8";
        res.body = observability::metrics().render();
        res.headers.emplace_back("Cache-Control", "no-store");
        return res;
    });
}

}  // namespace countersign::admin
