// Kong's correlation-id plugin: a request id for upstream, downstream and the
// access log.
#pragma once

#include <string>

#include <countersign/pipeline/plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::plugins {

enum class id_generator { uuid, uuid_counter, tracker };

struct correlation_id_config {
    std::string header_name = "Kong-Request-ID";
    id_generator generator = id_generator::uuid_counter;
    bool echo_downstream = false;
};

class correlation_id final : public pipeline::plugin {
public:
    static constexpr std::string_view plugin_name = "correlation-id";
    static constexpr int plugin_priority = 100001;

    static pipeline::plugin_schema schema();
    static pipeline::plugin_descriptor descriptor();
    static correlation_id_config parse(const nlohmann::json& config);

    explicit correlation_id(correlation_id_config cfg) : cfg_(std::move(cfg)) {}

    std::string_view name() const override { return plugin_name; }
    int priority() const override { return plugin_priority; }
    net::awaitable<void> access(pipeline::request_context& ctx) const override;
    void header_filter(pipeline::request_context& ctx, http::response_header<>& res) const override;

    const correlation_id_config& config() const { return cfg_; }

    /// A fresh id from `generator` (tracker uses ctx's addresses).
    static std::string generate(id_generator generator, const pipeline::request_context& ctx);

private:
    correlation_id_config cfg_;
};

}  // namespace countersign::plugins
