// The key admin handlers and the public JWKS, without any listener.
#include <catch2/catch.hpp>

#include <countersign/jwt_signer/file_keystore.hpp>
#include <countersign/jwt_signer/key_admin.hpp>

#include "support/temp_dir.hpp"

using namespace countersign;
using namespace countersign::jwt_signer;
using json = nlohmann::json;

namespace {

void check_public_only(const json& doc)
{
    for (const char* list : {"keys", "previous"}) {
        if (!doc.contains(list)) continue;
        for (const auto& k : doc[list]) {
            CHECK(k.value("kty", "") != "oct");
            for (const char* m : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) CHECK_FALSE(k.contains(m));
        }
    }
}

}  // namespace

TEST_CASE("key admin: list, get, rotate, delete and the public JWKS", "[jwt_signer][key_admin]")
{
    test::temp_dir dir("countersign-keyadmin");
    auto store = file_keystore::open(dir.path()).value();
    jwt_signer_services svc(store, clock::system());
    REQUIRE(svc.keysets().get_or_create("kong").has_value());
    REQUIRE(svc.keysets().get_or_create("other").has_value());

    auto list = list_keysets(svc.keysets(), "");
    REQUIRE(list.status == 200);
    auto lj = json::parse(list.body);
    REQUIRE(lj["data"].size() == 2);
    CHECK(lj["next"].is_null());
    for (const auto& row : lj["data"]) check_public_only(row);
    auto page = json::parse(list_keysets(svc.keysets(), "size=1").body);
    CHECK(page["data"].size() == 1);
    CHECK(page["next"] == "/jwt-signer/jwks?offset=1&size=1");
    CHECK(page["offset"] == "1");
    auto page2 = json::parse(list_keysets(svc.keysets(), "size=1&offset=1").body);
    CHECK(page2["data"].size() == 1);
    CHECK(page2["next"].is_null());
    CHECK(list_keysets(svc.keysets(), "size=0").status == 400);

    auto g = get_keyset(svc.keysets(), "kong");
    REQUIRE(g.status == 200);
    CHECK(g.content_type == "application/jwk-set+json");
    auto gj = json::parse(g.body);
    check_public_only(gj);
    CHECK(gj["previous"] == json::array());
    CHECK(gj["keys"].size() == 10);  // 13 generated minus 3 HS
    const std::string id = svc.keysets().find("kong")->id();
    CHECK(get_keyset(svc.keysets(), id).status == 200);
    CHECK(get_keyset(svc.keysets(), "nope").status == 404);

    auto pub = serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "GET", "/.well-known/jwks/kong.json");
    REQUIRE(pub);
    CHECK(pub->status == 200);
    check_public_only(json::parse(pub->body));
    std::string etag;
    for (auto& [k, v] : pub->headers)
        if (k == "ETag") etag = v;
    REQUIRE_FALSE(etag.empty());
    CHECK(serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "GET", "/.well-known/jwks/kong.json", etag)->status == 304);
    CHECK(serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "POST", "/.well-known/jwks/kong.json")->status == 405);
    CHECK(serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "GET", "/.well-known/jwks/nope.json")->status == 404);
    CHECK(serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "GET", "/.well-known/jwks/kong")->status == 404);
    CHECK_FALSE(serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "GET", "/api/x"));

    auto rot = rotate_keyset(svc, "kong", "");
    REQUIRE(rot.status == 200);
    auto rj = json::parse(rot.body);
    check_public_only(rj);
    CHECK(rj["previous"] == gj["keys"]);
    auto pub2 = serve_public_jwks(svc.keysets(), "/.well-known/jwks/", "GET", "/.well-known/jwks/kong.json", etag);
    CHECK(pub2->status == 200);  // new ETag after rotation
    CHECK(json::parse(pub2->body)["keys"].size() == 20);  // current + previous
    CHECK(rotate_keyset(svc, "nope", "").status == 404);

    CHECK(delete_keyset(svc.keysets(), "other").status == 204);
    CHECK(delete_keyset(svc.keysets(), "other").status == 404);
    CHECK(json::parse(list_keysets(svc.keysets(), "").body)["data"].size() == 1);
}
