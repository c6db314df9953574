// Micro-benchmarks of the per-request work a worker does between "request
// header parsed" and "ready to forward": route match, the upstream view of
// the header (hop-by-hop removal, path/Host rewrite, X-Forwarded-*), and the
// access phase of the plugin pipeline (plugin_set::run_access), driven on a
// local io_context the way a session coroutine drives it.
//
// Scenarios (arguments: distinct incoming tokens in rotation, and whether
// the jwt-signer token caches are on, i.e. node setting token_cache_size
// 16384 or 0):
//   pipeline/no_plugins            routing + header rewrite + empty pipeline
//   pipeline/resign_only_es256     jwt-signer, signature verification off,
//                                  re-signs with ES256
//   pipeline/verify_rs256_sign_es256  jwt-signer verifies an RS256 JWT with
//                                  a key from a JWKS (issuer, audience, scope
//                                  and expiry checked), re-signs with ES256
//   pipeline/verify_rs256_sign_rs256  same, re-signs with RS256
// With the caches off every request pays the full signature check and
// signing (crypto-bound); with them on, a repeated token pays neither.
//
// The IdP's JWKS is served by a loopback HTTP server on its own thread; the
// first request fetches it (warm-up, outside the timing), every timed
// request finds the keys in the node-wide JWKS cache.
//
//   ./build/bench/bench_pipeline --benchmark_min_time=0.5
//
// `io_roundtrip` is the cost of one co_spawn + io_context::run/restart
// (the harness); subtract it to get the pipeline's own cost.

#include <countersign/config/loader.hpp>
#include <countersign/core/beast.hpp>
#include <countersign/jose/jose.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/pipeline/plugin_set.hpp>
#include <countersign/pipeline/request_context.hpp>
#include <countersign/proxy/forwarding.hpp>
#include <countersign/proxy/hop_by_hop.hpp>
#include <countersign/proxy/router.hpp>
#include <countersign/server/runtime.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace countersign;
using json = nlohmann::json;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// --- A loopback server answering every request with one JSON document ------

class fixed_json_server {
public:
    explicit fixed_json_server(std::string body)
        : acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)), body_(std::move(body))
    {
        net::co_spawn(io_, accept_loop(), net::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~fixed_json_server()
    {
        io_.stop();
        thread_.join();
    }
    fixed_json_server(const fixed_json_server&) = delete;
    fixed_json_server& operator=(const fixed_json_server&) = delete;

    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

private:
    net::awaitable<void> accept_loop()
    {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
            if (ec)
                co_return;
            net::co_spawn(io_, answer(std::move(socket)), net::detached);
        }
    }

    net::awaitable<void> answer(tcp::socket socket)
    {
        beast::flat_buffer buf;
        http::request<http::string_body> req;
        auto [rec, rn] = co_await http::async_read(socket, buf, req, use_tuple);
        if (rec)
            co_return;
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        res.body() = body_;
        res.keep_alive(false);
        res.prepare_payload();
        co_await http::async_write(socket, res, use_tuple);  // the client sees a failure
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
    }

    net::io_context io_;
    tcp::acceptor acceptor_;
    std::string body_;
    std::thread thread_;
};

// --- Node-wide bench environment --------------------------------------------

std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The IdP (RS256 key, JWKS server, tokens), the data dir, and the node-wide
/// plugin services shared by every scenario (as in a running node).
struct bench_env {
    std::filesystem::path dir;
    jose::jwk idp_key;
    std::unique_ptr<fixed_json_server> jwks_server;
    pipeline::plugin_services services;
    std::vector<std::string> tokens;  // distinct RS256 tokens, valid for an hour

    bench_env()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "countersign-bench-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        dir = pattern;
        idp_key = jose::jwk::generate(jose::alg::rs256).value().with_kid("idp-rs").with_alg(jose::alg::rs256).value();
        json jwks = {{"keys", json::array({idp_key.public_key().value().to_public_json()})}};
        jwks_server = std::make_unique<fixed_json_server>(jwks.dump());
        services.data_dir = (dir / "data").string();
    }
    ~bench_env()
    {
        jwks_server.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    std::string jwks_uri() const { return "http://127.0.0.1:" + std::to_string(jwks_server->port()) + "/jwks"; }

    /// The first `n` distinct tokens (generated on demand).
    const std::vector<std::string>& tokens_for(std::size_t n)
    {
        const auto now = unix_now();
        while (tokens.size() < n) {
            json claims = {{"iss", "https://idp.bench"},
                           {"sub", "user-" + std::to_string(tokens.size())},
                           {"aud", "orders-api"},
                           {"iat", now},
                           {"exp", now + 3600},
                           {"scope", "openid orders:read"},
                           {"jti", "bench-" + std::to_string(tokens.size())}};
            tokens.push_back(
                jose::sign_compact({{"typ", "JWT"}, {"kid", "idp-rs"}}, claims.dump(), jose::alg::rs256, idp_key)
                    .value());
        }
        return tokens;
    }

    static bench_env& get()
    {
        static bench_env env;
        return env;
    }
};

std::string config_yaml(const bench_env& env, const json* jwt_signer_config)
{
    std::string y = "_format_version: \"3.0\"\ncountersign:\n  data_dir: \"" + env.services.data_dir +
                    "\"\nservices:\n";
    for (int i = 0; i < 10; ++i) {
        auto n = std::to_string(i);
        y += "  - name: svc" + n + "\n    url: http://127.0.0.1:9/v1\n    routes:\n      - name: r" + n +
             "\n        paths: [\"/api" + n + "\"]\n        methods: [GET, POST]\n";
    }
    if (jwt_signer_config)
        y += "plugins:\n  - name: jwt-signer\n    config: " + jwt_signer_config->dump() + "\n";
    return y;
}

const server::runtime& runtime_for(const std::string& key, const json* plugin_config, bool token_caches)
{
    static std::map<std::string, server::runtime_ptr> cache;
    auto it = cache.find(key);
    if (it != cache.end())
        return *it->second;
    auto& env = bench_env::get();
    const auto& registry = pipeline::plugin_registry::builtin();
    auto loaded = config::load_string(config_yaml(env, plugin_config), "bench", registry);
    if (!loaded.ok())
        throw std::runtime_error("bench config: " + loaded.errors.to_string());
    config::error_list errors;
    env.services.token_cache_size = token_caches ? 16384 : 0;
    auto rt = server::build_runtime(loaded.config, registry, env.services, errors);
    if (!rt)
        throw std::runtime_error("bench runtime: " + errors.to_string());
    return *cache.emplace(key, std::move(rt)).first->second;
}

/// One config generation per scenario: ten routes (the bench hits the last
/// one) and an optional global jwt-signer entry. Null (and the bench skipped)
/// when the config is refused.
const server::runtime* runtime_for(benchmark::State& state, const std::string& key, const json* plugin_config,
                                   bool token_caches = true)
{
    try {
        return &runtime_for(key + (token_caches ? "/cached" : "/uncached"), plugin_config, token_caches);
    } catch (const std::exception& e) {
        state.SkipWithError(e.what());
        return nullptr;
    }
}

// --- One request, as the session handles it ---------------------------------

class fields_lookup final : public proxy::header_lookup {
public:
    explicit fields_lookup(const http::fields& f) : f_(f) {}
    bool any_value(std::string_view name, const std::function<bool(std::string_view)>& pred) const override
    {
        for (const auto& field : f_)
            if (beast::iequals(field.name_string(), name) && pred(field.value()))
                return true;
        return false;
    }

private:
    const http::fields& f_;
};

struct request_outcome {
    bool routed = false;
    std::optional<pipeline::exit_response> exit;
    std::size_t upstream_authorization_bytes = 0;
};

/// Builds the request header a client would send, then does what
/// session::process does up to (not including) the upstream exchange.
net::awaitable<void> one_request(const server::runtime& rt, const std::string* token, request_outcome& out)
{
    http::request_header<> req;
    req.method(http::verb::get);
    req.target("/api9/orders/42?expand=items");
    req.version(11);
    req.set(http::field::host, "api.bench:8000");
    req.set(http::field::user_agent, "wrk");
    req.set(http::field::accept, "*/*");
    if (token)
        req.set(http::field::authorization, "Bearer " + *token);

    const std::string original_target(req.target());
    const std::string host_header(req[http::field::host]);
    std::string_view path = std::string_view(original_target).substr(0, original_target.find('?'));

    fields_lookup lookup(req);
    auto m = rt.router->find(req.method_string(), host_header, path, lookup);
    if (!m)
        co_return;
    out.routed = true;

    pipeline::request_context ctx;
    ctx.config = rt.config.get();
    ctx.request = &req;
    ctx.client_ip = "127.0.0.1";
    ctx.client_port = 40000;
    ctx.server_port = 8000;
    ctx.host = proxy::normalize_host(host_header);
    ctx.timings.received = std::chrono::steady_clock::now();
    ctx.route = m->route;
    ctx.service = m->service;

    proxy::strip_hop_by_hop(req);
    proxy::clear_consumer_headers(req);
    std::string matched_prefix(m->matched_prefix);
    req.target(proxy::upstream_target(*ctx.service, *ctx.route, original_target, matched_prefix));
    req.set(http::field::host, proxy::upstream_host(*ctx.service, *ctx.route, host_header));
    proxy::forwarded_info info;
    info.client_ip = ctx.client_ip;
    info.server_port = ctx.server_port;
    info.host = host_header;
    info.request_path = path;
    info.stripped_prefix = ctx.route->strip_path ? std::string_view(matched_prefix) : std::string_view{};
    proxy::set_forwarded_headers(req, info);

    if (rt.plugins)
        co_await rt.plugins->run_access(ctx);

    out.exit = std::move(ctx.exit);
    out.upstream_authorization_bytes = req[http::field::authorization].size();
}

/// Runs one request to completion on `io` (co_spawn + run + restart).
void drive(net::io_context& io, const server::runtime& rt, const std::string* token, request_outcome& out)
{
    std::exception_ptr failure;
    net::co_spawn(io, one_request(rt, token, out), [&failure](std::exception_ptr e) { failure = e; });
    io.run();
    io.restart();
    if (failure)
        std::rethrow_exception(failure);
}

/// Checks that a request went through the way the scenario expects.
bool check(benchmark::State& state, const request_outcome& out, bool expect_signed)
{
    if (!out.routed) {
        state.SkipWithError("request did not match a route");
        return false;
    }
    if (out.exit) {
        state.SkipWithError(("plugin answered " + std::to_string(out.exit->status) + ": " + out.exit->body).c_str());
        return false;
    }
    if (expect_signed && out.upstream_authorization_bytes < 20) {
        state.SkipWithError("no re-signed token upstream");
        return false;
    }
    return true;
}

void run_scenario(benchmark::State& state, const server::runtime* rt, const std::vector<std::string>* tokens,
                  bool expect_signed)
{
    if (!rt)
        return;
    net::io_context io;
    request_outcome warm;
    // Warm-up: fetches the JWKS, creates keys, fills lazy state.
    for (std::size_t i = 0; i < (tokens ? tokens->size() : 1) && i < 4; ++i) {
        warm = {};
        drive(io, *rt, tokens ? &(*tokens)[i] : nullptr, warm);
        if (!check(state, warm, expect_signed))
            return;
    }
    std::size_t next = 0;
    for (auto _ : state) {
        request_outcome out;
        const std::string* token = nullptr;
        if (tokens) {
            token = &(*tokens)[next];
            next = next + 1 == tokens->size() ? 0 : next + 1;
        }
        drive(io, *rt, token, out);
        if (!check(state, out, expect_signed))
            break;
    }
    state.SetItemsProcessed(state.iterations());
}

// --- Benchmarks --------------------------------------------------------------

net::awaitable<void> nothing() { co_return; }

void bm_io_roundtrip(benchmark::State& state)
{
    net::io_context io;
    for (auto _ : state) {
        net::co_spawn(io, nothing(), net::detached);
        io.run();
        io.restart();
    }
    state.SetItemsProcessed(state.iterations());
}

void bm_no_plugins(benchmark::State& state)
{
    run_scenario(state, runtime_for(state, "none", nullptr), nullptr, false);
}

void bm_resign_only_es256(benchmark::State& state)
{
    const json conf = {{"verify_access_token_signature", false},
                       {"access_token_signing_algorithm", "ES256"},
                       {"access_token_issuer", "https://gateway.bench"}};
    const auto* rt = runtime_for(state, "resign-es256", &conf, state.range(1) != 0);
    const auto& tokens = bench_env::get().tokens_for(static_cast<std::size_t>(state.range(0)));
    const std::vector<std::string> used(tokens.begin(), tokens.begin() + state.range(0));
    run_scenario(state, rt, &used, true);
}

void bm_verify_rs256(benchmark::State& state, const char* signing_alg)
{
    auto& env = bench_env::get();
    const json conf = {{"access_token_jwks_uri", env.jwks_uri()},
                       {"access_token_issuers_allowed", json::array({"https://idp.bench"})},
                       {"access_token_audiences_allowed", json::array({"orders-api"})},
                       {"access_token_scopes_required", json::array({"orders:read"})},
                       {"access_token_signing_algorithm", signing_alg},
                       {"access_token_issuer", "https://gateway.bench"}};
    const auto* rt = runtime_for(state, std::string("verify-") + signing_alg, &conf, state.range(1) != 0);
    const auto& tokens = env.tokens_for(static_cast<std::size_t>(state.range(0)));
    const std::vector<std::string> used(tokens.begin(), tokens.begin() + state.range(0));
    run_scenario(state, rt, &used, true);
}

BENCHMARK(bm_io_roundtrip)->Name("io_roundtrip");
BENCHMARK(bm_no_plugins)->Name("pipeline/no_plugins");
// {distinct tokens, token caches on}
BENCHMARK(bm_resign_only_es256)
    ->Name("pipeline/resign_only_es256")
    ->ArgNames({"tokens", "cache"})
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({1, 0});
BENCHMARK_CAPTURE(bm_verify_rs256, es256, "ES256")
    ->Name("pipeline/verify_rs256_sign_es256")
    ->ArgNames({"tokens", "cache"})
    ->Args({1, 1})
    ->Args({1000, 1})
    ->Args({1, 0});
BENCHMARK_CAPTURE(bm_verify_rs256, rs256, "RS256")
    ->Name("pipeline/verify_rs256_sign_rs256")
    ->ArgNames({"tokens", "cache"})
    ->Args({1, 1})
    ->Args({1, 0});

}  // namespace

int main(int argc, char** argv)
{
    spdlog::set_level(spdlog::level::warn);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
