#include <countersign/jwt_signer/token_cache.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <memory>

namespace countersign::jwt_signer {

namespace {

bool sha256_of(std::string_view token, token_digest& d)
{
    // A pre-fetched SHA-256 and one context per thread. EVP_Digest
    // (EVP_sha256()) fetched the algorithm and allocated a context on every
    // call, about 10x the cost of hashing a token.
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
    unsigned int len = 0;
    if (!sha256 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), token.data(), token.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), d.data(), &len) != 1) {
        // Never a shared value such as all zeros, which would let any token
        // hit another's cache entry: a per-process unique key that no other
        // call produces, so this request simply misses the caches.
        static std::atomic<std::uint64_t> unique{0};
        d.fill(0xff);
        const std::uint64_t n = ++unique;
        std::memcpy(d.data(), &n, sizeof n);
        return false;
    }
    return true;
}

}  // namespace

std::size_t digest_memo::slot_of(std::string_view token) noexcept
{
    // The last 16 bytes are the signature's (or an opaque token's random)
    // tail. A collision only costs a miss: hits compare the whole token.
    std::uint64_t a = token.size(), b = 0;
    const std::size_t n = std::min<std::size_t>(token.size(), 16);
    char tail[16] = {};
    std::memcpy(tail, token.data() + token.size() - n, n);
    std::memcpy(&a, tail, 8);
    std::memcpy(&b, tail + 8, 8);
    const std::uint64_t h = (a ^ (b << 29 | b >> 35) ^ token.size()) * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(h >> 32) % slots;
}

token_digest digest_memo::digest(std::string_view token)
{
    token_digest d{};
    if (token.size() > max_token) {
        sha256_of(token, d);
        return d;
    }
    auto& s = slots_[slot_of(token)];
    if (s.used && s.token == token) {
        ++hits_;
        return s.digest;
    }
    // Only a successful hash is remembered: a failure's key must stay unique
    // to its call. assign() reuses the slot's buffer.
    s.used = sha256_of(token, d);
    if (s.used) {
        s.token.assign(token);
        s.digest = d;
    }
    return d;
}

token_digest digest_token(std::string_view token)
{
    // Once per request: a keep-alive client sends the same token again and
    // again, so each thread remembers the digests of its last tokens.
    thread_local digest_memo memo;
    return memo.digest(token);
}

verified_token_cache::verified_token_cache(std::size_t capacity, std::int64_t max_age_seconds, admission adm)
    : lru_(capacity, sharded_lru<verified_entry>::default_shards, adm), max_age_(max_age_seconds)
{
}

std::optional<verified_entry> verified_token_cache::find(const token_digest& k, std::int64_t now_unix,
                                                         std::uint64_t jwks_change)
{
    auto e = lru_.get(k);
    if (!e) return std::nullopt;
    if (now_unix >= e->not_after || e->jwks_change != jwks_change) {
        lru_.erase(k);
        return std::nullopt;
    }
    return e;
}

void verified_token_cache::store(const token_digest& k, std::shared_ptr<const nlohmann::json> payload,
                                 std::uint64_t jwks_change, std::int64_t now_unix,
                                 std::optional<std::int64_t> exp_limit, auth_status static_claims)
{
    std::int64_t not_after = now_unix + max_age_;
    if (exp_limit) not_after = std::min(not_after, *exp_limit);
    if (not_after <= now_unix) return;
    lru_.put(k, verified_entry{std::move(payload), std::move(static_claims), jwks_change, not_after});
}

minted_token_cache::minted_token_cache(std::size_t capacity, std::int64_t margin_seconds,
                                       std::int64_t max_age_seconds, admission adm)
    : lru_(capacity, sharded_lru<minted_entry>::default_shards, adm), margin_(margin_seconds), max_age_(max_age_seconds)
{
}

std::optional<minted_entry> minted_token_cache::find(const token_digest& k, std::int64_t now_unix,
                                                     const keyset_ptr& current, const nlohmann::json* introspection)
{
    auto e = lru_.get(k);
    if (!e) return std::nullopt;
    if (now_unix >= e->not_after || e->signer != current || e->introspection != introspection) {
        lru_.erase(k);
        return std::nullopt;
    }
    return e;
}

void minted_token_cache::store(const token_digest& k, minted_entry e, std::int64_t now_unix,
                               std::optional<std::int64_t> original_exp, std::optional<std::int64_t> minted_exp)
{
    std::int64_t not_after = now_unix + max_age_;
    if (original_exp) not_after = std::min(not_after, *original_exp - margin_);
    if (minted_exp) not_after = std::min(not_after, *minted_exp - margin_);
    if (not_after <= now_unix) return;
    e.not_after = not_after;
    lru_.put(k, std::move(e));
}

}  // namespace countersign::jwt_signer
