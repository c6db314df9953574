#include <countersign/cli/token_command.hpp>

#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include <countersign/cli/demo_idp.hpp>
#include <countersign/cli/demo_key.hpp>
#include <countersign/core/clock.hpp>
#include <countersign/jose/json_strict.hpp>

namespace countersign::cli {

namespace {

struct token_options {
    std::string key_file;
    std::string alg = "RS256";
    std::string issuer = "http://127.0.0.1:9000";
    std::string sub = "alice";
    std::string scope;
    std::string aud;
    std::string claims;
    std::int64_t ttl = 300;
};

token_options& options()
{
    static token_options o;
    return o;
}

}  // namespace

CLI::App* add_token_command(CLI::App& app)
{
    auto& o = options();
    auto* cmd = app.add_subcommand(
        "token", "Mint a test JWT from a local private key and print it (for trying the gateway; not for production)");
    cmd->add_option("--key-file", o.key_file,
                    "Private JWK to sign with; created (mode 0600) when missing. `countersign demo-idp --key-file "
                    "FILE` publishes its public key")
        ->required()
        ->type_name("FILE");
    cmd->add_option("--alg", o.alg, "Algorithm of a new key; an existing key must have this alg")
        ->type_name("ALG")
        ->capture_default_str();
    cmd->add_option("--iss", o.issuer, "iss claim")->type_name("URL")->capture_default_str();
    cmd->add_option("--sub", o.sub, "sub claim")->capture_default_str();
    cmd->add_option("--scope", o.scope, "scope claim (space-separated scopes)");
    cmd->add_option("--aud", o.aud, "aud claim");
    cmd->add_option("--ttl", o.ttl, "Seconds until exp (negative: already expired)")->capture_default_str();
    cmd->add_option("--claims", o.claims, "Extra claims as a JSON object; they override the ones above")
        ->type_name("JSON");
    return cmd;
}

int run_token_command()
{
    const auto& o = options();
    auto a = jose::alg_from_string(o.alg);
    if (!a) {
        std::cerr << "countersign token: --alg " << o.alg << ": not a JWS algorithm\n";
        return 2;
    }
    demo_token_request req;
    req.sub = o.sub;
    req.scope = o.scope;
    req.aud = o.aud;
    req.ttl = o.ttl;
    if (!o.claims.empty()) {
        auto j = jose::parse_json_strict(o.claims);
        if (!j || !j->is_object()) {
            std::cerr << "countersign token: --claims must be a JSON object, e.g. '{\"role\":\"admin\"}'\n";
            return 2;
        }
        req.claims = std::move(*j);
    }
    if (auto err = req.validate(); !err.empty()) {
        std::cerr << "countersign token: " << err << "\n";
        return 2;
    }

    auto k = load_or_create_demo_key(o.key_file, *a);
    if (!k.key) {
        std::cerr << "countersign token: " << k.error << "\n";
        return 1;
    }
    if (k.key->algorithm() != *a) {
        std::cerr << "countersign token: " << o.key_file << " holds a " << jose::to_string(*k.key->algorithm())
                  << " key, not " << o.alg << "\n";
        return 1;
    }
    if (!k.warning.empty())
        std::cerr << "countersign token: warning: " << k.warning << "\n";
    if (k.created)
        std::cerr << "countersign token: new " << o.alg << " key saved to " << o.key_file << "\n";
    auto token = sign_demo_token(*k.key, demo_claims(req, o.issuer, "", clock::system().unix_seconds()));
    if (token.empty()) {
        std::cerr << "countersign token: signing failed\n";
        return 1;
    }
    std::cout << token << "\n";
    return 0;
}

}  // namespace countersign::cli
