// Node-wide cache of remote JWKS, shared by all worker threads.
//
// One entry ("source") per JWKS URI and connection options. A source is
// fetched lazily, on the first request that needs it: constructing the cache
// or validating a config does no network I/O. After that:
//  - concurrent requests that need a fetch share one (single_flight) and wait
//    as suspended coroutines;
//  - the set is refetched when older than the caller's rotate_period
//    (Kong `{t}_jwks_uri_rotate_period`), or when its Cache-Control max-age
//    (clamped to [min_max_age, max_max_age]) has run out;
//  - an unknown kid / x5t triggers one refetch, at most once per
//    `unknown_kid_refetch_interval` (Kong: 300 s) per source;
//  - a failed fetch keeps the old set serving ("stale keys"), and no new
//    attempt is made for `failure_backoff`, so a dead IdP costs nothing per
//    request;
//  - each successful fetch moves the current set to "previous" (Kong keeps
//    one previous generation and searches it after the current one).
// Keys are parsed once per fetch into ready jose::jwk objects.
#pragma once

#include <countersign/core/clock.hpp>
#include <countersign/core/net.hpp>
#include <countersign/jose/alg.hpp>
#include <countersign/jose/jwk.hpp>
#include <countersign/jose/jwk_set.hpp>
#include <countersign/jwt_signer/jwks_fetcher.hpp>
#include <countersign/jwt_signer/single_flight.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace countersign::jwt_signer {

/// Cache-wide policy. Kong has no knobs here; the defaults follow its behaviour.
struct jwks_cache_config {
    /// An unknown kid refetches a source at most this often (Kong: 300 s).
    std::chrono::seconds unknown_kid_refetch_interval{300};
    /// After a failed fetch, no new attempt for this long. Until then
    /// requests use the stale set, or fail fast with `jwks_error::unavailable`
    /// when there is none.
    std::chrono::seconds failure_backoff{10};
    /// Honour `Cache-Control: max-age` on JWKS answers, clamped to [min, max].
    bool honour_max_age = true;
    std::chrono::seconds min_max_age{60};
    std::chrono::seconds max_max_age{86400};
    /// Also search the previous generation of keys (Kong does).
    bool search_previous_generation = true;
    /// How JWKs are imported: fetched sets refuse private and symmetric keys.
    jose::key_policy key_policy = fetched_key_policy();

    static jose::key_policy fetched_key_policy()
    {
        // oct keys are imported (HS* tokens still need enable_hs_signatures,
        // and a set mixing oct and asymmetric keys drops the oct ones);
        // private members of asymmetric keys are refused.
        jose::key_policy p;
        p.allow_symmetric = true;
        p.allow_private = false;
        return p;
    }
};

/// One immutable generation of a source's keys.
struct jwks_snapshot {
    std::shared_ptr<const jose::jwk_set> current;
    /// The set before the last successful fetch (null after the first).
    std::shared_ptr<const jose::jwk_set> previous;
    /// Unique across the cache and increasing: a changed generation means the
    /// keys may have changed (use it to drop verified-token cache entries).
    std::uint64_t generation = 0;
    /// When it was fetched (the cache's clock, steady time).
    std::chrono::steady_clock::time_point fetched_at;
    /// Where the keys came from (after openid-configuration discovery).
    std::string jwks_uri;
};

/// What identifies the key a token wants (from its JOSE header). Owns its
/// strings: it lives in a coroutine frame across suspensions.
struct key_query {
    std::string kid;                // empty = none
    std::optional<jose::alg> alg;   // the header's alg
    std::string x5t;                // empty = none
    std::string x5t_s256;           // empty = none
};

/// How a key was found, in Kong's order.
enum class key_match_kind { kid_and_alg, kid, x5t, alg_fallback };

struct key_match {
    std::shared_ptr<const jose::jwk> key;
    key_match_kind how = key_match_kind::kid;
    /// True when the key came from the previous generation.
    bool from_previous = false;
    /// The snapshot the key came from.
    std::shared_ptr<const jwks_snapshot> snapshot;
};

/// Kong's key selection on one snapshot, without I/O: kid+alg, then kid, then
/// x5t (or x5t#S256) with a compatible alg — in the current generation, then
/// the previous one — and, if `alg_fallback`, the first key whose `alg` equals
/// the token's (keys without `alg` are found only by kid / x5t).
std::optional<key_match> select_key(const std::shared_ptr<const jwks_snapshot>& snapshot, const key_query& q,
                                    bool search_previous, bool alg_fallback);

/// Counters of one source (a copy; the live values are atomics).
struct jwks_source_stats {
    std::string uri;
    std::uint64_t fetch_ok = 0;
    std::uint64_t fetch_failed = 0;
    /// Fetches caused by an unknown kid / x5t.
    std::uint64_t unknown_kid_refetches = 0;
    /// Unknown kid / x5t that did not refetch because of the throttle or backoff.
    std::uint64_t refetch_throttled = 0;
    std::size_t keys = 0;
    std::uint64_t generation = 0;
};

/// @par Thread safety
/// All members may be called concurrently from any thread. The cache must
/// outlive every call (make it node-wide, owned by the server).
class jwks_cache {
public:
    /// @param fetcher the seam; null = an http_jwks_fetcher on http_client::client::shared().
    explicit jwks_cache(const clock& clk = clock::system(), jwks_cache_config config = {},
                        std::shared_ptr<jwks_fetcher> fetcher = nullptr);
    ~jwks_cache();
    jwks_cache(const jwks_cache&) = delete;
    jwks_cache& operator=(const jwks_cache&) = delete;

    /// The keys of `uri`, fetching them when absent or due (rotate_period,
    /// max-age). When a due refetch fails, the stale snapshot is returned.
    /// @return the snapshot, or the fetch error (http_client / jwks_error),
    ///   or `jwks_error::unavailable` within the failure backoff.
    net::awaitable<result<std::shared_ptr<const jwks_snapshot>>> get(std::string uri, jwks_source_options options);

    /// Finds the key for a token: get(), select_key() without fallback, then
    /// (only if the token names a kid or x5t, and the throttle allows) one
    /// refetch and a second look, then the alg fallback.
    /// @return the match, or `jwks_error::key_not_found`, or get()'s error.
    net::awaitable<result<key_match>> find_key(std::string uri, jwks_source_options options, key_query query);

    /// Fetches now, ignoring max-age, rotate period, throttle and backoff
    /// (admin "rotate"). Concurrent callers still share one fetch.
    net::awaitable<result<std::shared_ptr<const jwks_snapshot>>> refresh(std::string uri, jwks_source_options options);

    /// The cached snapshot without any I/O (null when never fetched).
    std::shared_ptr<const jwks_snapshot> peek(std::string_view uri, const jwks_source_options& options) const;

    /// Counters of every source.
    std::vector<jwks_source_stats> stats() const;

    /// Forgets every source (config reload).
    void clear();

    /// Moves on every time any source installs new keys or the cache is
    /// cleared, after the change is visible. A verification result obtained
    /// after reading change_count() == c is stale once it differs from c.
    std::uint64_t change_count() const noexcept { return changes_.load(std::memory_order_acquire); }

private:
    struct source;
    using snapshot_ptr = std::shared_ptr<const jwks_snapshot>;

    std::shared_ptr<source> source_for(std::string_view uri, const jwks_source_options& options, bool create) const;
    net::awaitable<result<snapshot_ptr>> fetch(std::shared_ptr<source> src, jwks_source_options options,
                                               std::uint64_t observed_attempts, bool unknown_kid);

    const clock& clock_;
    jwks_cache_config config_;
    std::shared_ptr<jwks_fetcher> fetcher_;
    mutable std::mutex mutex_;
    mutable std::unordered_map<std::string, std::shared_ptr<source>> sources_;
    single_flight<snapshot_ptr> flights_;
    std::atomic<std::uint64_t> next_generation_{1};
    std::atomic<std::uint64_t> changes_{0};
};

}  // namespace countersign::jwt_signer
