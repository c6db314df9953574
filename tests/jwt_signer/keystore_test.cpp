// file_keystore: atomic durable writes, permissions, restart, corrupt files.

#include "countersign/jose/jwk.hpp"
#include "countersign/jwt_signer/file_keystore.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace countersign::jwt_signer;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Two cheap private keys (P-256 and an HS256 secret), generated once.
const json& small_generation()
{
    static const json keys = [] {
        json arr = json::array();
        for (auto a : {countersign::jose::alg::es256, countersign::jose::alg::hs256, countersign::jose::alg::eddsa}) {
            auto k = countersign::jose::jwk::generate(a).value();
            arr.push_back(k.with_kid(k.thumbprint()).to_private_json());
        }
        return arr;
    }();
    return keys;
}

keyset_record make_record(std::string name)
{
    keyset_record r;
    r.name = std::move(name);
    r.id = "3f0d6a2e-6a4b-4c1e-9a57-0d3c2f1b9e11";
    r.created_at = 1'700'000'000;
    r.updated_at = 1'700'000'600;
    r.generation = 2;
    r.current = small_generation();
    r.previous = json::array({small_generation()[0]});
    return r;
}

unsigned mode_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::vector<std::string> names_in(const fs::path& dir)
{
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void overwrite(const fs::path& p, const std::string& content)
{
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
}

std::string sha256_hex(const std::string& s)
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
    std::string hex;
    char buf[3];
    for (unsigned i = 0; i < len; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", md[i]);
        hex += buf;
    }
    return hex;
}

void require_same(const keyset_record& a, const keyset_record& b)
{
    CHECK(a.name == b.name);
    CHECK(a.id == b.id);
    CHECK(a.created_at == b.created_at);
    CHECK(a.updated_at == b.updated_at);
    CHECK(a.generation == b.generation);
    CHECK(a.current == b.current);
    CHECK(a.previous == b.previous);
    CHECK(a.source_url == b.source_url);
}

}  // namespace

TEST_CASE("file_keystore creates a 0700 key directory under data_dir", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    const auto data = tmp.path() / "data" / "nested";
    auto store = file_keystore::open(data);
    REQUIRE(store.has_value());
    CHECK((*store)->directory() == data / "keys");
    CHECK(mode_of(data / "keys") == 0700);
    CHECK(mode_of(data) == 0700);
    CHECK((*store)->describe() == "file:" + (data / "keys").string());
    auto all = (*store)->load_all();
    REQUIRE(all.has_value());
    CHECK(all->empty());
}

TEST_CASE("file_keystore writes atomically: 0600 file, no temp files, round-trip", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    auto store = file_keystore::open(tmp.path()).value();
    const auto rec = make_record("kong");
    REQUIRE(store->store(rec).has_value());

    const auto file = store->path_for("kong");
    CHECK(file.filename().string() == sha256_hex("kong") + ".json");
    CHECK(names_in(store->directory()) == std::vector<std::string>{file.filename().string()});
    CHECK(mode_of(file) == 0600);
    CHECK(mode_of(store->directory()) == 0700);

    auto loaded = store->load("kong");
    REQUIRE(loaded.has_value());
    REQUIRE(loaded->has_value());
    require_same(**loaded, rec);
    CHECK((*loaded)->origin == file.string());

    SECTION("replacing keeps exactly one file")
    {
        auto rec2 = rec;
        rec2.generation = 3;
        rec2.previous = rec.current;
        REQUIRE(store->store(rec2).has_value());
        CHECK(names_in(store->directory()).size() == 1);
        CHECK(mode_of(file) == 0600);
        require_same(*store->load("kong").value(), rec2);
    }
    SECTION("absent keyset loads as empty optional")
    {
        auto none = store->load("nope");
        REQUIRE(none.has_value());
        CHECK_FALSE(none->has_value());
    }
    SECTION("stored document carries format, version and checksum")
    {
        auto doc = json::parse(slurp(file));
        CHECK(doc["format"] == "countersign-keyset");
        CHECK(doc["version"] == 1);
        CHECK(doc["sha256"] == sha256_hex(doc["keyset"].dump()));
        CHECK(doc["keyset"]["name"] == "kong");
    }
}

TEST_CASE("file_keystore names files by hash, never by the raw (URL) name", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    auto store = file_keystore::open(tmp.path()).value();
    const std::string url = "https://keys.example/../../etc/passwd?x=1";
    auto rec = make_record(url);
    rec.source_url = url;
    REQUIRE(store->store(rec).has_value());
    REQUIRE(store->store(make_record("kong")).has_value());
    for (const auto& n : names_in(store->directory())) {
        CHECK(n.size() == 64 + 5);
        CHECK(n.find('/') == std::string::npos);
    }
    auto all = store->load_all();
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 2);
    require_same((*all)[0], rec);  // sorted by name: "https://..." < "kong"
    CHECK((*all)[1].name == "kong");
}

TEST_CASE("file_keystore survives a restart with identical records", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    const auto rec = make_record("kong");
    {
        auto store = file_keystore::open(tmp.path()).value();
        REQUIRE(store->store(rec).has_value());
    }
    auto reopened = file_keystore::open(tmp.path()).value();
    auto all = reopened->load_all();
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 1);
    require_same(all->front(), rec);
}

TEST_CASE("file_keystore refuses corrupt files with the file name in the message", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    auto store = file_keystore::open(tmp.path()).value();
    REQUIRE(store->store(make_record("kong")).has_value());
    const auto file = store->path_for("kong");
    const std::string good = slurp(file);

    auto expect_corrupt = [&](const std::string& fragment) {
        auto all = store->load_all();
        REQUIRE_FALSE(all.has_value());
        CHECK(all.error().code == keys_errc::corrupt);
        CHECK_THAT(all.error().message, Catch::Contains(file.string()));
        CHECK_THAT(all.error().message, Catch::Contains(fragment));
        auto one = store->load("kong");
        REQUIRE_FALSE(one.has_value());
        CHECK_THAT(one.error().message, Catch::Contains(file.string()));
        // The exception form carries the same message (start-up prints it).
        CHECK_THROWS_WITH(store->load_all().value(), Catch::Contains(file.string()));
    };

    SECTION("garbage")
    {
        overwrite(file, "this is not json");
        expect_corrupt("not valid JSON");
    }
    SECTION("truncated")
    {
        overwrite(file, good.substr(0, good.size() / 2));
        expect_corrupt("not valid JSON");
    }
    SECTION("empty")
    {
        overwrite(file, "");
        expect_corrupt("empty");
    }
    SECTION("checksum mismatch")
    {
        auto doc = json::parse(good);
        doc["keyset"]["generation"] = 7;
        overwrite(file, doc.dump());
        expect_corrupt("checksum");
    }
    SECTION("missing field, checksum recomputed")
    {
        auto doc = json::parse(good);
        doc["keyset"].erase("id");
        doc["sha256"] = sha256_hex(doc["keyset"].dump());
        overwrite(file, doc.dump());
        expect_corrupt("\"id\"");
    }
    SECTION("key that fails to import, checksum recomputed")
    {
        auto doc = json::parse(good);
        doc["keyset"]["keys"][0]["x"] = "AAAA";
        doc["sha256"] = sha256_hex(doc["keyset"].dump());
        overwrite(file, doc.dump());
        expect_corrupt("does not import");
    }
    SECTION("public key where a private one is required")
    {
        auto doc = json::parse(good);
        doc["keyset"]["keys"][0].erase("d");
        doc["sha256"] = sha256_hex(doc["keyset"].dump());
        overwrite(file, doc.dump());
        expect_corrupt("not a private key");
    }
    SECTION("record moved to another keyset's file name")
    {
        auto other = store->path_for("other");
        fs::rename(file, other);
        auto all = store->load_all();
        REQUIRE_FALSE(all.has_value());
        CHECK_THAT(all.error().message, Catch::Contains(other.string()));
        CHECK_THAT(all.error().message, Catch::Contains("does not match"));
    }
}

TEST_CASE("file_keystore permission handling", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    const auto data = tmp.path();
    const auto dir = data / "keys";
    {
        auto store = file_keystore::open(data).value();
        REQUIRE(store->store(make_record("kong")).has_value());
    }
    const auto file = dir / (sha256_hex("kong") + ".json");

    SECTION("group/world-readable key file is refused by default")
    {
        REQUIRE(::chmod(file.c_str(), 0644) == 0);
        auto store = file_keystore::open(data).value();
        auto all = store->load_all();
        REQUIRE_FALSE(all.has_value());
        CHECK(all.error().code == keys_errc::insecure_permissions);
        CHECK_THAT(all.error().message, Catch::Contains(file.string()) && Catch::Contains("0644"));
        CHECK(mode_of(file) == 0644);  // untouched
    }
    SECTION("... and tightened with repair_permissions")
    {
        REQUIRE(::chmod(file.c_str(), 0640) == 0);
        auto store = file_keystore::open(data, {.repair_permissions = true}).value();
        auto all = store->load_all();
        REQUIRE(all.has_value());
        CHECK(all->size() == 1);
        CHECK(mode_of(file) == 0600);
    }
    SECTION("group/world-accessible key directory is refused by default")
    {
        REQUIRE(::chmod(dir.c_str(), 0755) == 0);
        auto store = file_keystore::open(data);
        REQUIRE_FALSE(store.has_value());
        CHECK(store.error().code == keys_errc::insecure_permissions);
        CHECK_THAT(store.error().message, Catch::Contains(dir.string()) && Catch::Contains("chmod 700"));
    }
    SECTION("... and tightened with repair_permissions")
    {
        REQUIRE(::chmod(dir.c_str(), 0750) == 0);
        auto store = file_keystore::open(data, {.repair_permissions = true});
        REQUIRE(store.has_value());
        CHECK(mode_of(dir) == 0700);
    }
    SECTION("a symlinked key file is refused")
    {
        const auto elsewhere = data / "elsewhere.json";
        fs::rename(file, elsewhere);
        fs::create_symlink(elsewhere, file);
        auto store = file_keystore::open(data).value();
        auto all = store->load_all();
        REQUIRE_FALSE(all.has_value());
        CHECK(all.error().code == keys_errc::insecure_permissions);
        CHECK_THAT(all.error().message, Catch::Contains("symlink"));
    }
    SECTION("a symlinked key directory is refused")
    {
        fs::rename(dir, data / "real-keys");
        fs::create_directory_symlink(data / "real-keys", dir);
        auto store = file_keystore::open(data);
        REQUIRE_FALSE(store.has_value());
        CHECK(store.error().code == keys_errc::insecure_permissions);
    }
    SECTION("temp files are created 0600 even with a permissive umask")
    {
        const mode_t old = ::umask(0);
        auto store = file_keystore::open(data).value();
        auto rec = make_record("umask");
        REQUIRE(store->store(rec).has_value());
        ::umask(old);
        CHECK(mode_of(store->path_for("umask")) == 0600);
    }
}

TEST_CASE("file_keystore cleans leftover temp files and ignores strangers", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    {
        auto store = file_keystore::open(tmp.path()).value();
        REQUIRE(store->store(make_record("kong")).has_value());
    }
    const auto dir = tmp.path() / "keys";
    const std::string leftover = "." + sha256_hex("kong") + ".json.tmp.0011223344556677";
    overwrite(dir / leftover, "{\"half\":");
    overwrite(dir / "README", "not a key file");

    auto store = file_keystore::open(tmp.path()).value();
    CHECK_FALSE(fs::exists(dir / leftover));
    auto all = store->load_all();
    REQUIRE(all.has_value());
    CHECK(all->size() == 1);
    CHECK(fs::exists(dir / "README"));
}

TEST_CASE("file_keystore remove", "[jwt_signer][keystore]")
{
    countersign::test::temp_dir tmp("keystore");
    auto store = file_keystore::open(tmp.path()).value();
    REQUIRE(store->store(make_record("kong")).has_value());
    auto r = store->remove("kong");
    REQUIRE(r.has_value());
    CHECK(*r);
    CHECK_FALSE(fs::exists(store->path_for("kong")));
    CHECK(names_in(store->directory()).empty());
    auto again = store->remove("kong");
    REQUIRE(again.has_value());
    CHECK_FALSE(*again);
    CHECK_FALSE(store->remove("").has_value());
}

TEST_CASE("record_from_json validates fields", "[jwt_signer][keystore]")
{
    auto j = record_to_json(make_record("kong"));
    CHECK(record_from_json(j, "mem").has_value());
    for (const char* field : {"name", "id", "created_at", "updated_at", "generation", "keys", "previous"}) {
        auto broken = j;
        broken.erase(field);
        auto r = record_from_json(broken, "mem");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == keys_errc::corrupt);
        CHECK_THAT(r.error().message, Catch::Contains(field));
    }
    auto no_alg = j;
    no_alg["keys"][0].erase("alg");
    auto r = record_from_json(no_alg, "mem");
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("alg"));
}
