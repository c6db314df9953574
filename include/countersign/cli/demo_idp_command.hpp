#pragma once
// `countersign demo-idp`: serves the example identity provider of
// cli/demo_idp.hpp over HTTP until SIGINT/SIGTERM. For trying the gateway
// out; never for production.

namespace CLI {
class App;
}

namespace countersign::cli {

/// Adds the `demo-idp` subcommand (and its options) to `app`.
CLI::App* add_demo_idp_command(CLI::App& app);

/// Runs it after parsing; returns the process exit code.
int run_demo_idp_command();

}  // namespace countersign::cli
