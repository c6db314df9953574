#pragma once
// `countersign token`: mints a test token offline from a local private JWK
// (the same file `countersign demo-idp --key-file` serves as its JWKS). For
// trying the gateway out and for smoke tests; never used by the gateway.

namespace CLI {
class App;
}

namespace countersign::cli {

/// Adds the `token` subcommand (and its options) to `app`.
CLI::App* add_token_command(CLI::App& app);

/// Runs it after parsing; returns the process exit code.
int run_token_command();

}  // namespace countersign::cli
