#include <countersign/server/node.hpp>
#include <countersign/server/request_metrics.hpp>

namespace countersign::server {

void register_node_metrics(const node& n)
{
    register_request_metrics();
    observability::metrics().add_collector([&n](std::string& out) {
        using observability::write_header;
        using observability::write_sample;
        const auto& s = n.stats();
        write_header(out, "countersign_connections_active", "Client connections open now.", "gauge");
        write_sample(out, "countersign_connections_active", {}, static_cast<double>(s.connections_active.load()));
        write_header(out, "countersign_connections_accepted_total", "Client connections accepted.", "counter");
        write_sample(out, "countersign_connections_accepted_total", {},
                     static_cast<double>(s.connections_accepted.load()));
        write_header(out, "countersign_connections_rejected_total",
                     "Client connections closed at once because every worker had max_connections open.", "counter");
        write_sample(out, "countersign_connections_rejected_total", {},
                     static_cast<double>(s.connections_rejected.load()));
        write_header(out, "countersign_requests_active", "Requests in flight now.", "gauge");
        write_sample(out, "countersign_requests_active", {}, static_cast<double>(s.requests_active.load()));
        write_header(out, "countersign_upstream_connections_opened_total", "Upstream connections opened.", "counter");
        write_sample(out, "countersign_upstream_connections_opened_total", {},
                     static_cast<double>(s.upstream_connections_opened.load()));
        write_header(out, "countersign_upstream_connections_reused_total",
                     "Upstream requests sent on a pooled keep-alive connection.", "counter");
        write_sample(out, "countersign_upstream_connections_reused_total", {},
                     static_cast<double>(s.upstream_connections_reused.load()));
        write_header(out, "countersign_upstream_stale_retries_total",
                     "Requests sent again on a new upstream connection because the pooled one had been closed.",
                     "counter");
        write_sample(out, "countersign_upstream_stale_retries_total", {},
                     static_cast<double>(s.upstream_stale_retries.load()));
    });
}

}  // namespace countersign::server
