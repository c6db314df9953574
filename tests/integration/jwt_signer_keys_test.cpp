// jwt-signer part 2 end to end: re-signing with every algorithm, the key
// admin API, the public JWKS, rotation (also under load), restart, storage
// errors and URL keysets. Every JWKS answer is checked to be public only.
#include "jwt_signer_support.hpp"

#include <map>
#include <sys/stat.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

using namespace jwt_it;

namespace {

struct keys_rig {
    idp_server idp;
    echo_upstream up;
    std::unique_ptr<gateway_process> gw;

    explicit keys_rig(json extra = json::object(), std::string data_dir = "{{DIR}}/data")
    {
        idp.set_jwks(idp_keys::get().jwks);
        json cfg{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)}, {"channel_token_optional", true}};
        cfg.update(extra);
        gw = std::make_unique<gateway_process>(gateway_yaml(up.port(), cfg, "", data_dir));
    }
    std::string send_and_capture(const json& claims = default_claims())
    {
        auto r = get(gw->proxy_port(), "/api", {{"Authorization", bearer(idp_keys::get().token(claims))}});
        INFO(r.body);
        REQUIRE(r.status == 200);
        return upstream_token(*up.last_request());
    }
};

unsigned mode_of(const std::filesystem::path& p)
{
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("jwt-signer keys: all 12 signing algorithms verify with python3-jwt", "[integration][jwt_signer][keys]")
{
    idp_server idp;
    idp.set_jwks(idp_keys::get().jwks);
    echo_upstream up;
    const std::vector<std::string> algs{"HS256", "HS384", "HS512", "RS256", "RS512", "ES256",
                                        "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"};
    std::string yaml = R"(_format_version: "3.0"
countersign:
  workers: 1
  data_dir: "{{DIR}}/data"
services:
  - name: echo
    url: http://127.0.0.1:)" + std::to_string(up.port()) + R"(
    routes:
)";
    for (const auto& a : algs) {
        json cfg{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)},
                 {"channel_token_optional", true},
                 {"access_token_signing_algorithm", a}};
        yaml += "      - name: r-" + a + "\n        paths: [\"/" + a + "\"]\n        plugins:\n"
                "          - name: jwt-signer\n            config: " + cfg.dump() + "\n";
    }
    gateway_process gw(yaml);
    const json admin = merged(admin_jwks(gw));
    const json pub = public_jwks(gw);
    for (const auto& a : algs) {
        INFO(a);
        auto r = get(gw.proxy_port(), "/" + a, {{"Authorization", bearer(idp_keys::get().token(default_claims()))}});
        REQUIRE(r.status == 200);
        const auto token = upstream_token(*up.last_request());
        auto header = json::parse(jose::base64url_decode(token.substr(0, token.find('.'))).value());
        CHECK(header["alg"] == a);
        CHECK(header["typ"] == "JWT");
        if (a[0] == 'H') {
            // symmetric keys are never published
            for (const auto& k : admin["keys"]) CHECK(k["kid"] != header["kid"]);
            continue;
        }
        std::string why;
        auto v = pyjwt_verify(token, admin, &why);
        INFO(why);
        CHECK(v);
        CHECK(pyjwt_verify(token, pub, &why));
    }
}

TEST_CASE("jwt-signer keys: admin API shapes, public JWKS, rotate and delete", "[integration][jwt_signer][keys]")
{
    keys_rig t;
    auto list = get(t.gw->admin_port(), "/jwt-signer/jwks");
    REQUIRE(list.status == 200);
    auto lj = list.json();
    check_public_only(lj);
    REQUIRE(lj["data"].size() == 1);
    const auto row = lj["data"][0];
    CHECK(row["name"] == "kong");
    CHECK(row["id"].is_string());
    CHECK(row["created_at"].is_number());
    CHECK(lj["next"].is_null());
    // by id too
    auto by_id = get(t.gw->admin_port(), "/jwt-signer/jwks/" + row["id"].get<std::string>());
    CHECK(by_id.status == 200);
    CHECK(get(t.gw->admin_port(), "/jwt-signer/jwks/nope").status == 404);

    // public JWKS: ETag and 304
    auto p1 = get(t.gw->proxy_port(), "/.well-known/jwks/kong.json");
    REQUIRE(p1.status == 200);
    check_public_only(p1.json());
    auto p304 = get(t.gw->proxy_port(), "/.well-known/jwks/kong.json", {{"If-None-Match", p1.header("etag")}});
    CHECK(p304.status == 304);
    CHECK(get(t.gw->proxy_port(), "/.well-known/jwks/unknown.json").status == 404);

    // a token signed before the rotation still verifies after it
    const auto before = t.send_and_capture();
    const auto old_admin = admin_jwks(*t.gw);
    auto rot = request(t.gw->admin_port(), "POST", "/jwt-signer/jwks/kong/rotate");
    REQUIRE(rot.status == 200);
    auto rj = rot.json();
    check_public_only(rj);
    CHECK(rj["previous"] == old_admin["keys"]);
    CHECK(rj["keys"] != old_admin["keys"]);
    CHECK(pyjwt_verify(before, merged(admin_jwks(*t.gw))));
    CHECK(pyjwt_verify(before, public_jwks(*t.gw)));
    auto p2 = get(t.gw->proxy_port(), "/.well-known/jwks/kong.json");
    CHECK(p2.header("etag") != p1.header("etag"));
    const auto after = t.send_and_capture();
    CHECK(pyjwt_verify(after, merged(admin_jwks(*t.gw))));
    // rotate twice to forget
    REQUIRE(request(t.gw->admin_port(), "POST", "/jwt-signer/jwks/kong/rotate").status == 200);
    CHECK_FALSE(pyjwt_verify(before, merged(admin_jwks(*t.gw))));

    // delete: 204, then 404; the next request regenerates it
    CHECK(request(t.gw->admin_port(), "DELETE", "/jwt-signer/jwks/kong").status == 204);
    CHECK(get(t.gw->admin_port(), "/jwt-signer/jwks/kong").status == 404);
    const auto regenerated = t.send_and_capture();
    CHECK(pyjwt_verify(regenerated, merged(admin_jwks(*t.gw))));
}

TEST_CASE("jwt-signer keys: restart keeps the keys; modes; corrupt files stop start-up",
          "[integration][jwt_signer][keys]")
{
    temp_dir data("countersign-keys");
    const std::string dir = (data.path() / "data").string();
    std::string token;
    json jwks_before;
    {
        keys_rig t(json::object(), dir);
        token = t.send_and_capture();
        jwks_before = admin_jwks(*t.gw);
    }
    const auto keys_dir = std::filesystem::path(dir) / "keys";
    CHECK(mode_of(keys_dir) == 0700);
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(keys_dir)) files.push_back(e.path());
    REQUIRE(files.size() >= 1);
    for (const auto& f : files) CHECK(mode_of(f) == 0600);
    {
        keys_rig t(json::object(), dir);
        CHECK(admin_jwks(*t.gw) == jwks_before);
        CHECK(pyjwt_verify(token, merged(admin_jwks(*t.gw))));
    }
    // corrupt the file: start-up fails with a message naming it
    {
        std::ofstream(files[0], std::ios::trunc) << "{ not json";
        idp_server idp;
        echo_upstream up;
        gateway_options o;
        o.config_yaml = gateway_yaml(up.port(), json{{"channel_token_optional", true}}, "", dir);
        o.wait_ready = false;
        gateway_process gw(o);
        auto code = gw.wait_exit(std::chrono::seconds(20));
        REQUIRE(code);
        CHECK(*code != 0);
        INFO(gw.stderr_text());
        CHECK(gw.stderr_text().find(files[0].filename().string()) != std::string::npos);
    }
}

TEST_CASE("jwt-signer keys: URL keyset with Basic credentials, rotate with a body", "[integration][jwt_signer][keys]")
{
    // The key service: private JWKs with alg, behind Basic auth.
    idp_server keysvc;
    json priv{{"keys", json::array()}};
    for (auto a : {jose::alg::rs256, jose::alg::es256}) {
        auto k = jose::jwk::generate(a).value().with_alg(a).value();
        auto j = k.to_private_json();
        j["kid"] = std::string(jose::to_string(a)) + "-1";
        priv["keys"].push_back(j);
    }
    keysvc.set_jwks(priv);
    keysvc.require_basic("keys", "s3cret");
    const std::string url = keysvc.url(idp_server::jwks_path);

    keys_rig t(json{{"access_token_keyset", url},
                    {"access_token_keyset_client_username", "keys"},
                    {"access_token_keyset_client_password", "s3cret"}});
    const auto token = t.send_and_capture();
    auto header = json::parse(jose::base64url_decode(token.substr(0, token.find('.'))).value());
    CHECK(header["kid"] == "RS256-1");
    std::string encoded;
    for (char c : url) {
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_') encoded += c;
        else {
            char b[4];
            std::snprintf(b, sizeof b, "%%%02X", static_cast<unsigned char>(c));
            encoded += b;
        }
    }
    auto admin = admin_jwks(*t.gw, encoded);
    CHECK(pyjwt_verify(token, merged(admin)));

    // rotate with credentials in the body: the old download becomes previous
    auto r = request(t.gw->admin_port(), "POST", "/jwt-signer/jwks/" + encoded + "/rotate", {},
                     json{{"client_username", "keys"}, {"client_password", "s3cret"}}.dump());
    INFO(r.body);
    REQUIRE(r.status == 200);
    check_public_only(r.json());
    CHECK(r.json()["previous"].size() == 2);
    // wrong credentials: 500, keys unchanged
    r = request(t.gw->admin_port(), "POST", "/jwt-signer/jwks/" + encoded + "/rotate", {},
                json{{"client_username", "keys"}, {"client_password", "wrong"}}.dump());
    CHECK(r.status == 500);
}

// Proxy connections are accepted on their own thread, so rotations (key
// generation on the control thread) never stall clients. Tokens are verified
// with python3-jwt in one batch at the end, each against the public JWKS
// fetched right after it arrived.
TEST_CASE("jwt-signer keys: 50 rotations under load lose no request", "[integration][jwt_signer][keys]")
{
    keys_rig t;
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0}, total{0};
    std::vector<std::thread> clients;
    std::mutex mu;
    // Each token with the public JWKS fetched right after it arrived; the
    // JWKS documents are deduplicated (one per generation pair).
    std::vector<std::pair<std::string, std::size_t>> received;
    std::vector<json> jwks_docs;
    std::map<std::string, std::size_t> jwks_index;
    for (int i = 0; i < 8; ++i) {
        clients.emplace_back([&, i] {
            while (!stop) {
                try {
                    auto claims = default_claims();
                    claims["client"] = i;
                    auto r = get(t.gw->proxy_port(), "/api", {{"Authorization", bearer(idp_keys::get().token(claims))}});
                    ++total;
                    if (r.status != 200) {
                        ++failures;
                        continue;
                    }
                    const auto echoed = r.json();
                    std::string tok = echoed["headers"]["authorization"].get<std::string>().substr(7);
                    auto jwks_body = get(t.gw->proxy_port(), "/.well-known/jwks/kong.json").body;
                    std::lock_guard l(mu);
                    auto [it, fresh] = jwks_index.try_emplace(jwks_body, jwks_docs.size());
                    if (fresh)
                        jwks_docs.push_back(json::parse(jwks_body));
                    received.emplace_back(std::move(tok), it->second);
                } catch (const std::exception&) {
                    ++failures;
                }
                // Leave CPU for the key generation of the rotations.
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        });
    }
    // Rotation generates a full keyset (RSA included): on a loaded machine
    // that can take seconds, so the admin call gets a generous guard. The
    // clients are always joined, even if a rotation call throws.
    int rotations = 0;
    std::string rotate_error;
    request_options slow;
    slow.timeout = std::chrono::seconds(120);
    try {
        for (int i = 0; i < 50; ++i)
            if (request(t.gw->admin_port(), "POST", "/jwt-signer/jwks/kong/rotate", {}, {}, slow).status == 200)
                ++rotations;
    } catch (const std::exception& e) {
        rotate_error = e.what();
    }
    stop = true;
    for (auto& c : clients) c.join();
    INFO(rotate_error);
    CHECK(rotations == 50);
    CHECK(total > 0);
    CHECK(failures == 0);
    REQUIRE(!received.empty());
    CHECK(jwks_docs.size() > 1);  // rotations were observed by the clients
    for (const auto& jwks : jwks_docs)  // Catch2 asserts on this thread only
        check_public_only(jwks);
    std::size_t unverified = 0;
    std::string first_error;
    const auto results = pyjwt_verify_batch(received, jwks_docs);
    for (const auto& why : results)
        if (!why.empty() && unverified++ == 0)
            first_error = why;
    INFO(first_error);
    CHECK(unverified == 0);
}
