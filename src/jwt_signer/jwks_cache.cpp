#include <countersign/jwt_signer/jwks_cache.hpp>

#include <countersign/jwt_signer/token_cache.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace countersign::jwt_signer {

namespace {

using steady_tp = std::chrono::steady_clock::time_point;

// Sources are keyed by URI plus everything that changes what the fetch may
// return (TLS trust, client identity, credentials), so two configs that trust
// the IdP differently never share keys. Secrets enter the key only hashed.
std::string source_key(std::string_view uri, const jwks_source_options& o)
{
    std::string material;
    auto add = [&](std::string_view s) {
        material += std::to_string(s.size());
        material += ':';
        material += s;
    };
    material += o.tls.verify ? 'v' : 'n';
    add(o.tls.ca_file);
    add(o.tls.ca_pem);
    add(o.tls.client_cert_file);
    add(o.tls.client_cert_pem);
    add(o.tls.client_key_file);
    add(o.tls.client_key_pem);
    material += o.basic ? 'b' : '-';
    if (o.basic) {
        add(o.basic->username);
        add(o.basic->password);
    }
    // Runs on every verification that misses the verified-token cache:
    // digest_token's fetched SHA-256 and per-thread context, not
    // EVP_Digest, which fetches the algorithm and allocates a context per
    // call. (If hashing ever failed, digest_token's answer is unique to the
    // call: sources would not be shared, never shared wrongly.)
    const token_digest digest = digest_token(material);
    std::string key;
    key.reserve(uri.size() + 1 + 2 * digest.size());
    key.append(uri);
    key += '\n';
    static constexpr char hex[] = "0123456789abcdef";
    for (unsigned char b : digest) {
        key += hex[b >> 4];
        key += hex[b & 15];
    }
    return key;
}

std::optional<std::pair<std::shared_ptr<const jose::jwk>, key_match_kind>> select_in(const jose::jwk_set& set,
                                                                                     const key_query& q)
{
    auto alg_ok = [&](const jose::jwk& k) { return !q.alg || !k.algorithm() || *k.algorithm() == *q.alg; };
    if (!q.kid.empty()) {
        if (auto k = set.find_by_kid(q.kid)) {
            // kids are unique in a parsed set, so "kid+alg, then kid" only
            // differs in how the match is reported.
            const bool same_alg = q.alg && k->algorithm() && *k->algorithm() == *q.alg;
            return std::make_pair(k, same_alg ? key_match_kind::kid_and_alg : key_match_kind::kid);
        }
    }
    if (!q.x5t.empty()) {
        if (auto k = set.find_by_x5t(q.x5t); k && alg_ok(*k))
            return std::make_pair(k, key_match_kind::x5t);
    }
    if (!q.x5t_s256.empty()) {
        if (auto k = set.find_by_x5t_s256(q.x5t_s256); k && alg_ok(*k))
            return std::make_pair(k, key_match_kind::x5t);
    }
    return std::nullopt;
}

std::shared_ptr<const jose::jwk> first_with_alg(const jose::jwk_set& set, jose::alg a)
{
    for (const auto& k : set.keys())
        if (k->algorithm() && *k->algorithm() == a)
            return k;
    return nullptr;
}

}  // namespace

//------------------------------------------------------------------------------

std::optional<key_match> select_key(const std::shared_ptr<const jwks_snapshot>& snapshot, const key_query& q,
                                    bool search_previous, bool alg_fallback)
{
    if (!snapshot || !snapshot->current)
        return std::nullopt;
    const jose::jwk_set* gens[2] = {snapshot->current.get(),
                                    search_previous ? snapshot->previous.get() : nullptr};
    for (int g = 0; g < 2; ++g) {
        if (!gens[g])
            continue;
        if (auto found = select_in(*gens[g], q))
            return key_match{found->first, found->second, g == 1, snapshot};
    }
    if (alg_fallback && q.alg) {
        for (int g = 0; g < 2; ++g) {
            if (!gens[g])
                continue;
            if (auto k = first_with_alg(*gens[g], *q.alg))
                return key_match{k, key_match_kind::alg_fallback, g == 1, snapshot};
        }
    }
    return std::nullopt;
}

//------------------------------------------------------------------------------

struct jwks_cache::source {
    std::string key;
    std::string uri;

    mutable std::mutex mutex;
    snapshot_ptr snapshot;
    std::uint64_t attempts = 0;  // completed fetch attempts
    bool last_failed = false;
    error_code last_error;
    steady_tp last_attempt{};
    steady_tp last_success{};
    std::optional<steady_tp> expires_at;  // from max-age

    std::atomic<std::uint64_t> fetch_ok{0};
    std::atomic<std::uint64_t> fetch_failed{0};
    std::atomic<std::uint64_t> unknown_kid_refetches{0};
    std::atomic<std::uint64_t> refetch_throttled{0};
};

jwks_cache::jwks_cache(const clock& clk, jwks_cache_config config, std::shared_ptr<jwks_fetcher> fetcher)
    : clock_(clk), config_(std::move(config)),
      fetcher_(fetcher ? std::move(fetcher) : std::make_shared<http_jwks_fetcher>())
{
}

jwks_cache::~jwks_cache() = default;

std::shared_ptr<jwks_cache::source> jwks_cache::source_for(std::string_view uri, const jwks_source_options& options,
                                                           bool create) const
{
    auto key = source_key(uri, options);
    std::lock_guard lock(mutex_);
    auto it = sources_.find(key);
    if (it != sources_.end())
        return it->second;
    if (!create)
        return nullptr;
    auto src = std::make_shared<source>();
    src->key = key;
    src->uri = std::string(uri);
    sources_.emplace(std::move(key), src);
    return src;
}

net::awaitable<result<jwks_cache::snapshot_ptr>> jwks_cache::get(std::string uri, jwks_source_options options)
{
    auto src = source_for(uri, options, true);
    const auto now = clock_.steady_now();
    snapshot_ptr snap;
    bool due = false;
    bool backoff = false;
    std::uint64_t observed = 0;
    {
        std::lock_guard lock(src->mutex);
        snap = src->snapshot;
        observed = src->attempts;
        backoff = src->last_failed && now - src->last_attempt < config_.failure_backoff;
        if (snap) {
            due = (options.rotate_period.count() > 0 && now - src->last_success >= options.rotate_period) ||
                  (src->expires_at && now >= *src->expires_at);
        }
    }
    if (snap && (!due || backoff))
        co_return snap;
    if (!snap && backoff)
        co_return make_error_code(jwks_error::unavailable);

    auto fetched = co_await fetch(src, std::move(options), observed, false);
    if (fetched)
        co_return *fetched;
    if (snap)
        co_return snap;  // stale keys keep serving
    co_return fetched.error();
}

net::awaitable<result<jwks_cache::snapshot_ptr>> jwks_cache::refresh(std::string uri, jwks_source_options options)
{
    auto src = source_for(uri, options, true);
    // An observed count that can never match forces the producer to fetch.
    co_return co_await fetch(src, std::move(options), ~std::uint64_t{0}, false);
}

net::awaitable<result<key_match>> jwks_cache::find_key(std::string uri, jwks_source_options options, key_query query)
{
    auto snap = co_await get(uri, options);
    if (!snap)
        co_return snap.error();
    if (auto m = select_key(*snap, query, config_.search_previous_generation, false))
        co_return *m;

    snapshot_ptr current = *snap;
    if (!query.kid.empty() || !query.x5t.empty() || !query.x5t_s256.empty()) {
        auto src = source_for(uri, options, true);
        const auto now = clock_.steady_now();
        bool allowed = false;
        std::uint64_t observed = 0;
        {
            std::lock_guard lock(src->mutex);
            observed = src->attempts;
            const bool throttled = src->snapshot && now - src->last_success < config_.unknown_kid_refetch_interval;
            const bool backoff = src->last_failed && now - src->last_attempt < config_.failure_backoff;
            allowed = !throttled && !backoff;
        }
        if (allowed) {
            auto fetched = co_await fetch(src, options, observed, true);
            if (fetched) {
                current = *fetched;
                if (auto m = select_key(current, query, config_.search_previous_generation, false))
                    co_return *m;
            }
        } else {
            ++src->refetch_throttled;
        }
    }
    if (auto m = select_key(current, query, config_.search_previous_generation, true))
        co_return *m;
    co_return make_error_code(jwks_error::key_not_found);
}

net::awaitable<result<jwks_cache::snapshot_ptr>> jwks_cache::fetch(std::shared_ptr<source> src,
                                                                   jwks_source_options options,
                                                                   std::uint64_t observed_attempts, bool unknown_kid)
{
    auto producer = [this, src, options = std::move(options), observed_attempts,
                     unknown_kid]() -> net::awaitable<result<snapshot_ptr>> {
        // A caller that looked before another flight finished must not fetch
        // again: it gets what that flight produced.
        {
            std::unique_lock lock(src->mutex);
            if (observed_attempts != ~std::uint64_t{0} && src->attempts != observed_attempts) {
                if (!src->last_failed && src->snapshot)
                    co_return src->snapshot;
                if (src->last_failed)
                    co_return src->last_error;
            }
        }

        auto doc = co_await fetcher_->fetch(src->uri, options);
        const auto now = clock_.steady_now();
        if (!doc) {
            bool stale = false;
            {
                std::lock_guard lock(src->mutex);
                ++src->attempts;
                src->last_attempt = now;
                src->last_failed = true;
                src->last_error = doc.error();
                stale = src->snapshot != nullptr;
            }
            ++src->fetch_failed;
            spdlog::warn("jwks: fetching {} failed: {}{}", src->uri, doc.error().message(),
                         stale ? " (still serving the cached keys)" : "");
            co_return doc.error();
        }

        std::vector<std::string> skipped;
        auto set = std::make_shared<const jose::jwk_set>(jose::jwk_set::parse(doc->jwks, config_.key_policy, &skipped));
        for (const auto& why : skipped)
            spdlog::warn("jwks: {}: skipped a key: {}", doc->jwks_uri, why);

        auto snap = std::make_shared<jwks_snapshot>();
        snap->current = std::move(set);
        snap->generation = next_generation_++;
        snap->fetched_at = now;
        snap->jwks_uri = std::move(doc->jwks_uri);
        std::optional<steady_tp> expires;
        if (config_.honour_max_age && doc->max_age)
            expires = now + std::clamp(*doc->max_age, config_.min_max_age, config_.max_max_age);
        {
            std::lock_guard lock(src->mutex);
            snap->previous = src->snapshot ? src->snapshot->current : nullptr;
            src->snapshot = snap;
            ++src->attempts;
            src->last_attempt = now;
            src->last_success = now;
            src->last_failed = false;
            src->last_error = {};
            src->expires_at = expires;
        }
        changes_.fetch_add(1, std::memory_order_acq_rel);
        ++src->fetch_ok;
        if (unknown_kid)
            ++src->unknown_kid_refetches;
        spdlog::debug("jwks: fetched {} ({} keys, generation {})", snap->jwks_uri, snap->current->size(),
                      snap->generation);
        co_return snapshot_ptr(std::move(snap));
    };
    co_return co_await flights_.run(src->key, std::move(producer));
}

std::shared_ptr<const jwks_snapshot> jwks_cache::peek(std::string_view uri, const jwks_source_options& options) const
{
    auto src = source_for(uri, options, false);
    if (!src)
        return nullptr;
    std::lock_guard lock(src->mutex);
    return src->snapshot;
}

std::vector<jwks_source_stats> jwks_cache::stats() const
{
    std::vector<std::shared_ptr<source>> all;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [key, src] : sources_)
            all.push_back(src);
    }
    std::vector<jwks_source_stats> out;
    for (const auto& src : all) {
        jwks_source_stats s;
        s.uri = src->uri;
        s.fetch_ok = src->fetch_ok;
        s.fetch_failed = src->fetch_failed;
        s.unknown_kid_refetches = src->unknown_kid_refetches;
        s.refetch_throttled = src->refetch_throttled;
        std::lock_guard lock(src->mutex);
        if (src->snapshot) {
            s.keys = src->snapshot->current->size();
            s.generation = src->snapshot->generation;
        }
        out.push_back(std::move(s));
    }
    return out;
}

void jwks_cache::clear()
{
    {
        std::lock_guard lock(mutex_);
        sources_.clear();
    }
    changes_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace countersign::jwt_signer
