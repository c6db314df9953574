#pragma once
// The hot-path caches of the jwt-signer (issue: authenticate and re-sign at
// plain-proxy speed):
//
//  * verified_token_cache: a JWS whose signature was verified, with its
//    decoded claims. An entry is used only while (a) the token's `exp` plus
//    leeway has not passed, (b) no JWKS of the node changed since it was
//    verified (a refetch that drops the key forces a new verification), and
//    (c) it is younger than a short maximum age, so periodic JWKS refreshes
//    still run. The time checks (exp, nbf) run on every request against
//    the cached claims; the outcome of the other claim checks (issuer,
//    audience, scopes, ...), which depend only on the claims and the slot's
//    configuration, is kept in the entry.
//  * minted_token_cache: the re-signed token for an input token, reused
//    while the keyset generation is the one that signed it (rotation
//    invalidates), the introspection answer is the same object (opaque
//    tokens), and until min(original exp, minted exp) less a margin.
//
// Both are owned by one plugin instance and one token slot, so two plugin
// configurations never share an entry and a config reload (new instances)
// starts empty. Keys are SHA-256 digests of the token. Each cache is split
// into shards with their own mutex and LRU list: no lock is shared by all
// workers, and the size is bounded (LRU eviction).
//
// Both admit a token on its second sighting (a "doorkeeper", as in
// TinyLFU): the first store of a token only notes it in a small Bloom
// filter. A token used once never costs an entry, an allocation or the eviction
// of a token that is in use, so a stream of distinct tokens (every request
// a new token, or a flood of them) neither pays for the caches nor flushes
// the tokens that repeat. The price: a repeated token is verified (and
// re-signed) twice before its entry exists.

#include <countersign/jwt_signer/error.hpp>
#include <countersign/jwt_signer/keyset.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace countersign::observability {
class counter;
}

namespace countersign::jwt_signer {

using token_digest = std::array<unsigned char, 32>;

/// SHA-256 of the token, through the calling thread's digest_memo.
token_digest digest_token(std::string_view token);

/// Remembers the SHA-256 of the last tokens seen, so that a client sending
/// the same token on every request costs a compare, not a hash. A digest is
/// a pure function of the token, so nothing ever invalidates an entry; a hit
/// compares the whole token, so a slot collision only costs a hash. Direct
/// mapped and not thread-safe: one per thread (digest_token's).
class digest_memo {
public:
    static constexpr std::size_t slots = 256;
    /// Longer tokens are hashed every time (bounds the memo to 1 MiB).
    static constexpr std::size_t max_token = 4096;

    token_digest digest(std::string_view token);
    /// Digests served from the memo.
    std::uint64_t hits() const noexcept { return hits_; }
    static std::size_t slot_of(std::string_view token) noexcept;

private:
    struct slot {
        std::string token;
        token_digest digest{};
        bool used = false;
    };
    std::array<slot, slots> slots_{};
    std::uint64_t hits_ = 0;
};

struct token_digest_hash {
    std::size_t operator()(const token_digest& d) const noexcept
    {
        std::size_t h;
        std::memcpy(&h, d.data(), sizeof h);
        return h;
    }
};

/// When put() stores a new key.
enum class admission {
    first_sighting,   ///< every put stores
    second_sighting,  ///< the first put of a key only notes it; a later put stores
};

/// A bounded, sharded LRU map from token digests to V.
template <class V>
class sharded_lru {
public:
    /// `capacity` 0 disables the cache (get always misses, put does nothing).
    /// With admission::second_sighting each shard keeps, next to its LRU
    /// list, a Bloom filter of the keys put once (2 bytes per entry of
    /// capacity, allocated on the shard's first put).
    static constexpr std::size_t default_shards = 16;

    explicit sharded_lru(std::size_t capacity, std::size_t shards = default_shards,
                         admission adm = admission::first_sighting)
        : shards_(capacity == 0 ? 1 : std::max<std::size_t>(1, std::min(shards, capacity))),
          per_shard_(capacity == 0 ? 0 : (capacity + shards_.size() - 1) / shards_.size()),
          admission_(adm),
          filter_bits_(filter_bits_for(per_shard_))
    {
    }

    std::optional<V> get(const token_digest& k)
    {
        if (per_shard_ == 0) return std::nullopt;
        auto& s = shard(k);
        std::lock_guard lock(s.mutex);
        auto it = s.index.find(k);
        if (it == s.index.end()) return std::nullopt;
        s.lru.splice(s.lru.begin(), s.lru, it->second);
        return it->second->second;
    }

    void put(const token_digest& k, V v)
    {
        if (per_shard_ == 0) return;
        auto& s = shard(k);
        std::lock_guard lock(s.mutex);
        auto it = s.index.find(k);
        if (it != s.index.end()) {
            it->second->second = std::move(v);
            s.lru.splice(s.lru.begin(), s.lru, it->second);
            return;
        }
        if (admission_ == admission::second_sighting && !s.seen_before(k, filter_bits_, per_shard_)) return;
        s.lru.emplace_front(k, std::move(v));
        s.index.emplace(k, s.lru.begin());
        while (s.lru.size() > per_shard_) {
            s.index.erase(s.lru.back().first);
            s.lru.pop_back();
        }
    }

    void erase(const token_digest& k)
    {
        auto& s = shard(k);
        std::lock_guard lock(s.mutex);
        auto it = s.index.find(k);
        if (it == s.index.end()) return;
        s.lru.erase(it->second);
        s.index.erase(it);
    }

    void clear()
    {
        for (auto& s : shards_) {
            std::lock_guard lock(s.mutex);
            s.lru.clear();
            s.index.clear();
            s.seen.reset();
            s.noted = 0;
        }
    }

    std::size_t size() const
    {
        std::size_t n = 0;
        for (auto& s : shards_) {
            std::lock_guard lock(s.mutex);
            n += s.lru.size();
        }
        return n;
    }

    std::size_t capacity() const noexcept { return per_shard_ * shards_.size(); }

private:
    struct shard_t {
        mutable std::mutex mutex;
        std::list<std::pair<token_digest, V>> lru;
        std::unordered_map<token_digest, typename std::list<std::pair<token_digest, V>>::iterator, token_digest_hash>
            index;
        /// Doorkeeper: a Bloom filter of the keys put once since it was
        /// last emptied, 16 bits per entry of the shard's capacity, 3 bits
        /// per key. It is emptied after `window` keys were noted, so a key
        /// is admitted when it comes back before that many other new keys
        /// did. (A filter, not one fingerprint slot per key: keys that share
        /// a slot would take turns pushing each other out and never get in.)
        std::unique_ptr<std::uint64_t[]> seen;
        std::size_t noted = 0;

        /// Whether `k` was put before (all its bits are set); if not, notes it.
        /// `bits`: the filter's size (a power of two, at least 64).
        bool seen_before(const token_digest& k, std::size_t bits, std::size_t window)
        {
            if (!seen) seen = std::make_unique<std::uint64_t[]>(bits / 64);
            // Digest bytes 0-7 pick the hash bucket and byte 31 the shard;
            // the filter uses bytes the others do not.
            std::uint64_t h1, h2;
            std::memcpy(&h1, k.data() + 8, sizeof h1);
            std::memcpy(&h2, k.data() + 16, sizeof h2);
            std::size_t bit[3];
            bool all = true;
            for (std::size_t i = 0; i < 3; ++i) {
                bit[i] = static_cast<std::size_t>(h1 + i * h2) & (bits - 1);
                all = all && (seen[bit[i] / 64] >> (bit[i] % 64) & 1) != 0;
            }
            if (all) return true;
            if (noted >= window) {
                std::memset(seen.get(), 0, bits / 8);
                noted = 0;
            }
            for (std::size_t b : bit) seen[b / 64] |= std::uint64_t{1} << (b % 64);
            ++noted;
            return false;
        }
    };
    shard_t& shard(const token_digest& k) { return shards_[k[31] % shards_.size()]; }

    /// 16 bits per entry of a shard's capacity, rounded up to a power of two.
    static std::size_t filter_bits_for(std::size_t per_shard) noexcept
    {
        std::size_t bits = 64;
        while (bits < 16 * per_shard) bits *= 2;
        return bits;
    }

    std::vector<shard_t> shards_;
    std::size_t per_shard_;
    admission admission_;
    std::size_t filter_bits_;
};

struct verified_entry {
    std::shared_ptr<const nlohmann::json> payload;
    /// The outcome of the claim checks that do not depend on the time
    /// (claims_verifier::verify_static) for this payload and this slot's
    /// configuration. The time checks run on every use.
    auth_status static_claims;
    std::uint64_t jwks_change = 0;    ///< jwks_cache::change_count() when verified
    std::int64_t not_after = 0;       ///< unix seconds; unusable from then on
};

class verified_token_cache {
public:
    /// Entries are reused for at most `max_age` seconds.
    verified_token_cache(std::size_t capacity, std::int64_t max_age_seconds = 60,
                         admission adm = admission::second_sighting);

    /// The entry (cached claims and static check outcome), if it is still
    /// usable at `now_unix` with the JWKS change count `jwks_change`; stale
    /// entries are dropped.
    std::optional<verified_entry> find(const token_digest& k, std::int64_t now_unix, std::uint64_t jwks_change);

    /// Remembers verified claims. `exp_limit`: the token's exp plus leeway,
    /// when it has one. `static_claims`: see verified_entry.
    void store(const token_digest& k, std::shared_ptr<const nlohmann::json> payload, std::uint64_t jwks_change,
               std::int64_t now_unix, std::optional<std::int64_t> exp_limit, auth_status static_claims = {});

    void clear() { lru_.clear(); }
    std::size_t size() const { return lru_.size(); }

private:
    sharded_lru<verified_entry> lru_;
    std::int64_t max_age_;
};

struct minted_entry {
    std::string header_value;                  ///< scheme prefix + token
    std::string kid;
    keyset_ptr signer;                         ///< the (immutable) keyset that signed it
    const nlohmann::json* introspection = nullptr;  ///< identity of the answer used (opaque tokens)
    std::shared_ptr<const nlohmann::json> introspection_owner;  ///< keeps that identity unique while cached
    std::int64_t not_after = 0;
};

class minted_token_cache {
public:
    /// `margin`: seconds before the earlier expiry from which an entry is
    /// no longer handed out; `max_age` bounds tokens without any exp.
    minted_token_cache(std::size_t capacity, std::int64_t margin_seconds = 5, std::int64_t max_age_seconds = 300,
                       admission adm = admission::second_sighting);

    std::optional<minted_entry> find(const token_digest& k, std::int64_t now_unix, const keyset_ptr& current,
                                     const nlohmann::json* introspection);

    void store(const token_digest& k, minted_entry e, std::int64_t now_unix, std::optional<std::int64_t> original_exp,
               std::optional<std::int64_t> minted_exp);

    void clear() { lru_.clear(); }
    std::size_t size() const { return lru_.size(); }

private:
    sharded_lru<minted_entry> lru_;
    std::int64_t margin_;
    std::int64_t max_age_;
};

}  // namespace countersign::jwt_signer
