// The one place where built-in plugins are registered: one line per plugin.
#include <countersign/jwt_signer/jwt_signer_plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/plugins/correlation_id.hpp>
#include <countersign/plugins/debug_delay.hpp>
#include <countersign/plugins/request_termination.hpp>

namespace countersign::pipeline {

void plugin_registry::add_builtins(plugin_registry& r)
{
    r.add(plugins::correlation_id::descriptor());
    r.add(plugins::request_termination::descriptor());
    r.add(jwt_signer::jwt_signer_plugin::descriptor());

    // Test-only, absent unless COUNTERSIGN_DEBUG_PLUGINS=1 (docs/plugins.md).
    if (plugins::debug_plugins_enabled()) r.add(plugins::debug_delay::descriptor());
}

}  // namespace countersign::pipeline
