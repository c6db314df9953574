#include <countersign/cli/demo_idp_command.hpp>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>

#include <boost/asio/signal_set.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <countersign/admin/listener.hpp>
#include <countersign/admin/router.hpp>
#include <countersign/cli/demo_idp.hpp>
#include <countersign/cli/demo_key.hpp>

namespace countersign::cli {

namespace {

struct demo_idp_options {
    std::string listen = "127.0.0.1:9000";
    std::string issuer = "http://127.0.0.1:9000";
    std::string client_id = "demo-client";
    std::string client_secret = "demo-secret";
    std::string key_file;
    CLI::Option* issuer_option = nullptr;
};

demo_idp_options& options()
{
    static demo_idp_options o;
    return o;
}

// Small requests only: query strings and introspection forms.
admin::listener_limits demo_limits()
{
    admin::listener_limits l;
    l.max_header_bytes = 16 * 1024;
    l.max_body_bytes = 64 * 1024;
    l.header_timeout = std::chrono::seconds(10);
    l.body_timeout = std::chrono::seconds(10);
    l.keepalive_timeout = std::chrono::seconds(30);
    l.keepalive_requests = 100;
    return l;
}

}  // namespace

CLI::App* add_demo_idp_command(CLI::App& app)
{
    auto& o = options();
    auto* cmd = app.add_subcommand(
        "demo-idp", "Run an example identity provider for trying the gateway (NOT FOR PRODUCTION)");
    cmd->footer(
        "NOT FOR PRODUCTION: it hands out any token to anyone who can reach it.\n"
        "\n"
        "Endpoints:\n"
        "  GET  /token?sub=alice&scope=a+b&aud=x&ttl=300&claims={json}  a signed JWT (text/plain)\n"
        "  GET  /opaque?sub=alice&scope=a+b&ttl=300   an opaque token, remembered in memory\n"
        "  POST /introspect   RFC 7662, form token=...; needs HTTP Basic client-id:client-secret\n"
        "  GET  /jwks         the public key\n"
        "  GET  /.well-known/openid-configuration\n"
        "ttl is in seconds; a negative ttl gives an already expired token.");
    cmd->add_option("--listen", o.listen, "Address to listen on (HOST:PORT)")
        ->type_name("ADDR")
        ->capture_default_str();
    o.issuer_option =
        cmd->add_option("--issuer", o.issuer,
                        "The iss claim of minted tokens, and the base of the URLs in the discovery document "
                        "(default: http://<listen address>)")
            ->type_name("URL");
    cmd->add_option("--client-id", o.client_id, "Client id that POST /introspect requires (HTTP Basic)")
        ->type_name("ID")
        ->capture_default_str();
    cmd->add_option("--client-secret", o.client_secret, "Client secret that POST /introspect requires")
        ->type_name("SECRET")
        ->capture_default_str();
    cmd->add_option("--key-file", o.key_file,
                    "Private JWK to sign with; created (mode 0600) when missing. Without it a new RS256 key is "
                    "generated at every start")
        ->type_name("FILE");
    return cmd;
}

int run_demo_idp_command()
{
    const auto& o = options();
    auto addr = parse_listen_address(o.listen);
    if (!addr) {
        std::cerr << "countersign demo-idp: --listen " << o.listen << ": expected HOST:PORT, e.g. 127.0.0.1:9000\n";
        return 2;
    }
    auto k = o.key_file.empty() ? generate_demo_key(jose::alg::rs256)
                                : load_or_create_demo_key(o.key_file, jose::alg::rs256);
    if (!k.key) {
        std::cerr << "countersign demo-idp: " << k.error << "\n";
        return 1;
    }
    if (!k.warning.empty())
        spdlog::warn("demo-idp: {}", k.warning);
    if (k.created && !o.key_file.empty())
        spdlog::info("demo-idp: new key saved to {}", o.key_file);

    demo_idp_settings settings;
    settings.issuer = o.issuer;
    settings.client_id = o.client_id;
    settings.client_secret = o.client_secret;
    auto idp = std::make_shared<demo_idp>(*k.key, settings);
    auto routes = std::make_shared<admin::router>();
    demo_idp::add_routes(*routes, idp);

    net::io_context ioc{1};
    config::node_config node;
    node.admin_listen = {*addr};
    admin::listener server(ioc, node, routes, demo_limits());
    // The listener announces itself as the "admin API"; that would mislead
    // here, so its start-up line is muted and ours printed instead.
    const auto level = spdlog::get_level();
    spdlog::set_level(spdlog::level::warn);
    auto started = server.start();
    spdlog::set_level(level);
    if (!started) {
        std::cerr << "countersign demo-idp: " << server.error_message() << "\n";
        return 1;
    }

    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&server](const error_code& ec, int sig) {
        if (ec)
            return;
        spdlog::info("demo-idp: signal {}, stopping", sig);
        server.stop();
    });

    // The bound port (differs from --listen with port 0). Without --issuer
    // the issuer is this base URL; nothing is served before ioc.run().
    const auto host = addr->address.find(':') == std::string::npos ? addr->address : "[" + addr->address + "]";
    const auto base = "http://" + host + ":" + std::to_string(server.ports().front());
    if (o.issuer_option != nullptr && o.issuer_option->count() == 0)
        idp->set_issuer(base);
    spdlog::warn("demo-idp: an EXAMPLE identity provider, NOT FOR PRODUCTION: it gives any token to anyone");
    spdlog::info("demo-idp: listening on {} (issuer {}, {} key kid {})", base, idp->settings().issuer,
                 jose::to_string(*k.key->algorithm()), k.key->kid());
    spdlog::info("demo-idp: JWT:    curl -s '{}/token?sub=alice&scope=orders:read'", base);
    spdlog::info("demo-idp: opaque: curl -s '{}/opaque?sub=alice'", base);
    spdlog::info("demo-idp: introspection at {}/introspect (HTTP Basic, client id {}); JWKS at {}/jwks", base,
                 o.client_id, base);
    ioc.run();
    spdlog::info("demo-idp: stopped");
    return 0;
}

}  // namespace countersign::cli
