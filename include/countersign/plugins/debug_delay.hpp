// A test-only plugin that suspends its access phase on a timer. It exists to
// prove that a suspended plugin does not block its worker. Registered only when
// the environment has COUNTERSIGN_DEBUG_PLUGINS=1; otherwise `debug-delay` is
// an unknown plugin name like any other.
#pragma once

#include <countersign/pipeline/plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

namespace countersign::plugins {

class debug_delay final : public pipeline::plugin {
public:
    static constexpr std::string_view plugin_name = "debug-delay";
    static constexpr int plugin_priority = 500;

    static pipeline::plugin_schema schema();
    static pipeline::plugin_descriptor descriptor();

    explicit debug_delay(std::chrono::milliseconds delay) : delay_(delay) {}

    std::string_view name() const override { return plugin_name; }
    int priority() const override { return plugin_priority; }
    net::awaitable<void> access(pipeline::request_context& ctx) const override;

private:
    std::chrono::milliseconds delay_;
};

/// True when COUNTERSIGN_DEBUG_PLUGINS=1 is set in the environment.
bool debug_plugins_enabled();

}  // namespace countersign::plugins
