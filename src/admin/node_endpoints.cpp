// GET /, GET /status, GET /status/ready.
#include <countersign/admin/api.hpp>

#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::admin {

namespace {

struct memory_usage {
    std::uint64_t resident = 0;
    std::uint64_t virtual_size = 0;
};

memory_usage read_memory_usage()
{
    // /proc/self/statm: size resident shared text lib data dt, in pages.
    memory_usage m;
    std::ifstream in("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    if (in >> size >> resident) {
        const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
        m.virtual_size = size * page;
        m.resident = resident * page;
    }
    return m;
}

std::string human_bytes(std::uint64_t n)
{
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(n) / (1024.0 * 1024.0));
    return buf;
}

nlohmann::json listen_texts(const std::vector<config::listen_address>& list)
{
    auto out = nlohmann::json::array();
    for (const auto& l : list)
        out.push_back(l.text.empty() ? l.address + ":" + std::to_string(l.port) + (l.ssl ? " ssl" : "") : l.text);
    return out;
}

response node_root(const context& ctx)
{
    auto available = nlohmann::json::object();
    if (ctx.registry != nullptr)
        for (const auto& d : ctx.registry->all())
            available[d.name] = {{"version", d.version}, {"priority", d.priority}};

    auto cfg = ctx.current_config ? ctx.current_config() : nullptr;
    auto enabled_in_config = nlohmann::json::array();
    nlohmann::json configuration = nullptr;
    if (cfg) {
        std::vector<std::string> names;
        for (const auto& p : cfg->plugins)
            if (std::find(names.begin(), names.end(), p.name) == names.end())
                names.push_back(p.name);
        std::sort(names.begin(), names.end());
        enabled_in_config = names;
        const auto& n = cfg->node;
        configuration = {
            {"database", "off"},
            {"config_source", cfg->source},
            {"proxy_listen", listen_texts(n.proxy_listen)},
            {"admin_listen", listen_texts(n.admin_listen)},
            {"workers", n.workers},
            {"log_level", n.log_level},
            {"data_dir", n.data_dir},
            {"access_log", n.access_log},
            {"error_log", n.error_log},
        };
    }
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() -
                                                                         ctx.node.started_at);
    return response::json(200, {
        {"tagline", "Welcome to countersign"},
        {"version", ctx.node.version},
        {"hostname", ctx.node.hostname},
        {"node_id", ctx.node.node_id},
        {"pid", ctx.node.pid},
        {"workers", ctx.node.workers},
        {"uptime_seconds", uptime.count()},
        {"config_source", cfg ? nlohmann::json(cfg->source) : nlohmann::json(nullptr)},
        {"plugins", {{"available_on_server", std::move(available)}, {"enabled_in_cluster", std::move(enabled_in_config)}}},
        {"configuration", std::move(configuration)},
    });
}

response node_status(const context& ctx)
{
    const node_counters c = ctx.counters ? ctx.counters() : node_counters{};
    const auto mem = read_memory_usage();
    return response::json(200, {
        {"database", {{"reachable", true}}},
        {"server",
         {
             {"connections_accepted", c.connections_accepted},
             {"connections_active", c.connections_active},
             {"connections_handled", c.connections_handled},
             {"total_requests", c.requests_total},
             {"requests_active", c.requests_active},
         }},
        {"memory",
         {
             {"resident_bytes", mem.resident},
             {"virtual_bytes", mem.virtual_size},
             {"resident", human_bytes(mem.resident)},
         }},
    });
}

response node_ready(const context& ctx)
{
    const bool has_config = ctx.current_config && ctx.current_config() != nullptr;
    if (!has_config)
        return response::message(503, "no configuration loaded");
    if (ctx.ready && !ctx.ready())
        return response::message(503, "shutting down");
    return response::message(200, "ready");
}

}  // namespace

void add_node_routes(router& r, std::shared_ptr<const context> ctx)
{
    r.add("GET", "/", [ctx](const request&, const path_params&) { return node_root(*ctx); });
    r.add("GET", "/status", [ctx](const request&, const path_params&) { return node_status(*ctx); });
    r.add("GET", "/status/ready", [ctx](const request&, const path_params&) { return node_ready(*ctx); });
}

}  // namespace countersign::admin
