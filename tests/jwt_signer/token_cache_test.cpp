// The verified-token and minted-token caches: bounds, LRU order and every
// rule that makes an entry unusable.
#include <catch2/catch.hpp>

#include <countersign/jose/jwk.hpp>
#include <countersign/jwt_signer/keyset.hpp>
#include <countersign/jwt_signer/token_cache.hpp>

using namespace countersign::jwt_signer;
using json = nlohmann::json;

namespace {

/// The claims of a verified-token cache lookup, null on a miss.
std::shared_ptr<const json> payload_of(const std::optional<verified_entry>& e)
{
    return e ? e->payload : nullptr;
}

keyset_ptr make_keyset(const std::string& name)
{
    using countersign::jose::alg;
    keyset_record rec;
    rec.name = name;
    rec.id = "0b9c2f4e-0000-4000-8000-000000000001";
    rec.generation = 1;
    auto key = countersign::jose::jwk::generate(alg::es256).value().with_alg(alg::es256).value();
    rec.current = json::array({key.to_private_json()});
    return keyset::from_record(rec).value();
}

}  // namespace

TEST_CASE("token cache: digests differ per token and are stable", "[jwt_signer][cache]")
{
    CHECK(digest_token("a.b.c") == digest_token("a.b.c"));
    CHECK(digest_token("a.b.c") != digest_token("a.b.d"));
}

TEST_CASE("token cache: the digest memo answers SHA-256, whole-token exact", "[jwt_signer][cache]")
{
    const token_digest abc = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                              0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                              0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    digest_memo memo;
    CHECK(memo.digest("abc") == abc);  // FIPS 180-2 example
    CHECK(memo.hits() == 0);
    CHECK(memo.digest("abc") == abc);
    CHECK(memo.hits() == 1);
    CHECK(digest_token("abc") == abc);

    // Same length and the same last 16 bytes: the same slot, different
    // tokens. Each gets its own digest; neither is served the other's.
    const std::string t1 = "header1.payload.0123456789abcdefSIGNATURE-TAIL-16B";
    const std::string t2 = "header2.payload.0123456789abcdefSIGNATURE-TAIL-16B";
    REQUIRE(digest_memo::slot_of(t1) == digest_memo::slot_of(t2));
    const auto d1 = digest_token(t1), d2 = digest_token(t2);
    CHECK(d1 != d2);
    const auto before = memo.hits();
    CHECK(memo.digest(t1) == d1);
    CHECK(memo.digest(t2) == d2);  // evicts t1
    CHECK(memo.digest(t1) == d1);  // evicts t2
    CHECK(memo.digest(t1) == d1);
    CHECK(memo.hits() == before + 1);

    // Longer than max_token: hashed every time, never remembered.
    const std::string big(digest_memo::max_token + 1, 'x');
    const auto db = memo.digest(big);
    CHECK(memo.digest(big) == db);
    CHECK(memo.hits() == before + 1);
    CHECK(db != memo.digest(std::string(digest_memo::max_token, 'x')));

    // Short tokens (under 16 bytes) and the empty token are fine too.
    CHECK(memo.digest("") != memo.digest("a"));
    CHECK(memo.digest("") == digest_token(""));
}

TEST_CASE("token cache: sharded LRU is bounded and evicts the least recently used", "[jwt_signer][cache]")
{
    sharded_lru<int> lru(4, 1);
    for (int i = 0; i < 4; ++i) lru.put(digest_token(std::to_string(i)), i);
    CHECK(lru.size() == 4);
    CHECK(lru.get(digest_token("0")) == 0);  // 0 is now the most recent
    lru.put(digest_token("4"), 4);           // evicts 1
    CHECK(lru.size() == 4);
    CHECK_FALSE(lru.get(digest_token("1")));
    CHECK(lru.get(digest_token("0")) == 0);
    CHECK(lru.get(digest_token("4")) == 4);

    sharded_lru<int> many(1000);
    for (int i = 0; i < 5000; ++i) many.put(digest_token(std::to_string(i)), i);
    CHECK(many.size() <= many.capacity());
    CHECK(many.capacity() >= 1000);
    CHECK(many.capacity() < 1100);

    sharded_lru<int> off(0);
    off.put(digest_token("x"), 1);
    CHECK_FALSE(off.get(digest_token("x")));
}

TEST_CASE("token cache: second-sighting admission", "[jwt_signer][cache]")
{
    SECTION("the first put of a key only notes it; the second stores it")
    {
        sharded_lru<int> lru(4, 1, admission::second_sighting);
        lru.put(digest_token("a"), 1);
        CHECK_FALSE(lru.get(digest_token("a")));
        CHECK(lru.size() == 0);
        lru.put(digest_token("a"), 2);
        CHECK(lru.get(digest_token("a")) == 2);
        lru.put(digest_token("a"), 3);  // stored keys are updated at once
        CHECK(lru.get(digest_token("a")) == 3);
    }
    SECTION("keys seen once never evict the keys in use")
    {
        sharded_lru<int> lru(1024, 4, admission::second_sighting);
        for (int i = 0; i < 8; ++i)
            for (int twice = 0; twice < 2; ++twice) lru.put(digest_token("hot" + std::to_string(i)), i);
        REQUIRE(lru.size() == 8);
        // A Bloom filter admits a few of them (false positives), not more.
        for (int i = 0; i < 20000; ++i) lru.put(digest_token("once" + std::to_string(i)), -1);
        CHECK(lru.size() < 8 + 20000 / 100);
        for (int i = 0; i < 8; ++i) CHECK(lru.get(digest_token("hot" + std::to_string(i))) == i);
        // Still bounded (LRU) when every key repeats.
        for (int i = 0; i < 3000; ++i)
            for (int twice = 0; twice < 2; ++twice) lru.put(digest_token("rep" + std::to_string(i)), i);
        CHECK(lru.size() == lru.capacity());
        CHECK(lru.get(digest_token("rep2999")) == 2999);
    }
    SECTION("keys that come back in rotation all get in")
    {
        // 700 keys in turn through a cache of 1024: each comes back after
        // the 699 others. All of them must be admitted within a few rounds.
        sharded_lru<int> lru(1024, 16, admission::second_sighting);
        for (int round = 0; round < 4; ++round)
            for (int i = 0; i < 700; ++i) {
                const auto k = digest_token("rot" + std::to_string(i));
                if (!lru.get(k)) lru.put(k, i);
            }
        CHECK(lru.size() == 700);
    }
    SECTION("clear() forgets the noted keys too")
    {
        sharded_lru<int> lru(4, 1, admission::second_sighting);
        lru.put(digest_token("a"), 1);
        lru.clear();
        lru.put(digest_token("a"), 1);
        CHECK_FALSE(lru.get(digest_token("a")));
    }
    SECTION("the token caches admit on the second store by default")
    {
        const auto k = digest_token("tok");
        const std::int64_t now = 1'700'000'000;
        auto claims = std::make_shared<const json>(json{{"sub", "alice"}});
        verified_token_cache v(16, 60);
        v.store(k, claims, 7, now, std::nullopt);
        CHECK_FALSE(v.find(k, now, 7));
        v.store(k, claims, 7, now, std::nullopt);
        CHECK(payload_of(v.find(k, now, 7)) == claims);

        minted_token_cache m(16, 5, 300);
        minted_entry e;
        e.header_value = "Bearer minted";
        e.signer = make_keyset("one");
        m.store(k, e, now, now + 100, now + 100);
        CHECK_FALSE(m.find(k, now, e.signer, nullptr));
        m.store(k, e, now, now + 100, now + 100);
        CHECK(m.find(k, now, e.signer, nullptr));
    }
}

TEST_CASE("verified-token cache: expiry, JWKS change and maximum age", "[jwt_signer][cache]")
{
    const auto k = digest_token("tok");
    auto claims = std::make_shared<const json>(json{{"sub", "alice"}});
    const std::int64_t now = 1'700'000'000;

    SECTION("usable until exp (with leeway), never after")
    {
        verified_token_cache c(16, 60, admission::first_sighting);
        c.store(k, claims, 7, now, now + 10);
        CHECK(payload_of(c.find(k, now, 7)) == claims);
        CHECK(payload_of(c.find(k, now + 9, 7)) == claims);
        CHECK_FALSE(c.find(k, now + 10, 7));
        CHECK(c.size() == 0);  // dropped once stale
    }
    SECTION("a JWKS change makes it stale")
    {
        verified_token_cache c(16, 60, admission::first_sighting);
        c.store(k, claims, 7, now, std::nullopt);
        CHECK(payload_of(c.find(k, now + 1, 7)) == claims);
        CHECK_FALSE(c.find(k, now + 1, 8));
        CHECK_FALSE(c.find(k, now + 1, 7));  // gone, not resurrected
    }
    SECTION("never older than the maximum age")
    {
        verified_token_cache c(16, 60, admission::first_sighting);
        c.store(k, claims, 7, now, now + 3600);
        CHECK(payload_of(c.find(k, now + 59, 7)) == claims);
        CHECK_FALSE(c.find(k, now + 60, 7));
    }
    SECTION("an already expired token is not stored")
    {
        verified_token_cache c(16, 60, admission::first_sighting);
        c.store(k, claims, 7, now, now);
        CHECK(c.size() == 0);
    }
    SECTION("the entry keeps the outcome of the static claim checks")
    {
        verified_token_cache c(16, 60, admission::first_sighting);
        c.store(k, claims, 7, now, std::nullopt, auth_fail(auth_errc::issuer, "issuer not allowed"));
        const auto other = digest_token("other");
        c.store(other, claims, 7, now, std::nullopt);
        auto e = c.find(k, now + 1, 7);
        REQUIRE(e);
        CHECK(e->payload == claims);
        CHECK(e->static_claims.code == auth_errc::issuer);
        CHECK(e->static_claims.detail == "issuer not allowed");
        auto ok = c.find(other, now + 1, 7);
        REQUIRE(ok);
        CHECK(ok->static_claims.ok());
        CHECK_FALSE(c.find(k, now + 1, 8));  // stale for find_entry too
    }
}

TEST_CASE("minted-token cache: rotation, introspection answer and lifetime", "[jwt_signer][cache]")
{
    const auto k = digest_token("tok");
    const std::int64_t now = 1'700'000'000;
    auto ks1 = make_keyset("one");
    auto ks2 = make_keyset("one");  // the same keyset after a rotation: a new object

    auto entry = [&](const keyset_ptr& ks, const json* answer = nullptr) {
        minted_entry e;
        e.header_value = "Bearer minted";
        e.kid = "kid-1";
        e.signer = ks;
        e.introspection = answer;
        return e;
    };

    SECTION("reused with the same keyset generation, not after a rotation")
    {
        minted_token_cache c(16, 5, 300, admission::first_sighting);
        c.store(k, entry(ks1), now, now + 100, now + 100);
        auto hit = c.find(k, now + 1, ks1, nullptr);
        REQUIRE(hit);
        CHECK(hit->header_value == "Bearer minted");
        CHECK_FALSE(c.find(k, now + 1, ks2, nullptr));
    }
    SECTION("the lifetime is never extended: min(original, minted) less the margin")
    {
        minted_token_cache c(16, 5, 300, admission::first_sighting);
        c.store(k, entry(ks1), now, now + 50, now + 100);  // upstream leeway made the minted exp later
        CHECK(c.find(k, now + 44, ks1, nullptr));
        CHECK_FALSE(c.find(k, now + 45, ks1, nullptr));

        c.store(k, entry(ks1), now, now + 100, now + 30);  // minted exp earlier
        CHECK(c.find(k, now + 24, ks1, nullptr));
        CHECK_FALSE(c.find(k, now + 25, ks1, nullptr));
    }
    SECTION("without any exp the maximum age bounds it; nearly expired tokens are not stored")
    {
        minted_token_cache c(16, 5, 300, admission::first_sighting);
        c.store(k, entry(ks1), now, std::nullopt, std::nullopt);
        CHECK(c.find(k, now + 299, ks1, nullptr));
        CHECK_FALSE(c.find(k, now + 300, ks1, nullptr));
        c.store(k, entry(ks1), now, now + 5, now + 5);
        CHECK(c.size() == 0);
    }
    SECTION("an opaque token's entry belongs to one introspection answer")
    {
        minted_token_cache c(16, 5, 300, admission::first_sighting);
        auto a1 = std::make_shared<const json>(json{{"active", true}});
        auto a2 = std::make_shared<const json>(json{{"active", true}});
        auto e = entry(ks1, a1.get());
        e.introspection_owner = a1;
        c.store(k, e, now, now + 100, now + 100);
        CHECK(c.find(k, now + 1, ks1, a1.get()));
        CHECK_FALSE(c.find(k, now + 1, ks1, a2.get()));
    }
}
