#include <countersign/plugins/correlation_id.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include <unistd.h>

#include <countersign/plugins/uuid.hpp>

namespace countersign::plugins {

namespace {

struct worker_sequence {
    std::string base = random_uuid();  // per thread (Kong: per worker)
    std::uint64_t counter = 0;
};
thread_local worker_sequence sequence;

std::atomic<std::uint64_t> tracker_counter{0};

}  // namespace

pipeline::plugin_schema correlation_id::schema()
{
    using namespace pipeline;
    return plugin_schema{{
        string_field("header_name")
            .default_value("Kong-Request-ID")
            .len_min(1)
            .match("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", "an HTTP header name")
            .description("The HTTP header name to use for the correlation ID."),
        string_field("generator")
            .required()
            .default_value("uuid#counter")
            .one_of({"uuid", "uuid#counter", "tracker"})
            .description("The generator to use for the correlation ID."),
        boolean_field("echo_downstream")
            .required()
            .default_value(false)
            .description("Whether to echo the header back to downstream (the client)."),
    }};
}

correlation_id_config correlation_id::parse(const nlohmann::json& config)
{
    correlation_id_config c;
    if (auto it = config.find("header_name"); it != config.end() && it->is_string()) c.header_name = *it;
    if (auto it = config.find("generator"); it != config.end() && it->is_string()) {
        const auto& g = it->get_ref<const std::string&>();
        c.generator = g == "uuid" ? id_generator::uuid : g == "tracker" ? id_generator::tracker : id_generator::uuid_counter;
    }
    if (auto it = config.find("echo_downstream"); it != config.end() && it->is_boolean()) c.echo_downstream = *it;
    return c;
}

pipeline::plugin_descriptor correlation_id::descriptor()
{
    pipeline::plugin_descriptor d;
    d.name = std::string(plugin_name);
    d.priority = plugin_priority;
    d.version = "2.0.2";
    d.schema = schema();
    d.create = [](const config::plugin_config& pc, pipeline::plugin_services&)
        -> result<std::shared_ptr<const pipeline::plugin>> {
        return std::shared_ptr<const pipeline::plugin>(std::make_shared<correlation_id>(parse(pc.config)));
    };
    return d;
}

std::string correlation_id::generate(id_generator generator, const pipeline::request_context& ctx)
{
    switch (generator) {
    case id_generator::uuid: return random_uuid();
    case id_generator::uuid_counter: {
        auto n = ++sequence.counter;
        std::string s;
        s.reserve(sequence.base.size() + 21);
        s += sequence.base;
        s += '#';
        s += std::to_string(n);
        return s;
    }
    case id_generator::tracker: {
        // Kong: server_addr-server_port-pid-connection-connection_requests-time.
        // We have no connection serial here: a process-wide sequence stands in
        // for connection-requests, and the client address for the connection.
        auto now = std::chrono::duration<double>(ctx.clk->now().time_since_epoch()).count();
        char buf[160];
        int n = std::snprintf(buf, sizeof buf, "%s-%u-%d-%s:%u-%llu-%.3f", ctx.host.empty() ? "-" : ctx.host.c_str(),
                              static_cast<unsigned>(ctx.server_port), static_cast<int>(::getpid()),
                              ctx.client_ip.empty() ? "-" : ctx.client_ip.c_str(), static_cast<unsigned>(ctx.client_port),
                              static_cast<unsigned long long>(++tracker_counter), now);
        return std::string(buf, n > 0 ? std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1) : 0);
    }
    }
    return random_uuid();
}

net::awaitable<void> correlation_id::access(pipeline::request_context& ctx) const
{
    std::string id;
    if (ctx.request) {
        auto it = ctx.request->find(cfg_.header_name);
        if (it != ctx.request->end()) id = std::string(it->value());
    }
    if (id.empty()) {
        id = generate(cfg_.generator, ctx);
        if (ctx.request) ctx.request->set(cfg_.header_name, id);
    }
    ctx.request_id = std::move(id);
    co_return;
}

void correlation_id::header_filter(pipeline::request_context& ctx, http::response_header<>& res) const
{
    if (!cfg_.echo_downstream) return;
    std::string id = ctx.request_id;
    if (id.empty() && ctx.request) {
        auto it = ctx.request->find(cfg_.header_name);
        if (it != ctx.request->end()) id = std::string(it->value());
    }
    if (id.empty()) id = generate(cfg_.generator, ctx);
    res.set(cfg_.header_name, id);
}

}  // namespace countersign::plugins
