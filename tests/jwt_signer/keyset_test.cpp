// keyset snapshots and keyset_manager: generation, publishing, persistence,
// restart, rotation, URL keysets, schedules.

#include "countersign/core/clock.hpp"
#include "countersign/jose/jwk.hpp"
#include "countersign/jwt_signer/file_keystore.hpp"
#include "countersign/jwt_signer/keyset.hpp"
#include "countersign/jwt_signer/keyset_manager.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <thread>

#include <sys/stat.h>

using namespace countersign::jwt_signer;
using countersign::jose::alg;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// One full generation (with Ed448), generated once for the whole file.
const json& shared_generation()
{
    static const json keys = keyset::generate_generation({.rsa_bits = 2048, .include_ed448 = true}).value();
    return keys;
}

// Seeds a keyset through the store (avoids generating keys per test).
void seed(keystore& store, const std::string& name, const json& current, const json& previous = json::array())
{
    keyset_record rec;
    rec.name = name;
    rec.id = make_uuid_v4();
    rec.created_at = rec.updated_at = 1'700'000'000;
    rec.generation = 1;
    rec.current = current;
    rec.previous = previous;
    if (is_url_keyset(name))
        rec.source_url = name;
    REQUIRE(store.store(rec).has_value());
}

std::shared_ptr<file_keystore> open_store(const fs::path& dir)
{
    auto s = file_keystore::open(dir);
    REQUIRE(s.has_value());
    return *s;
}

// No private member anywhere, no symmetric key, every key has kid/alg/use:sig.
void require_public_only(const json& keys)
{
    REQUIRE(keys.is_array());
    for (const auto& k : keys) {
        for (auto m : private_jwk_members)
            CHECK_FALSE(k.contains(std::string(m)));
        CHECK(k["kty"] != "oct");
        CHECK(k.contains("kid"));
        CHECK(k.contains("alg"));
        CHECK(k["use"] == "sig");
        CHECK(!std::string(k["alg"]).starts_with("HS"));
    }
}

void require_public_only_all(const keyset& ks)
{
    require_public_only(ks.public_jwks(true)["keys"]);
    require_public_only(ks.public_jwks(false)["keys"]);
    require_public_only(ks.admin_jwks()["keys"]);
    require_public_only(ks.admin_jwks()["previous"]);
    for (auto m : private_jwk_members) {
        const std::string needle = "\"" + std::string(m) + "\":";
        CHECK(ks.public_jwks_text(true).find(needle) == std::string::npos);
        CHECK(ks.public_jwks_text(false).find(needle) == std::string::npos);
        CHECK(ks.admin_jwks().dump().find(needle) == std::string::npos);
    }
}

std::set<std::string> kids_of(const std::vector<countersign::jose::jwk>& keys)
{
    std::set<std::string> out;
    for (const auto& k : keys)
        out.insert(std::string(k.kid()));
    return out;
}

std::set<std::string> kids_of(const json& keys)
{
    std::set<std::string> out;
    for (const auto& k : keys)
        out.insert(k["kid"].get<std::string>());
    return out;
}

}  // namespace

TEST_CASE("generated generation: one key per alg in Kong's order, thumbprint kids", "[jwt_signer][keyset]")
{
    const json& gen = shared_generation();
    const std::vector<std::string> algs = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                           "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "EdDSA"};
    REQUIRE(gen.size() == algs.size());
    for (std::size_t i = 0; i < algs.size(); ++i) {
        INFO("key " << i);
        CHECK(gen[i]["alg"] == algs[i]);
        CHECK(gen[i]["use"] == "sig");
        auto k = countersign::jose::jwk::from_json(gen[i]);
        REQUIRE(k.has_value());
        CHECK(k->is_private());
        CHECK(k->kid() == k->thumbprint());
        CHECK(k->kid().size() == 43);
    }
    CHECK(gen[12]["crv"] == "Ed25519");
    CHECK(gen[13]["crv"] == "Ed448");
    CHECK(gen[3]["kty"] == "RSA");
    CHECK(gen[0]["kty"] == "oct");

    auto bad = keyset::generate_generation({.rsa_bits = 1024});
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == keys_errc::invalid_keyset);
}

TEST_CASE("keyset snapshot: select, public JWKS, ETag", "[jwt_signer][keyset]")
{
    keyset_record rec;
    rec.name = "kong";
    rec.id = "0b8f8d0e-1d55-4c52-8a49-4f2f0f5c1d2e";
    rec.created_at = rec.updated_at = 1'700'000'000;
    rec.generation = 1;
    rec.current = shared_generation();
    auto made = keyset::from_record(rec);
    REQUIRE(made.has_value());
    const keyset& ks = **made;

    CHECK(ks.name() == "kong");
    CHECK(ks.current().size() == 14);
    CHECK(ks.previous().empty());
    CHECK_FALSE(ks.is_url());

    for (auto a : countersign::jose::all_algs) {
        const auto* k = ks.select(a);
        REQUIRE(k != nullptr);
        CHECK(k->algorithm() == a);
    }
    CHECK(ks.select(alg::eddsa)->crv() == "Ed25519");
    CHECK(ks.select(alg::hs256)->is_symmetric());

    require_public_only_all(ks);
    // 14 keys minus 3 HMAC keys are published.
    CHECK(ks.public_jwks()["keys"].size() == 11);
    CHECK(ks.admin_jwks()["previous"] == json::array());
    CHECK(ks.public_jwks(true) == ks.public_jwks(false));

    // Published kids are the RFC 7638 thumbprints of the public keys.
    for (const auto& pub : ks.public_jwks()["keys"]) {
        auto k = countersign::jose::jwk::from_json(pub);
        REQUIRE(k.has_value());
        CHECK_FALSE(k->is_private());
        CHECK(k->thumbprint() == pub["kid"]);
    }

    CHECK(ks.etag().size() == 45);
    CHECK(ks.etag().front() == '"');
    auto again = keyset::from_record(rec);
    REQUIRE(again.has_value());
    CHECK((*again)->etag() == ks.etag());

    SECTION("previous generation is published after current, duplicates skipped")
    {
        // current = HS*, RS* (6 keys, 3 published); previous = the other 8 (all published)
        auto rec2 = rec;
        rec2.current = json(std::vector<json>(rec.current.begin(), rec.current.begin() + 6));
        rec2.previous = json(std::vector<json>(rec.current.begin() + 6, rec.current.end()));
        auto ks2 = keyset::from_record(rec2).value();
        require_public_only_all(*ks2);
        CHECK(ks2->public_jwks(true)["keys"].size() == 3 + 8);
        CHECK(ks2->public_jwks(false)["keys"].size() == 3);
        CHECK(ks2->admin_jwks()["previous"].size() == 8);
        CHECK(ks2->public_jwks(true)["keys"][3]["alg"] == "PS256");  // previous after current
        CHECK(ks2->etag(false) != ks.etag(false));
        CHECK(ks2->etag(true) != ks2->etag(false));

        auto rec3 = rec;
        rec3.previous = rec.current;  // same keys in both generations
        auto ks3 = keyset::from_record(rec3).value();
        CHECK(ks3->public_jwks(true)["keys"].size() == 11);
    }
    SECTION("to_record round-trips and infers options")
    {
        auto back = ks.to_record();
        CHECK(back.current == rec.current);
        auto opts = ks.inferred_options();
        CHECK(opts.rsa_bits == 2048);
        CHECK(opts.include_ed448);
    }
}

TEST_CASE("validate_private_jwks for URL keysets", "[jwt_signer][keyset]")
{
    const json& gen = shared_generation();
    auto ok = keyset::validate_private_jwks(json{{"keys", json::array({gen[3], gen[9]})}});
    REQUIRE(ok.has_value());
    CHECK(ok->size() == 2);

    auto expect_invalid = [](const json& jwks, const std::string& fragment) {
        auto r = keyset::validate_private_jwks(jwks);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == keys_errc::invalid_keyset);
        CHECK_THAT(r.error().message, Catch::Contains(fragment));
    };
    expect_invalid(json::array(), "\"keys\"");
    expect_invalid(json{{"keys", json::array()}}, "empty");
    json pub = gen[3];
    pub.erase("d");
    for (const char* m : {"p", "q", "dp", "dq", "qi"})
        pub.erase(m);
    expect_invalid(json{{"keys", json::array({pub})}}, "not a private key");
    json no_alg = gen[9];
    no_alg.erase("alg");
    expect_invalid(json{{"keys", json::array({no_alg})}}, "no \"alg\"");
    expect_invalid(json{{"keys", json::array({gen[9], gen[9]})}}, "repeats kid");
    json enc = gen[9];
    enc["use"] = "enc";
    expect_invalid(json{{"keys", json::array({enc})}}, "key [0]");

    // A key without kid gets its thumbprint.
    json no_kid = gen[9];
    no_kid.erase("kid");
    auto r = keyset::validate_private_jwks(json{{"keys", json::array({no_kid})}});
    REQUIRE(r.has_value());
    CHECK((*r)[0]["kid"] == gen[9]["kid"]);
}

TEST_CASE("keyset_manager: generate on first use, persisted before publish, restart", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    countersign::manual_clock clk(1'700'000'000);
    std::string kong_id;
    json published;
    std::set<std::string> kids;
    {
        keyset_manager mgr(open_store(tmp.path()), clk);
        REQUIRE(mgr.load_all().value() == 0);
        CHECK(mgr.find("kong") == nullptr);

        auto ks = mgr.get_or_create("kong");
        REQUIRE(ks.has_value());
        const auto& k = *ks;
        CHECK(k->generation() == 1);
        CHECK(k->created_at() == 1'700'000'000);
        CHECK(k->current().size() == 13);
        CHECK(k->id().size() == 36);
        CHECK(fs::exists(tmp.path() / "keys" / file_keystore::file_name_for("kong")));
        require_public_only_all(*k);

        // Same snapshot on later calls, by name and by id.
        CHECK(mgr.get_or_create("kong").value() == k);
        CHECK(mgr.find(k->id()) == k);
        CHECK(mgr.list().size() == 1);
        kong_id = k->id();
        published = k->public_jwks();
        kids = kids_of(k->current());
    }
    // Restart: identical keys and kids, nothing regenerated.
    keyset_manager mgr(open_store(tmp.path()), clk);
    REQUIRE(mgr.load_all().value() == 1);
    auto ks = mgr.find("kong");
    REQUIRE(ks);
    CHECK(ks->id() == kong_id);
    CHECK(ks->public_jwks() == published);
    CHECK(kids_of(ks->current()) == kids);
    CHECK(mgr.get_or_create("kong").value() == ks);

    SECTION("a second manager sharing the store picks the keyset up instead of generating")
    {
        keyset_manager other(open_store(tmp.path()), clk);
        auto o = other.get_or_create("kong");
        REQUIRE(o.has_value());
        CHECK((*o)->public_jwks() == published);
    }
}

TEST_CASE("keyset_manager: corrupt storage stops load_all with the file name", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    auto store = open_store(tmp.path());
    seed(*store, "kong", shared_generation());
    seed(*store, "other", shared_generation());
    const auto file = store->path_for("other");
    {
        std::ofstream out(file, std::ios::trunc);
        out << "{\"format\":\"countersign-keyset\",\"vers";
    }
    keyset_manager mgr(store);
    auto r = mgr.load_all();
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == keys_errc::corrupt);
    CHECK_THAT(r.error().message, Catch::Contains(file.string()));
    CHECK(mgr.list().empty());
    // get_or_create must not regenerate over a corrupt file either.
    auto g = mgr.get_or_create("other");
    REQUIRE_FALSE(g.has_value());
    CHECK(g.error().code == keys_errc::corrupt);
    CHECK(fs::file_size(file) < 100);
}

TEST_CASE("keyset_manager: rotation moves current to previous and drops the older one", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    countersign::manual_clock clk(1'700'000'000);
    auto store = open_store(tmp.path());
    seed(*store, "kong", shared_generation());
    keyset_manager mgr(store, clk);
    REQUIRE(mgr.load_all().has_value());

    auto g1 = mgr.find("kong");
    REQUIRE(g1);
    const auto g1_kids = kids_of(g1->current());

    clk.advance(3600s);
    CHECK(mgr.generation_age("kong") == 3600s);
    auto r2 = mgr.rotate("kong");
    REQUIRE(r2.has_value());
    auto g2 = *r2;
    CHECK(g2->generation() == 2);
    CHECK(g2->id() == g1->id());
    CHECK(g2->created_at() == g1->created_at());
    CHECK(g2->updated_at() == 1'700'003'600);
    CHECK(mgr.generation_age("kong") == 0s);
    CHECK(kids_of(g2->previous()) == g1_kids);
    CHECK(g2->current().size() == 14);  // Ed448 inferred from the old generation
    for (const auto& kid : kids_of(g2->current()))
        CHECK(g1_kids.count(kid) == 0);
    require_public_only_all(*g2);
    // Published JWKS holds both generations (minus HMAC keys).
    CHECK(kids_of(g2->public_jwks()["keys"]).size() == 22);
    CHECK(mgr.find("kong") == g2);
    // In-flight users keep their snapshot intact.
    CHECK(kids_of(g1->current()) == g1_kids);
    CHECK(g1->select(alg::rs256) != nullptr);

    auto g3 = mgr.rotate(g1->id(), keyset_options{.rsa_bits = 2048, .include_ed448 = false}).value();
    CHECK(g3->generation() == 3);
    CHECK(g3->current().size() == 13);
    CHECK(kids_of(g3->previous()) == kids_of(g2->current()));
    for (const auto& kid : kids_of(g3->public_jwks()["keys"]))
        CHECK(g1_kids.count(kid) == 0);  // rotated twice: generation 1 is gone

    // Persisted: a restart sees generation 3 with generation 2 as previous.
    keyset_manager again(open_store(tmp.path()), clk);
    REQUIRE(again.load_all().has_value());
    CHECK(again.find("kong")->generation() == 3);
    CHECK(again.find("kong")->public_jwks() == g3->public_jwks());

    auto missing = mgr.rotate("nope");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == keys_errc::not_found);
}

namespace {
// Delegates to a real store but fails writes on demand.
class flaky_keystore final : public keystore {
public:
    explicit flaky_keystore(std::shared_ptr<keystore> inner) : inner_(std::move(inner)) {}
    keys_result<std::vector<keyset_record>> load_all() override { return inner_->load_all(); }
    keys_result<std::optional<keyset_record>> load(std::string_view n) override { return inner_->load(n); }
    keys_result<void> store(const keyset_record& rec) override
    {
        if (fail_writes)
            return make_failure(keys_errc::io_error, "injected write failure");
        return inner_->store(rec);
    }
    keys_result<bool> remove(std::string_view n) override
    {
        if (fail_writes)
            return make_failure(keys_errc::io_error, "injected delete failure");
        return inner_->remove(n);
    }
    std::string describe() const override { return "flaky"; }
    std::atomic<bool> fail_writes{false};

private:
    std::shared_ptr<keystore> inner_;
};
}  // namespace

TEST_CASE("keyset_manager: failed persistence keeps the old keyset", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    auto inner = open_store(tmp.path());
    const std::string url = "https://keys.example/jwks";
    const json& gen = shared_generation();
    seed(*inner, url, json::array({gen[3]}));
    auto flaky = std::make_shared<flaky_keystore>(inner);
    keyset_manager mgr(flaky);
    REQUIRE(mgr.load_all().value() == 1);
    auto before = mgr.find(url);

    flaky->fail_writes = true;
    auto r = mgr.rotate_with(url, json{{"keys", json::array({gen[9]})}});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == keys_errc::io_error);
    CHECK(mgr.find(url) == before);  // nothing published that is not stored
    auto created = mgr.rotate_with("https://new.example/jwks", json{{"keys", json::array({gen[9]})}});
    REQUIRE_FALSE(created.has_value());
    CHECK(mgr.find("https://new.example/jwks") == nullptr);
    auto removed = mgr.remove(url);
    REQUIRE_FALSE(removed.has_value());
    CHECK(mgr.find(url) == before);

    flaky->fail_writes = false;
    CHECK(mgr.rotate_with(url, json{{"keys", json::array({gen[9]})}}).has_value());
    CHECK(inner->load(url).value()->generation == 2);
}

TEST_CASE("keyset_manager: URL keysets", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    keyset_manager mgr(open_store(tmp.path()));
    const std::string url = "https://keys.example/jwks.json";
    const json& gen = shared_generation();

    auto not_yet = mgr.get_or_create(url);
    REQUIRE_FALSE(not_yet.has_value());
    CHECK(not_yet.error().code == keys_errc::not_found);

    auto first = mgr.rotate_with(url, json{{"keys", json::array({gen[3], gen[9]})}});
    REQUIRE(first.has_value());
    CHECK((*first)->is_url());
    CHECK((*first)->source_url() == url);
    CHECK((*first)->generation() == 1);
    CHECK(mgr.get_or_create(url).value() == *first);
    CHECK((*first)->select(alg::es512) == nullptr);

    auto second = mgr.rotate_with(url, json{{"keys", json::array({gen[10]})}});
    REQUIRE(second.has_value());
    CHECK((*second)->generation() == 2);
    CHECK(kids_of((*second)->previous()) == kids_of((*first)->current()));
    CHECK((*second)->admin_jwks()["previous"].size() == 2);

    auto rot = mgr.rotate(url);
    REQUIRE_FALSE(rot.has_value());
    CHECK(rot.error().code == keys_errc::unsupported_operation);

    auto bad = mgr.rotate_with(url, json{{"keys", json::array()}});
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == keys_errc::invalid_keyset);
    CHECK(mgr.find(url) == *second);

    auto named = mgr.rotate_with("kong", json{{"keys", json::array({gen[9]})}});
    REQUIRE_FALSE(named.has_value());
    CHECK(named.error().code == keys_errc::not_found);

    // Restart keeps the URL keyset and its source.
    keyset_manager again(open_store(tmp.path()));
    REQUIRE(again.load_all().has_value());
    REQUIRE(again.find(url));
    CHECK(again.find(url)->source_url() == url);
    CHECK(again.find(url)->public_jwks() == (*second)->public_jwks());
}

TEST_CASE("keyset_manager: remove and names", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    auto store = open_store(tmp.path());
    seed(*store, "a", shared_generation());
    seed(*store, "b", shared_generation());
    keyset_manager mgr(store);
    REQUIRE(mgr.load_all().value() == 2);
    auto list = mgr.list();
    REQUIRE(list.size() == 2);
    CHECK(list[0]->name() == "a");
    CHECK(list[1]->name() == "b");

    auto snapshot = mgr.find("a");
    auto r = mgr.remove(snapshot->id());
    REQUIRE(r.has_value());
    CHECK(*r);
    CHECK(mgr.find("a") == nullptr);
    CHECK(mgr.find(snapshot->id()) == nullptr);
    CHECK_FALSE(fs::exists(store->path_for("a")));
    CHECK(snapshot->select(alg::rs256) != nullptr);  // holders unaffected
    CHECK_FALSE(mgr.remove("a").value());

    CHECK(mgr.get_or_create("").error().code == keys_errc::invalid_name);
    CHECK(mgr.get_or_create(std::string(3000, 'x')).error().code == keys_errc::invalid_name);
}

TEST_CASE("keyset_manager: readers never see a half-published keyset during rotation", "[jwt_signer][keyset]")
{
    countersign::test::temp_dir tmp("keyset");
    auto store = open_store(tmp.path());
    seed(*store, "https://k.example/jwks", json::array({shared_generation()[3]}));
    keyset_manager mgr(store);
    REQUIRE(mgr.load_all().has_value());

    std::atomic<bool> stop{false};
    std::atomic<long> reads{0}, bad{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i)
        readers.emplace_back([&] {
            while (!stop.load()) {
                auto ks = mgr.find("https://k.example/jwks");
                if (!ks || ks->current().empty() || !ks->select(*ks->current()[0].algorithm()) ||
                    ks->public_jwks()["keys"].empty())
                    ++bad;
                ++reads;
            }
        });
    bool all_ok = true;
    for (int i = 0; i < 20; ++i) {
        const json& g = shared_generation();
        all_ok = mgr.rotate_with("https://k.example/jwks", json{{"keys", json::array({g[3 + i % 6]})}}).has_value() && all_ok;
    }
    stop = true;
    for (auto& t : readers)
        t.join();
    CHECK(all_ok);
    CHECK(mgr.find("https://k.example/jwks")->generation() == 21);
    CHECK(bad == 0);
    CHECK(reads > 0);
}

TEST_CASE("rotation schedule: due_for_rotation and Kong's backoff", "[jwt_signer][keyset]")
{
    using std::chrono::seconds;
    const auto at = [](std::int64_t s) { return std::chrono::system_clock::time_point(seconds(s)); };
    CHECK_FALSE(due_for_rotation(1000, 0s, at(999999)));
    CHECK_FALSE(due_for_rotation(1000, -5s, at(999999)));
    CHECK_FALSE(due_for_rotation(1000, 3600s, at(1000 + 3599)));
    CHECK(due_for_rotation(1000, 3600s, at(1000 + 3600)));
    CHECK(due_for_rotation(1000, 3600s, at(1000 + 99999)));

    CHECK(rotation_backoff(1, 3600s) == 30s);
    CHECK(rotation_backoff(2, 3600s) == 60s);
    CHECK(rotation_backoff(3, 3600s) == 120s);
    CHECK(rotation_backoff(4, 3600s) == 240s);
    CHECK(rotation_backoff(5, 3600s) == 480s);
    CHECK(rotation_backoff(6, 3600s) == 3600s);
    CHECK(rotation_backoff(3, 100s) == 100s);  // capped at the period
    CHECK(rotation_backoff(0, 100s) == 100s);

    rotation_schedule s(3600s);
    CHECK(s.first_delay() == 0s);
    CHECK(s.on_failure() == 30s);
    CHECK(s.on_failure() == 60s);
    CHECK(s.on_success() == 3600s);
    CHECK(s.consecutive_failures() == 0);
    for (auto expected : {30s, 60s, 120s, 240s, 480s})
        CHECK(s.on_failure() == expected);
    CHECK(s.on_failure() == 3600s);  // 5 retries used: back to the period
    CHECK(s.consecutive_failures() == 0);
    CHECK(s.on_failure() == 30s);

    countersign::test::temp_dir tmp("keyset");
    auto store = open_store(tmp.path());
    seed(*store, "kong", shared_generation());  // updated_at = 1'700'000'000
    keyset_manager mgr(store);
    REQUIRE(mgr.load_all().has_value());
    CHECK_FALSE(mgr.due_for_rotation("kong", 60s, at(1'700'000'059)));
    CHECK(mgr.due_for_rotation("kong", 60s, at(1'700'000'060)));
    CHECK_FALSE(mgr.due_for_rotation("unknown", 60s, at(1'800'000'000)));
}

TEST_CASE("make_uuid_v4 format", "[jwt_signer][keyset]")
{
    auto u = make_uuid_v4();
    REQUIRE(u.size() == 36);
    CHECK(u[8] == '-');
    CHECK(u[14] == '4');
    CHECK(std::string("89ab").find(u[19]) != std::string::npos);
    CHECK(make_uuid_v4() != u);
    CHECK(is_url_keyset("https://x"));
    CHECK(is_url_keyset("HTTP://x"));
    CHECK_FALSE(is_url_keyset("kong"));
    CHECK_FALSE(is_url_keyset("httpsx"));
}
