#include <countersign/jwt_signer/introspection_cache.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace countersign::jwt_signer {

namespace {

using steady_tp = std::chrono::steady_clock::time_point;

std::optional<std::int64_t> integer_member(const nlohmann::json& j, const char* name)
{
    auto it = j.find(name);
    if (it == j.end() || !it->is_number())
        return std::nullopt;
    if (it->is_number_float())
        return static_cast<std::int64_t>(it->get<double>());
    return it->get<std::int64_t>();
}

}  // namespace

struct introspection_cache::shard {
    struct entry {
        std::string key;
        result<value_type> answer = value_type{};
        steady_tp expires;
        std::optional<std::int64_t> exp;  // the answer's `exp`, checked on every hit
    };
    std::mutex mutex;
    std::list<entry> lru;  // front = most recently used
    std::unordered_map<std::string, std::list<entry>::iterator> index;
};

introspection_cache::introspection_cache(std::shared_ptr<introspection_client> client, const clock& clk,
                                         introspection_cache_config config)
    : client_(client ? std::move(client) : std::make_shared<http_introspection_client>()), clock_(clk),
      config_(config), per_shard_(0), shards_(nullptr), flights_(config.shards)
{
    config_.shards = std::max<std::size_t>(config_.shards, 1);
    per_shard_ = std::max<std::size_t>(config_.max_entries / config_.shards, 1);
    shards_.reset(new shard[config_.shards]);
}

introspection_cache::~introspection_cache() = default;

std::string introspection_cache::cache_key(const introspection_request& req)
{
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    auto add = [&](std::string_view s) {
        const std::uint64_t n = s.size();
        EVP_DigestUpdate(ctx, &n, sizeof n);
        EVP_DigestUpdate(ctx, s.data(), s.size());
    };
    add(req.endpoint);
    add(req.token);
    add(req.hint);
    add(req.authorization);
    for (const auto& [name, value] : req.body_args) {
        add(name);
        add(value);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);
    return std::string(reinterpret_cast<const char*>(digest), len);
}

std::chrono::seconds introspection_cache::ttl_for(const result<value_type>& answer) const
{
    using std::chrono::seconds;
    if (!answer)
        return answer.error() == introspection_error::inactive ? config_.inactive_ttl : seconds(0);
    const auto& j = **answer;
    seconds ttl = config_.default_ttl;
    if (auto expires_in = integer_member(j, "expires_in"); expires_in && *expires_in > 0) {
        ttl = seconds(*expires_in);
    } else if (auto exp = integer_member(j, "exp")) {
        const auto left = *exp - clock_.unix_seconds();
        if (left <= 0)
            return seconds(0);
        ttl = seconds(left);
    }
    return std::min(ttl, config_.max_ttl);
}

introspection_cache::shard& introspection_cache::shard_for(const std::string& key) const
{
    // The key is a SHA-256 digest: its first bytes are already uniform.
    std::size_t h = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(key.size(), sizeof h); ++i)
        h = (h << 8) | static_cast<unsigned char>(key[i]);
    return shards_[h % config_.shards];
}

bool introspection_cache::lookup(const std::string& key, result<value_type>& out)
{
    auto& sh = shard_for(key);
    const auto now = clock_.steady_now();
    std::lock_guard lock(sh.mutex);
    auto it = sh.index.find(key);
    if (it == sh.index.end())
        return false;
    auto& e = *it->second;
    if (now >= e.expires || (e.exp && clock_.unix_seconds() >= *e.exp)) {
        sh.lru.erase(it->second);
        sh.index.erase(it);
        return false;
    }
    sh.lru.splice(sh.lru.begin(), sh.lru, it->second);
    out = e.answer;
    return true;
}

void introspection_cache::store(const std::string& key, const result<value_type>& answer)
{
    const auto ttl = ttl_for(answer);
    if (ttl.count() <= 0)
        return;
    shard::entry e;
    e.key = key;
    e.answer = answer;
    e.expires = clock_.steady_now() + ttl;
    if (answer)
        e.exp = integer_member(**answer, "exp");
    auto& sh = shard_for(key);
    std::lock_guard lock(sh.mutex);
    if (auto it = sh.index.find(key); it != sh.index.end()) {
        sh.lru.erase(it->second);
        sh.index.erase(it);
    }
    sh.lru.push_front(std::move(e));
    sh.index.emplace(key, sh.lru.begin());
    while (sh.lru.size() > per_shard_) {
        sh.index.erase(sh.lru.back().key);
        sh.lru.pop_back();
        ++evictions_;
    }
}

net::awaitable<result<introspection_cache::value_type>> introspection_cache::introspect(introspection_request req,
                                                                                       bool use_cache)
{
    if (!use_cache) {
        ++calls_;
        co_return co_await client_->introspect(std::move(req));
    }
    auto key = cache_key(req);
    result<value_type> hit = value_type{};
    if (lookup(key, hit)) {
        ++hits_;
        co_return hit;
    }
    ++misses_;
    // Named, not a temporary: GCC 12 mis-destroys a capturing lambda
    // temporary inside a co_await expression (GCC PR 101367).
    auto producer = [this, key, req = std::move(req)]() -> net::awaitable<result<value_type>> {
        // A flight for this key may have finished between our miss and now.
        result<value_type> again = value_type{};
        if (lookup(key, again))
            co_return again;
        ++calls_;
        auto answer = co_await client_->introspect(req);
        store(key, answer);
        co_return answer;
    };
    co_return co_await flights_.run(key, std::move(producer));
}

introspection_cache_stats introspection_cache::stats() const
{
    introspection_cache_stats s;
    s.hits = hits_;
    s.misses = misses_;
    s.calls = calls_;
    s.evictions = evictions_;
    for (std::size_t i = 0; i < config_.shards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        s.entries += shards_[i].lru.size();
    }
    return s;
}

void introspection_cache::clear()
{
    for (std::size_t i = 0; i < config_.shards; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        shards_[i].lru.clear();
        shards_[i].index.clear();
    }
}

}  // namespace countersign::jwt_signer
