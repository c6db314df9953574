// The jwt-signer plugin: orchestration of the per-token building blocks.
#include <countersign/jwt_signer/jwt_signer_plugin.hpp>

#include <countersign/jwt_signer/auth_response.hpp>
#include <countersign/jwt_signer/jwt_signer_metrics.hpp>
#include <countersign/jwt_signer/jwt_signer_schema.hpp>
#include <countersign/jwt_signer/token_minter.hpp>

#include <boost/asio/this_coro.hpp>

#include <spdlog/spdlog.h>

namespace countersign::jwt_signer {

namespace {

constexpr token_kind kinds[] = {token_kind::access, token_kind::channel};

int index_of(token_kind k) { return k == token_kind::access ? 0 : 1; }

auth_errc errc_for_signing(const boost::system::error_code& ec)
{
    if (ec == keys_errc::no_key_for_alg) return auth_errc::signing_key_missing;
    return auth_errc::signing_failed;
}

std::string scheme_prefix(auth_scheme s)
{
    switch (s) {
    case auth_scheme::bearer: return "Bearer ";
    case auth_scheme::basic: return "Basic ";
    case auth_scheme::none: break;
    }
    return {};
}

}  // namespace

pipeline::plugin_descriptor jwt_signer_plugin::descriptor()
{
    pipeline::plugin_descriptor d;
    d.name = std::string(plugin_name);
    d.priority = plugin_priority;
    d.version = "3.15.0";
    d.schema = jwt_signer_schema();
    d.create = [](const config::plugin_config& pc, pipeline::plugin_services& services)
        -> result<std::shared_ptr<const pipeline::plugin>> {
        auto report = [&](std::string msg) {
            if (services.errors) services.errors->add(services.error_path, std::move(msg));
        };
        if (!services.jwt_signer) {
            auto opened = jwt_signer_services::open(services.data_dir, *services.clk,
                                                     std::chrono::duration_cast<std::chrono::seconds>(services.jwks_refetch_throttle));
            if (!opened) {
                report("jwt-signer: cannot load the signing keys: " + opened.error().message);
                return opened.error().code;
            }
            services.jwt_signer = *opened;
        }
        const std::size_t before = services.errors ? services.errors->size() : 0;
        auto cfg = jwt_signer_config::from_json(pc.config, services.errors, services.error_path + ".config");
        if (services.errors && services.errors->size() != before)
            return make_error_code(boost::system::errc::invalid_argument);

        // Named keysets are generated (or loaded) now, at load time, so no
        // request ever waits for key generation.
        for (auto k : kinds) {
            const auto& s = cfg.slot(k).signing;
            if (!s.enabled || s.keyset_is_url) continue;
            auto ks = services.jwt_signer->keysets().get_or_create(s.keyset, cfg.keyset_generation);
            if (!ks) {
                report("jwt-signer: keyset '" + s.keyset + "': " + ks.error().message);
                return ks.error().code;
            }
        }
        return std::shared_ptr<const pipeline::plugin>(
            std::make_shared<jwt_signer_plugin>(std::move(cfg), services.jwt_signer, *services.clk,
                                                services.token_cache_size));
    };
    return d;
}

jwt_signer_plugin::jwt_signer_plugin(jwt_signer_config cfg, std::shared_ptr<jwt_signer_services> services,
                                     const clock& clk, std::size_t token_cache_size)
    : cfg_(std::move(cfg)), services_(std::move(services)), clock_(clk)
{
    for (auto k : kinds) {
        auto& rt = k == token_kind::access ? access_ : channel_;
        rt.cfg = &cfg_.slot(k);
        std::shared_ptr<introspection_cache> ic;
        if (services_ && rt.cfg->introspection.enabled && !rt.cfg->introspection.endpoint.empty())
            ic = services_->introspection(rt.cfg->introspection.cache_max_ttl,
                                          rt.cfg->introspection.cache_inactive_ttl);
        rt.authenticator = std::make_unique<token_authenticator>(
            *rt.cfg, services_ ? services_->jwks() : nullptr, std::move(ic), clock_, token_cache_size);
        rt.transform = std::make_unique<claims_transform>(rt.cfg->signing.transform);
        if (rt.cfg->signing.enabled) {
            if (token_cache_size > 0) rt.minted = std::make_unique<minted_token_cache>(token_cache_size);
            rt.signings = &jwt_signer_metrics::get().signings.with(
                {rt.cfg->signing.keyset, std::string(jose::to_string(rt.cfg->signing.algorithm))});
        }
    }
}

std::pair<std::size_t, std::size_t> jwt_signer_plugin::cache_sizes(token_kind k) const
{
    const auto& rt = k == token_kind::access ? access_ : channel_;
    return {rt.authenticator->verified_cache_size(), rt.minted ? rt.minted->size() : 0};
}

const jwt_signer_plugin::consumer_mappers& jwt_signer_plugin::mappers(const pipeline::request_context& ctx) const
{
    std::call_once(mappers_once_, [&] {
        // The config outlives this plugin instance (both belong to one
        // runtime generation), so a non-owning pointer is safe here.
        config::gateway_config_ptr cfg;
        if (ctx.config)
            cfg = config::gateway_config_ptr(ctx.config, [](const config::gateway_config*) {});
        else
            cfg = std::make_shared<config::gateway_config>();
        mappers_.table = std::make_shared<consumer_table>(cfg);
        for (auto k : kinds) {
            const auto& slot = cfg_.slot(k);
            mappers_.by_slot[index_of(k)][0] = std::make_unique<consumer_mapper>(slot.introspection_consumer, mappers_.table);
            mappers_.by_slot[index_of(k)][1] = std::make_unique<consumer_mapper>(slot.payload_consumer, mappers_.table);
        }
    });
    return mappers_;
}

void jwt_signer_plugin::reject(pipeline::request_context& ctx, token_kind kind, const auth_status& st,
                               claim_source source, step_timer& timer) const
{
    const std::string realm = resolve_realm(cfg_.realm, std::string_view(ctx.host));
    jwt_signer_metrics::get().result(kind, st.code).inc();
    auto answer = make_auth_response(st.code, kind, realm, source);
    spdlog::info("jwt-signer: {} rejected ({} {}): {}{}", token_display_name(kind), answer.status,
                 to_metric_label(st.code), st.detail, ctx.request_id.empty() ? "" : " [request: " + ctx.request_id + "]");
    timer.mark(token_display_name(kind), " rejected: ", to_metric_label(st.code));
    pipeline::exit_response r;
    r.status = answer.status;
    r.body = std::move(answer.body);
    r.content_type = "application/json; charset=utf-8";
    r.headers.emplace_back("WWW-Authenticate", std::move(answer.www_authenticate));
    ctx.exit = std::move(r);
}

bool jwt_signer_plugin::rotation_check_due(int slot, std::chrono::seconds period) const
{
    if (period.count() <= 0) return false;
    const std::int64_t now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.steady_now().time_since_epoch()).count();
    auto& after = rotation_check_after_[slot];
    std::int64_t due = after.load(std::memory_order_relaxed);
    if (now < due) return false;
    // One request (of any worker) per second wins the check.
    return after.compare_exchange_strong(due, now + std::int64_t{1'000'000'000}, std::memory_order_relaxed);
}

net::awaitable<result<keyset_ptr>> jwt_signer_plugin::url_signing_keyset(const signing_settings& s, int slot,
                                                                          std::string& why) const
{
    auto ex = co_await net::this_coro::executor;
    auto ks = co_await services_->url_keyset(s.keyset, s.keyset_fetch, false);
    if (!ks) {
        why = ks.error().message;
        co_return ks.error().code;
    }
    if (rotation_check_due(slot, s.keyset_rotate_period))
        services_->maybe_rotate(s.keyset, s.keyset_rotate_period, &s.keyset_fetch, ex);
    co_return *ks;
}

result<keyset_ptr> jwt_signer_plugin::named_signing_keyset(const signing_settings& s, int slot,
                                                           std::string& why) const
{
    auto ks = services_->keysets().find(s.keyset);
    if (!ks) {
        // Deleted through the admin API since load: Kong regenerates it on
        // next use. Generation is slow but this happens once per deletion.
        auto made = services_->keysets().get_or_create(s.keyset, cfg_.keyset_generation);
        if (!made) {
            why = made.error().message;
            return made.error().code;
        }
        ks = *made;
    }
    if (rotation_check_due(slot, s.keyset_rotate_period))
        services_->maybe_rotate(s.keyset, s.keyset_rotate_period, nullptr, {});
    return ks;
}

net::awaitable<void> jwt_signer_plugin::access(pipeline::request_context& ctx) const
{
    step_timer timer(cfg_.enable_instrumentation);
    if (!ctx.request) co_return;
    auto& req = *ctx.request;

    // Headers written after both slots ran, so removing the channel token's
    // request header cannot drop the signed access token (Kong 3.12.0.11 fix).
    std::vector<std::pair<std::string, std::string>> to_set;
    const config::consumer_config* consumer = nullptr;

    for (auto k : kinds) {
        const auto& rt = k == token_kind::access ? access_ : channel_;
        const auto& slot = *rt.cfg;
        const std::string name(token_display_name(k));

        // The token is copied out of the header before the header goes.
        const bool look = slot.extractor.location().configured();
        auto it = look ? req.find(slot.extractor.location().header_name) : req.end();
        auto ext = slot.extractor.extract_value(it != req.end() ? std::optional<std::string_view>(it->value())
                                                                : std::nullopt);
        if (it != req.end()) req.erase(slot.extractor.location().header_name);
        if (!ext.status.ok()) {
            reject(ctx, k, ext.status, claim_source::payload, timer);
            break;
        }
        if (!ext.present) {
            timer.mark(name, " not present");
            continue;
        }
        timer.mark(name, " present");

        // One digest per token: the key of both token caches.
        std::optional<token_digest> digest;
        if (rt.minted || rt.authenticator->verified_cache_enabled()) digest = digest_token(ext.token);
        // A warm token is served without a coroutine frame.
        std::optional<slot_outcome> cached;
        if (digest) cached = rt.authenticator->authenticate_cached(*digest, timer);
        slot_outcome outcome;
        if (cached)
            outcome = std::move(*cached);
        else
            outcome = co_await rt.authenticator->authenticate_uncached(ext.token, timer, digest ? &*digest : nullptr);
        if (!outcome.status.ok()) {
            reject(ctx, k, outcome.status, outcome.failed_source, timer);
            break;
        }

        // Consumer mapping: once per request, introspection before payload.
        if (!consumer) {
            const auto& m = mappers(ctx);
            auth_status failed_status;
            claim_source failed_source = claim_source::payload;
            for (int src = 0; src < 2 && !consumer && failed_status.ok(); ++src) {
                const auto& mapper = *m.by_slot[index_of(k)][src];
                if (!mapper.enabled()) continue;
                const nlohmann::json* doc = src == 0 ? outcome.introspection.get() : outcome.payload.get();
                if (!doc) continue;  // not introspected: no introspection mapping
                auto match = mapper.map(*doc);
                if (!match.status.ok()) {
                    failed_status = match.status;
                    failed_source = src == 0 ? claim_source::introspection : claim_source::payload;
                } else {
                    consumer = match.consumer;
                }
            }
            if (!failed_status.ok()) {
                reject(ctx, k, failed_status, failed_source, timer);
                break;
            }
            if (consumer) timer.mark(name, " mapped to consumer ", consumer->username);
        }

        // Re-signing.
        if (slot.signing.enabled) {
            std::string why;
            result<keyset_ptr> ks = keyset_ptr{};
            if (slot.signing.keyset_is_url)
                ks = co_await url_signing_keyset(slot.signing, index_of(k), why);
            else
                ks = named_signing_keyset(slot.signing, index_of(k), why);
            if (!ks) {
                reject(ctx, k, auth_fail(auth_errc::keyset_unavailable, "signing keyset: " + why),
                       claim_source::payload, timer);
                break;
            }
            const auto now = clock_.unix_seconds();
            const nlohmann::json* answer = outcome.introspection.get();
            std::optional<minted_entry> reuse;
            if (rt.minted && digest) reuse = rt.minted->find(*digest, now, *ks, answer);
            if (reuse) {
                jwt_signer_metrics::get().minted_hits.inc();
                timer.mark(name, " re-signed token from the cache (kid ", reuse->kid, ")");
                to_set.emplace_back(slot.signing.upstream_header.header_name, std::move(reuse->header_value));
            } else {
                auto minted = resign(*outcome.payload, outcome.payload_source, *rt.transform, **ks,
                                     slot.signing.algorithm, now);
                if (!minted) {
                    reject(ctx, k, auth_fail(errc_for_signing(minted.error()), "signing: " + minted.error().message()),
                           claim_source::payload, timer);
                    break;
                }
                if (rt.signings) rt.signings->inc();
                timer.mark(name, " signed (kid ", minted->kid, ")");
                std::string header_value = scheme_prefix(slot.signing.upstream_header.scheme) + minted->token;
                if (rt.minted && digest) {
                    jwt_signer_metrics::get().minted_misses.inc();
                    std::optional<std::int64_t> original_exp;
                    if (auto it = outcome.payload->find("exp"); it != outcome.payload->end() && it->is_number())
                        original_exp = static_cast<std::int64_t>(it->get<double>());
                    minted_entry e;
                    e.header_value = header_value;
                    e.kid = minted->kid;
                    e.signer = *ks;
                    e.introspection = answer;
                    e.introspection_owner = outcome.introspection;
                    rt.minted->store(*digest, std::move(e), now, original_exp, minted->exp);
                }
                to_set.emplace_back(slot.signing.upstream_header.header_name, std::move(header_value));
            }
        }
        if (!slot.signing.original_upstream_header.empty())
            to_set.emplace_back(slot.signing.original_upstream_header, ext.token);
        jwt_signer_metrics::get().result(k, auth_errc::ok).inc();
    }

    if (!ctx.exit) {
        for (auto& [h, v] : to_set) req.set(h, v);
        if (consumer) {
            ctx.consumer = consumer;
            ctx.credential_id = consumer->id;
            ctx.authenticated_by = std::string(plugin_name);
        }
    }
    if (timer.enabled()) {
        for (const auto& line : timer.lines())
            spdlog::info("jwt-signer: {}{}", ctx.request_id.empty() ? "" : "[request: " + ctx.request_id + "] ", line);
    }
}

}  // namespace countersign::jwt_signer
