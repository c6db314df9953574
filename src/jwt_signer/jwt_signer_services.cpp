// Node-wide state of the jwt-signer plugin.
#include <countersign/jwt_signer/jwt_signer_services.hpp>

#include <countersign/jwt_signer/file_keystore.hpp>
#include <countersign/jwt_signer/keyset.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/errc.hpp>

#include <spdlog/spdlog.h>

#include <thread>

namespace countersign::jwt_signer {

keys_result<std::shared_ptr<jwt_signer_services>> jwt_signer_services::open(const std::filesystem::path& data_dir,
                                                                            const clock& clk,
                                                                            std::chrono::seconds jwks_refetch_throttle)
{
    auto store = file_keystore::open(data_dir);
    if (!store) return store.error();
    auto svc = std::make_shared<jwt_signer_services>(*store, clk, jwks_refetch_throttle);
    auto loaded = svc->keysets_->load_all();
    if (!loaded) return loaded.error();
    spdlog::info("jwt-signer: {} keyset(s) loaded from {}", *loaded, (*store)->describe());
    return svc;
}

namespace {
jwks_cache_config jwks_config(std::chrono::seconds refetch_throttle)
{
    jwks_cache_config c;
    c.unknown_kid_refetch_interval = refetch_throttle;
    return c;
}
}  // namespace

jwt_signer_services::jwt_signer_services(std::shared_ptr<keystore> store, const clock& clk,
                                         std::chrono::seconds jwks_refetch_throttle)
    : clock_(clk),
      jwks_(std::make_shared<jwks_cache>(clk, jwks_config(jwks_refetch_throttle))),
      keysets_(std::make_shared<keyset_manager>(std::move(store), clk))
{
}

std::shared_ptr<introspection_cache> jwt_signer_services::introspection(std::chrono::seconds max_ttl,
                                                                        std::chrono::seconds inactive_ttl)
{
    std::lock_guard lock(mutex_);
    auto& c = introspection_[{static_cast<long>(max_ttl.count()), static_cast<long>(inactive_ttl.count())}];
    if (!c) {
        introspection_cache_config cfg;
        cfg.max_ttl = max_ttl;
        cfg.inactive_ttl = inactive_ttl;
        cfg.default_ttl = std::min(cfg.default_ttl, max_ttl);
        c = std::make_shared<introspection_cache>(nullptr, clock_, cfg);
    }
    return c;
}

std::optional<keyset_fetch_options> jwt_signer_services::known_fetch_options(std::string_view url) const
{
    std::lock_guard lock(mutex_);
    auto it = fetch_options_.find(url);
    if (it == fetch_options_.end()) return std::nullopt;
    return it->second;
}

net::awaitable<keys_result<nlohmann::json>> jwt_signer_services::fetch_private_jwks(std::string url,
                                                                                     keyset_fetch_options options)
{
    http_client::request_options req;
    req.method = "GET";
    req.url = url;
    req.headers.emplace_back("Accept", "application/json");
    req.tls = options.tls;
    req.basic = options.basic;
    req.connect_timeout = options.connect_timeout;
    req.read_timeout = options.read_timeout;
    auto ex = co_await net::this_coro::executor;
    auto res = co_await http_client::client::shared().request(ex, req);
    if (!res && http_client::is_connection_failure(res.error()))
        res = co_await http_client::client::shared().request(ex, req);
    if (!res)
        co_return make_failure(keys_errc::io_error, "keyset " + url + ": fetch failed: " + res.error().message());
    if (res->status != 200)
        co_return make_failure(keys_errc::io_error,
                               "keyset " + url + ": fetch answered HTTP " + std::to_string(res->status));
    auto doc = nlohmann::json::parse(res->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        co_return make_failure(keys_errc::invalid_keyset, "keyset " + url + ": not a JSON object");
    co_return doc;
}

net::awaitable<keys_result<keyset_ptr>> jwt_signer_services::url_keyset(std::string url, keyset_fetch_options options,
                                                                        bool force)
{
    {
        std::lock_guard lock(mutex_);
        fetch_options_[url] = options;
    }
    if (!force) {
        if (auto ks = keysets_->find(url)) co_return ks;
    }
    // Named locals only around co_await / co_return (GCC 12 coroutine bugs
    // with temporaries).
    jwt_signer_services* self = this;
    auto produce = [self, url, options]() -> net::awaitable<result<keyset_ptr>> {
        auto doc = co_await self->fetch_private_jwks(url, options);
        if (!doc) {
            spdlog::warn("jwt-signer: {}", doc.error().message);
            error_code ec = doc.error().code;
            co_return ec;
        }
        auto ks = self->keysets_->rotate_with(url, *doc);
        if (!ks) {
            spdlog::warn("jwt-signer: {}", ks.error().message);
            error_code ec = ks.error().code;
            co_return ec;
        }
        keyset_ptr out = *ks;
        co_return out;
    };
    std::string key = url;
    result<keyset_ptr> fetched = co_await keyset_flights_.run(std::move(key), std::move(produce));
    if (!fetched) {
        keys_failure f = make_failure(keys_errc::io_error, "keyset " + url + ": " + fetched.error().message());
        co_return f;
    }
    keyset_ptr out = *fetched;
    co_return out;
}

void jwt_signer_services::maybe_rotate(const std::string& name, std::chrono::seconds period,
                                       const keyset_fetch_options* url_options, net::any_io_executor ex)
{
    if (period.count() <= 0) return;
    const auto now_steady = clock_.steady_now();
    {
        std::lock_guard lock(mutex_);
        auto& st = rotations_[name];
        if (st.running || now_steady < st.not_before) return;
        if (!keysets_->due_for_rotation(name, period, clock_.now())) return;
        st.running = true;
    }
    auto finish = [this, name, period](bool ok, const std::string& why) {
        std::lock_guard lock(mutex_);
        auto& st = rotations_[name];
        st.running = false;
        if (ok) {
            st.failures = 0;
            st.not_before = {};
        } else {
            ++st.failures;
            auto delay = rotation_backoff(st.failures, period);
            if (st.failures > rotation_schedule::max_retries) st.failures = 0;
            st.not_before = clock_.steady_now() + delay;
            spdlog::warn("jwt-signer: rotation of keyset '{}' failed ({}), next attempt in {} s", name, why,
                         delay.count());
        }
    };
    if (url_options) {
        auto opts = *url_options;
        net::co_spawn(
            ex,
            [this, name, opts, finish]() -> net::awaitable<void> {
                auto r = co_await url_keyset(name, opts, true);
                finish(bool(r), r ? std::string() : r.error().message);
            },
            net::detached);
        return;
    }
    // Key generation is CPU-bound: keep it off the worker threads.
    auto keysets = keysets_;
    std::thread([keysets, name, finish] {
        auto r = keysets->rotate(name);
        if (r) spdlog::info("jwt-signer: keyset '{}' rotated (generation {})", name, (*r)->generation());
        finish(bool(r), r ? std::string() : r.error().message);
    }).detach();
}

std::vector<std::shared_ptr<introspection_cache>> jwt_signer_services::introspection_caches() const
{
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<introspection_cache>> out;
    for (const auto& [policy, cache] : introspection_) out.push_back(cache);
    return out;
}

void jwt_signer_services::config_reloaded()
{
    // The verified-token and minted-token caches belong to plugin instances,
    // so the new generation's instances start with empty ones; nothing
    // node-wide holds per-token results.
}

}  // namespace countersign::jwt_signer
