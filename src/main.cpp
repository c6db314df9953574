// countersign: the command line.
//
//   countersign --config FILE     run the gateway
//   countersign check FILE        validate a config file and exit
//   countersign demo-idp          a tiny example identity provider (not for production)
//   countersign token --key-file FILE   mint a test token from a local key
//   countersign --version | --help
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <countersign/admin/api.hpp>
#include <countersign/admin/config_endpoints.hpp>
#include <countersign/admin/context.hpp>
#include <countersign/admin/listener.hpp>
#include <countersign/cli/demo_idp_command.hpp>
#include <countersign/cli/token_command.hpp>
#include <countersign/config/loader.hpp>
#include <countersign/jwt_signer/jwt_signer_metrics.hpp>
#include <countersign/jwt_signer/key_admin.hpp>
#include <countersign/observability/logging.hpp>
#include <countersign/observability/metrics.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/server/node.hpp>
#include <countersign/server/reloader.hpp>
#include <countersign/server/request_metrics.hpp>
#include <countersign/server/runtime.hpp>

#ifdef COUNTERSIGN_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace {

using namespace countersign;

/// The malloc this binary runs on: "jemalloc 5.3.0" or "system malloc".
std::string allocator_name()
{
#ifdef COUNTERSIGN_WITH_JEMALLOC
    const char* version = nullptr;
    std::size_t size = sizeof(version);
    if (mallctl("version", &version, &size, nullptr, 0) != 0 || !version)
        return "jemalloc";
    std::string v(version);
    return "jemalloc " + v.substr(0, v.find('-'));  // "5.3.0-0-g54ea..." -> "5.3.0"
#else
    return "system malloc";
#endif
}

// Exit codes, also listed in the --help footer.
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;  // invalid config, port in use, unreadable file…
constexpr int exit_usage = 2;    // bad command line

constexpr const char* help_footer =
    "Exit codes:\n"
    "  0  success (check: the configuration is valid; run: graceful shutdown)\n"
    "  1  invalid configuration, unreadable file, a port that cannot be bound,\n"
    "     or in-flight requests cut by the shutdown deadline\n"
    "  2  bad command line\n"
    "\n"
    "Node settings in the `countersign:` section can be overridden from the\n"
    "environment as COUNTERSIGN_<NAME>, e.g. COUNTERSIGN_PROXY_LISTEN.";

void print_errors(const config::error_list& errors)
{
    for (const auto& e : errors.errors())
        std::cerr << e.to_string() << "\n";
}

// Loads and fully builds a config (router, plugin instances) the same way
// for `check` and for running, so `check` passing means the gateway starts.
struct loaded {
    config::gateway_config_ptr config;
    server::runtime_ptr runtime;
};

std::optional<loaded> load(const std::string& path, pipeline::plugin_services& services)
{
    const auto& registry = pipeline::plugin_registry::builtin();
    auto result = config::load_file(path, registry);
    if (!result.ok()) {
        print_errors(result.errors);
        return std::nullopt;
    }
    services.data_dir = result.config->node.data_dir;
    services.jwks_refetch_throttle = result.config->node.jwks_refetch_throttle;
    services.token_cache_size = result.config->node.token_cache_size;
    config::error_list errors;
    auto rt = server::build_runtime(result.config, registry, services, errors);
    if (!rt || !errors.empty()) {
        print_errors(errors);
        if (errors.empty())
            std::cerr << path << ": cannot build the runtime\n";
        return std::nullopt;
    }
    return loaded{result.config, std::move(rt)};
}

int run_check(const std::string& path)
{
    pipeline::plugin_services services;
    auto l = load(path, services);
    if (!l) {
        std::cerr << "configuration invalid: " << path << "\n";
        return exit_failure;
    }
    const auto& c = *l->config;
    std::cout << "configuration OK: " << c.services.size() << " services, " << c.routes.size() << " routes, "
              << c.plugins.size() << " plugins, " << c.consumers.size() << " consumers\n";
    return exit_ok;
}

int run_gateway(const std::string& path)
{
    pipeline::plugin_services services;
    auto l = load(path, services);
    if (!l) {
        std::cerr << "countersign: not started, configuration invalid: " << path << "\n";
        return exit_failure;
    }
    const auto& node_cfg = l->config->node;
    if (auto err = observability::configure_logging(node_cfg)) {
        std::cerr << "countersign: " << *err << "\n";
        return exit_failure;
    }

    server::node node(l->runtime, node_cfg);
    server::register_node_metrics(node);
    jwt_signer::register_jwt_signer_metrics([&services] { return services.jwt_signer; });
    auto ready = std::make_shared<std::atomic<bool>>(true);

    // Hot reload (POST /config, and SIGHUP re-reading `path`): one at a time,
    // on the control thread; `services` (keys, caches) outlives every
    // config generation. The SIGHUP handler is installed before any port is
    // bound, so an early SIGHUP never kills the process.
    server::reloader reloader(node, pipeline::plugin_registry::builtin(), services);
    server::sighup_reload sighup(node.control_context(), reloader, path);
    observability::metrics().add_collector([&reloader](std::string& out) {
        const auto& s = reloader.stats();
        observability::write_header(out, "countersign_config_reloads_total",
                                    "Config reloads (SIGHUP, POST /config) by result.", "counter");
        observability::write_sample(out, "countersign_config_reloads_total", {{"result", "ok"}},
                                    static_cast<double>(s.ok.load()));
        observability::write_sample(out, "countersign_config_reloads_total", {{"result", "error"}},
                                    static_cast<double>(s.error.load()));
    });

    auto ctx = std::make_shared<admin::context>(admin::context::for_this_process(node_cfg.workers));
    ctx->registry = &pipeline::plugin_registry::builtin();
    ctx->current_config = [&node] {
        auto rt = node.current();
        return rt ? rt->config : nullptr;
    };
    ctx->counters = [&node] {
        const auto& s = node.stats();
        admin::node_counters c;
        c.connections_accepted = s.connections_accepted.load();
        c.connections_active = s.connections_active.load();
        c.connections_handled = s.connections_handled.load();
        c.requests_total = s.requests_total.load();
        c.requests_active = s.requests_active.load();
        return c;
    };
    ctx->ready = [ready] { return ready->load(); };
    ctx->reloader = &reloader;
    // The jwt-signer key admin routes look the services up per request: a
    // reload may add the first jwt-signer plugin (and so the services).
    ctx->route_hooks.push_back([&reloader](admin::router& r) {
        admin::router probe;  // only to learn the routes' methods and patterns
        jwt_signer::add_key_admin_routes(probe, nullptr);
        for (const auto& route : probe.routes()) {
            const auto space = route.find(' ');
            r.add(route.substr(0, space), route.substr(space + 1),
                  [&reloader](const admin::request& req, const admin::path_params&) {
                      auto svc = reloader.jwt_signer_services();
                      if (!svc)
                          return admin::response::not_found();
                      admin::router keys;
                      jwt_signer::add_key_admin_routes(keys, std::move(svc));
                      return keys.dispatch(req);
                  });
        }
    });

    // Bind the admin port before the proxy starts, so a taken port stops
    // everything before any traffic is accepted.
    auto admin_limits = admin::listener_limits::from(node_cfg);
    admin_limits.max_body_bytes = admin::max_config_body_bytes;  // POST /config
    admin::listener admin_api(node.control_context(), node_cfg, admin::make_router(ctx), admin_limits);
    if (auto r = admin_api.start(); !r) {
        spdlog::critical("{}", admin_api.error_message());
        std::cerr << "countersign: " << admin_api.error_message() << "\n";
        return exit_failure;
    }
    // The admin API keeps serving during the drain, so readiness probes see
    // 503 and take the node out of rotation; it stops with the control context.
    node.on_stopping([ready] { ready->store(false); });
    if (auto r = node.start(); !r) {
        const std::string why = node.last_error().empty() ? r.error().message() : node.last_error();
        spdlog::critical("cannot start: {}", why);
        std::cerr << "countersign: cannot start: " << why << "\n";
        return exit_failure;
    }
    spdlog::info("countersign {} started (pid {}, {} worker(s), config {}, {})", ctx->node.version, ctx->node.pid,
                 node_cfg.workers, l->config->source, allocator_name());
    const int code = node.wait();
    spdlog::info("countersign stopped");
    return code;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"countersign: a Kong-compatible API gateway that verifies and re-signs JWTs"};
    app.name("countersign");
    app.set_version_flag("-V,--version",
                         std::string("countersign ") + COUNTERSIGN_VERSION + "\nallocator: " + allocator_name());
    app.footer(help_footer);

    std::string config_path;
    app.add_option("-c,--config", config_path, "Run the gateway with this declarative YAML configuration")
        ->type_name("FILE");

    std::string check_path;
    auto* check = app.add_subcommand("check", "Validate a configuration file, print every error, and exit");
    check->add_option("file", check_path, "The configuration file to check")->required()->type_name("FILE");
    auto* demo_idp = cli::add_demo_idp_command(app);
    auto* token = cli::add_token_command(app);
    app.require_subcommand(0, 1);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);  // prints help/version on stdout, errors on stderr
        return code == 0 ? exit_ok : exit_usage;
    }

    try {
        if (check->parsed())
            return run_check(check_path);
        if (demo_idp->parsed())
            return cli::run_demo_idp_command();
        if (token->parsed())
            return cli::run_token_command();
        if (config_path.empty()) {
            std::cerr << "countersign: no configuration given; use --config FILE (or `countersign check FILE`)\n"
                      << "Run with --help for more information.\n";
            return exit_usage;
        }
        return run_gateway(config_path);
    } catch (const std::exception& e) {
        std::cerr << "countersign: fatal: " << e.what() << "\n";
        return exit_failure;
    }
}
