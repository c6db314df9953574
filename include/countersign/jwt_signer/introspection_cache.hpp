// Node-wide cache of introspection answers (Kong `cache_{t}_introspection`),
// in front of an introspection_client.
//
// Key: SHA-256 of (endpoint, token, hint, authorization, body args), each
// length-prefixed (Kong concatenates raw, which lets two field splits collide).
// TTL of an active answer: `expires_in`, else `exp - now`, else
// `default_ttl`; always capped by `max_ttl`; an answer whose `exp` has passed
// is not cached, and a hit past its `exp` is dropped. Inactive answers are
// cached for `inactive_ttl` only (Kong caches them like active ones, so a
// revoked token could stay trusted, and a re-activated one refused, for the
// default TTL). Network and HTTP failures are never cached.
//
// Concurrent misses for one key make one call (single_flight). Entries live
// in N shards, each an LRU with its own lock; the size bound is global
// (max_entries split evenly over the shards).
#pragma once

#include <countersign/core/clock.hpp>
#include <countersign/core/net.hpp>
#include <countersign/jwt_signer/introspection_client.hpp>
#include <countersign/jwt_signer/single_flight.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace countersign::jwt_signer {

struct introspection_cache_config {
    /// Upper bound on cached answers (LRU eviction beyond).
    std::size_t max_entries = 10000;
    /// Number of independently locked shards.
    std::size_t shards = 16;
    /// No answer is cached longer than this.
    std::chrono::seconds max_ttl{3600};
    /// TTL of an active answer with neither `expires_in` nor `exp`.
    std::chrono::seconds default_ttl{60};
    /// TTL of an inactive answer (0 = not cached).
    std::chrono::seconds inactive_ttl{5};
};

struct introspection_cache_stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    /// Calls made to the introspection client.
    std::uint64_t calls = 0;
    std::uint64_t evictions = 0;
    std::size_t entries = 0;
};

/// @par Thread safety
/// All members may be called concurrently from any thread. The cache must
/// outlive every call.
class introspection_cache {
public:
    /// @param client the seam; null = an http_introspection_client on http_client::client::shared().
    explicit introspection_cache(std::shared_ptr<introspection_client> client = nullptr,
                                 const clock& clk = clock::system(), introspection_cache_config config = {});
    ~introspection_cache();
    introspection_cache(const introspection_cache&) = delete;
    introspection_cache& operator=(const introspection_cache&) = delete;

    /// Introspects `req.token`, answering from the cache when `use_cache`
    /// (Kong `cache_{t}_introspection`) and a live entry exists.
    /// @return the active token's JSON object, `introspection_error::inactive`,
    ///   or the call's failure.
    net::awaitable<result<std::shared_ptr<const nlohmann::json>>> introspect(introspection_request req,
                                                                              bool use_cache = true);

    /// The cache key of a request (32 raw bytes of SHA-256).
    static std::string cache_key(const introspection_request& req);

    /// TTL for an answer: see the file comment. Zero = do not cache.
    std::chrono::seconds ttl_for(const result<std::shared_ptr<const nlohmann::json>>& answer) const;

    introspection_cache_stats stats() const;
    /// Drops every entry (config reload).
    void clear();

private:
    struct shard;
    using value_type = std::shared_ptr<const nlohmann::json>;

    shard& shard_for(const std::string& key) const;
    bool lookup(const std::string& key, result<value_type>& out);
    void store(const std::string& key, const result<value_type>& answer);

    std::shared_ptr<introspection_client> client_;
    const clock& clock_;
    introspection_cache_config config_;
    std::size_t per_shard_;
    std::unique_ptr<shard[]> shards_;
    single_flight<value_type> flights_;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> calls_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace countersign::jwt_signer
