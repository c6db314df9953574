// Kong's request-termination plugin: answers the request itself, with a fixed
// message or body, or with an echo of the request as the upstream would see it.
#pragma once

#include <optional>
#include <string>

#include <countersign/pipeline/plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::plugins {

struct request_termination_config {
    unsigned status_code = 503;              ///< 100..599
    std::optional<std::string> message;      ///< {"message": ...}; default per status
    std::optional<std::string> body;         ///< raw body, with content_type
    std::optional<std::string> content_type;
    bool echo = false;                       ///< answer with a JSON description of the request
    std::string trigger;                     ///< "" = always; else only when this header or query arg is present
};

class request_termination final : public pipeline::plugin {
public:
    static constexpr std::string_view plugin_name = "request-termination";
    static constexpr int plugin_priority = 2;
    /// At most this much request body is read for `echo`.
    static constexpr std::size_t echo_body_limit = 1024 * 1024;

    static pipeline::plugin_schema schema();
    static pipeline::plugin_descriptor descriptor();
    /// The typed config from a validated JSON config.
    static request_termination_config parse(const nlohmann::json& config);

    explicit request_termination(request_termination_config cfg) : cfg_(std::move(cfg)) {}

    std::string_view name() const override { return plugin_name; }
    int priority() const override { return plugin_priority; }
    net::awaitable<void> access(pipeline::request_context& ctx) const override;

    const request_termination_config& config() const { return cfg_; }

    /// Kong's default message for a status (401, 404, 405, 500, 502, 503), or "".
    static std::string_view default_message(unsigned status);

private:
    bool triggered(const pipeline::request_context& ctx) const;

    request_termination_config cfg_;
};

}  // namespace countersign::plugins
