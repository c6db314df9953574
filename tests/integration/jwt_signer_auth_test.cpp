// jwt-signer part 1 end to end: the real binary, a loopback IdP (JWKS and
// introspection) and an echo upstream. Every rejection asserts that the
// upstream saw nothing.
#include "jwt_signer_support.hpp"

using namespace jwt_it;

namespace {

json base_config(const idp_server& idp)
{
    return json{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)}, {"channel_token_optional", true}};
}

struct rig {
    idp_server idp;
    echo_upstream up;
    std::unique_ptr<gateway_process> gw;

    explicit rig(const std::function<void(json&, const idp_server&)>& tweak = {}, const std::string& consumers = "")
    {
        idp.set_jwks(idp_keys::get().jwks);
        json cfg = base_config(idp);
        if (tweak) tweak(cfg, idp);
        gw = std::make_unique<gateway_process>(gateway_yaml(up.port(), cfg, consumers));
    }
    http_response call(const header_list& headers, const std::string& target = "/api")
    {
        return get(gw->proxy_port(), target, headers);
    }
    /// Asserts Kong's rejection answer and that the upstream saw nothing.
    void expect_reject(const http_response& r, unsigned status, const std::string& error,
                       const std::string& description, std::size_t upstream_before)
    {
        INFO(r.body);
        CHECK(r.status == status);
        const char* msg = status == 401 ? "Unauthorized" : status == 403 ? "Forbidden" : "An unexpected error occurred";
        CHECK(r.json() == json{{"message", msg}});
        CHECK(r.header("www-authenticate") ==
              "Bearer realm=\"127.0.0.1\", error=\"" + error + "\", error_description=\"" + description + "\"");
        CHECK(up.requests() == upstream_before);
    }
};

}  // namespace

TEST_CASE("jwt-signer: each algorithm family from a JWKS is re-signed and verifies with python3-jwt",
          "[integration][jwt_signer]")
{
    rig t;
    const json admin = admin_jwks(*t.gw);
    const json pub = public_jwks(*t.gw);
    CHECK(admin["keys"].size() == 10);  // RS256/384/512, PS*, ES*, EdDSA (HS never published)
    CHECK(admin["previous"] == json::array());

    for (const std::string kid : {"rs", "es", "ed", "ps"}) {
        INFO(kid);
        auto claims = default_claims();
        auto r = t.call({{"Authorization", bearer(idp_keys::get().token(claims, kid))}});
        REQUIRE(r.status == 200);
        auto seen = t.up.last_request();
        REQUIRE(seen);
        const auto token = upstream_token(*seen);
        CHECK(seen->header("authorization").rfind("Bearer ", 0) == 0);
        std::string why;
        auto v1 = pyjwt_verify(token, merged(admin), &why);
        INFO(why);
        REQUIRE(v1);
        CHECK((*v1)["header"]["alg"] == "RS256");
        CHECK((*v1)["header"]["typ"] == "JWT");
        CHECK((*v1)["claims"]["iss"] == "kong");
        CHECK((*v1)["claims"]["original_iss"] == "https://idp.example");
        CHECK((*v1)["claims"]["sub"] == "alice");
        CHECK((*v1)["claims"]["exp"] == claims["exp"]);
        CHECK(pyjwt_verify(token, pub, &why));
    }
    CHECK(t.idp.calls(idp_server::jwks_path) == 1);
}

TEST_CASE("jwt-signer: error table rows", "[integration][jwt_signer]")
{
    rig t([](json& c, const idp_server&) {
        c["access_token_introspection_endpoint"] = nullptr;
        c["access_token_scopes_required"] = json::array({"coffee"});
    });
    const auto& k = idp_keys::get();
    auto before = t.up.requests();

    // token missing
    t.expect_reject(t.call({}), 401, "invalid_token", "the access token is invalid", before);
    // JWE
    const std::string h = jose::base64url_encode(R"({"alg":"RSA-OAEP","enc":"A256GCM"})");
    t.expect_reject(t.call({{"Authorization", bearer(h + ".YWFh.YmJi.Y2Nj.ZGRk")}}), 401, "invalid_token",
                    "the access token is invalid", before);
    // opaque, introspection enabled, no endpoint
    t.expect_reject(t.call({{"Authorization", bearer("opaque-123")}}), 500, "unexpected",
                    "the access token introspection endpoint was not specified", before);
    // bad signature
    auto tok = k.token(default_claims());
    tok.back() = tok.back() == 'A' ? 'B' : 'A';
    t.expect_reject(t.call({{"Authorization", bearer(tok)}}), 401, "invalid_token",
                    "the access token could not be verified", before);
    // expired
    auto claims = default_claims();
    claims["exp"] = now_s() - 30;
    t.expect_reject(t.call({{"Authorization", bearer(k.token(claims))}}), 401, "invalid_token",
                    "the access token expired", before);
    // scopes
    claims = default_claims();
    claims["scope"] = "tea";
    t.expect_reject(t.call({{"Authorization", bearer(k.token(claims))}}), 403, "invalid_token",
                    "the access token is invalid", before);
    // a good one passes
    CHECK(t.call({{"Authorization", bearer(k.token(default_claims()))}}).status == 200);
    CHECK(t.up.requests() == before + 1);
}

TEST_CASE("jwt-signer: no jwks_uri and introspection disabled", "[integration][jwt_signer]")
{
    rig t([](json& c, const idp_server&) {
        c.erase("access_token_jwks_uri");
        c["enable_access_token_introspection"] = false;
        c["realm"] = "example";
    });
    auto r = t.call({{"Authorization", bearer(idp_keys::get().token(default_claims()))}});
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") ==
          R"(Bearer realm="example", error="invalid_token", error_description="the access token could not be verified")");
    r = t.call({{"Authorization", bearer("opaque")}});
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate") ==
          R"(Bearer realm="example", error="invalid_token", error_description="the access token is invalid")");
    CHECK(t.up.requests() == 0);
}

TEST_CASE("jwt-signer: scopes on a nested claim path (coffee passes, tea fails)", "[integration][jwt_signer]")
{
    auto claims = default_claims();
    claims["employee"] = {{"favourites", {{"beverage", "coffee"}}}};
    for (const std::string need : {"coffee", "tea"}) {
        rig t([&](json& c, const idp_server&) {
            c["access_token_scopes_claim"] = json::array({"employee", "favourites", "beverage"});
            c["access_token_scopes_required"] = json::array({need});
        });
        auto r = t.call({{"Authorization", bearer(idp_keys::get().token(claims))}});
        CHECK(r.status == (need == "coffee" ? 200u : 403u));
    }
    // OR of ANDs: ["a b", "c"]
    rig t([](json& c, const idp_server&) { c["access_token_scopes_required"] = json::array({"openid tea", "coffee"}); });
    CHECK(t.call({{"Authorization", bearer(idp_keys::get().token(default_claims()))}}).status == 200);
    claims = default_claims();
    claims["scope"] = "openid";
    CHECK(t.call({{"Authorization", bearer(idp_keys::get().token(claims))}}).status == 403);
}

TEST_CASE("jwt-signer: consumer mapping by username, custom_id and id", "[integration][jwt_signer]")
{
    const std::string consumers = R"(consumers:
  - username: alice
    custom_id: cust-alice
    id: 0b4c3f5e-8e36-4d1e-9c61-2d0a6f7a1c11
)";
    struct row {
        const char* by;
        const char* claim;
        const char* value;
    };
    for (auto r : {row{"username", "sub", "alice"}, row{"custom_id", "cid", "cust-alice"},
                   row{"id", "uid", "0B4C3F5E-8E36-4D1E-9C61-2D0A6F7A1C11"}}) {
        INFO(r.by);
        rig t(
            [&](json& c, const idp_server&) {
                c["access_token_consumer_claim"] = json::array({r.claim});
                c["access_token_consumer_by"] = json::array({r.by});
            },
            consumers);
        auto claims = default_claims();
        claims[r.claim] = r.value;
        auto res = t.call({{"Authorization", bearer(idp_keys::get().token(claims))}});
        REQUIRE(res.status == 200);
        auto seen = t.up.last_request();
        REQUIRE(seen);
        CHECK(seen->header("x-consumer-username") == "alice");
        CHECK(seen->header("x-consumer-custom-id") == "cust-alice");
        CHECK(seen->header("x-consumer-id") == "0b4c3f5e-8e36-4d1e-9c61-2d0a6f7a1c11");

        // unknown consumer and missing claim: 403
        auto before = t.up.requests();
        claims[r.claim] = "nobody";
        t.expect_reject(t.call({{"Authorization", bearer(idp_keys::get().token(claims))}}), 403, "invalid_token",
                        "the access token is invalid", before);
        claims.erase(r.claim);
        t.expect_reject(t.call({{"Authorization", bearer(idp_keys::get().token(claims))}}), 403, "invalid_token",
                        "the access token is invalid", before);
    }
}

TEST_CASE("jwt-signer: introspection with Basic auth, body args, hint and the cache", "[integration][jwt_signer]")
{
    rig t([](json& c, const idp_server& idp) {
        c["access_token_introspection_endpoint"] = idp.url(idp_server::introspection_path);
        c["access_token_introspection_authorization"] = "Basic Y2xpZW50OnNlY3JldA==";
        c["access_token_introspection_body_args"] = "resource=api&x=1";
    });
    idp_server& idp = t.idp;
    idp.set_token("opaque-good", json{{"active", true},
                                      {"sub", "bob"},
                                      {"iss", "https://idp.example"},
                                      {"scope", "read"},
                                      {"client_id", "c1"},
                                      {"exp", now_s() + 300}});
    idp.set_token("opaque-noexp", json{{"active", true}, {"sub", "bob"}});
    idp.reset_calls();

    auto r = t.call({{"Authorization", bearer("opaque-good")}});
    REQUIRE(r.status == 200);
    auto req = idp.last_request(idp_server::introspection_path);
    REQUIRE(req);
    CHECK(req->method == "POST");
    CHECK(req->headers["authorization"] == "Basic Y2xpZW50OnNlY3JldA==");
    CHECK(req->form["token"] == "opaque-good");
    CHECK(req->form["token_type_hint"] == "access_token");
    CHECK(req->form["resource"] == "api");
    CHECK(req->form["x"] == "1");

    auto seen = t.up.last_request();
    REQUIRE(seen);
    std::string why;
    auto v = pyjwt_verify(upstream_token(*seen), merged(admin_jwks(*t.gw)), &why);
    INFO(why);
    REQUIRE(v);
    CHECK((*v)["claims"]["sub"] == "bob");
    CHECK((*v)["claims"]["client_id"] == "c1");
    CHECK((*v)["claims"]["iss"] == "kong");
    CHECK_FALSE((*v)["claims"].contains("active"));

    // cached: a second request makes no call
    CHECK(t.call({{"Authorization", bearer("opaque-good")}}).status == 200);
    CHECK(idp.calls(idp_server::introspection_path) == 1);

    auto before = t.up.requests();
    t.expect_reject(t.call({{"Authorization", bearer("opaque-unknown")}}), 401, "invalid_token",
                    "the access token inactive", before);
    t.expect_reject(t.call({{"Authorization", bearer("opaque-noexp")}}), 401, "invalid_token",
                    "the access token introspection has no expiry", before);
}

TEST_CASE("jwt-signer: both tokens, introspected access token and JWT channel token", "[integration][jwt_signer]")
{
    idp_server idp;
    idp.set_jwks(idp_keys::get().jwks);
    idp.set_token("opaque-a", json{{"active", true}, {"sub", "svc"}, {"exp", now_s() + 300}});
    echo_upstream up;
    json cfg{{"access_token_introspection_endpoint", idp.url(idp_server::introspection_path)},
             {"channel_token_request_header", "X-JWT-channel-client"},
             {"channel_token_jwks_uri", idp.url(idp_server::jwks_path)},
             {"channel_token_upstream_header", "X-JWT-channel-upstream"},
             {"channel_token_signing_algorithm", "ES256"},
             {"original_channel_token_upstream_header", "X-Original-Channel"}};
    gateway_process gw(gateway_yaml(up.port(), cfg));
    auto channel = idp_keys::get().token(default_claims(), "ed");

    auto r = get(gw.proxy_port(), "/x", {{"Authorization", bearer("opaque-a")}, {"X-JWT-channel-client", channel}});
    REQUIRE(r.status == 200);
    auto seen = up.last_request();
    REQUIRE(seen);
    CHECK_FALSE(seen->has_header("x-jwt-channel-client"));
    CHECK(seen->header("x-original-channel") == channel);
    const json keys = merged(admin_jwks(gw));
    auto a = pyjwt_verify(upstream_token(*seen), keys);
    auto c = pyjwt_verify(seen->header("x-jwt-channel-upstream"), keys);
    REQUIRE(a);
    REQUIRE(c);
    CHECK((*a)["claims"]["sub"] == "svc");
    CHECK((*c)["header"]["alg"] == "ES256");
    CHECK((*c)["claims"]["sub"] == "alice");

    // each one missing
    auto before = up.requests();
    r = get(gw.proxy_port(), "/x", {{"X-JWT-channel-client", channel}});
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate").find("the access token is invalid") != std::string::npos);
    r = get(gw.proxy_port(), "/x", {{"Authorization", bearer("opaque-a")}});
    CHECK(r.status == 401);
    CHECK(r.header("www-authenticate").find("the channel token is invalid") != std::string::npos);
    CHECK(up.requests() == before);
}

TEST_CASE("jwt-signer: verification off re-signs any JWT", "[integration][jwt_signer]")
{
    rig t([](json& c, const idp_server&) {
        c.erase("access_token_jwks_uri");
        c["verify_access_token_signature"] = false;
    });
    const std::string unsigned_tok = jose::base64url_encode(R"({"alg":"none"})") + "." +
                                     jose::base64url_encode(default_claims().dump()) + ".";
    auto r = t.call({{"Authorization", bearer(unsigned_tok)}});
    REQUIRE(r.status == 200);
    auto v = pyjwt_verify(upstream_token(*t.up.last_request()), merged(admin_jwks(*t.gw)));
    REQUIRE(v);
    CHECK((*v)["claims"]["sub"] == "alice");
}

TEST_CASE("jwt-signer: attack cases never reach the upstream", "[integration][jwt_signer][security]")
{
    rig t([](json& c, const idp_server&) { c["access_token_issuers_allowed"] = json::array({"https://idp.example"}); });
    const auto& k = idp_keys::get();
    const auto claims = default_claims();
    const std::string p = jose::base64url_encode(claims.dump());
    auto& rs = k.keys.at("rs");

    std::vector<std::pair<std::string, std::string>> attacks;
    for (std::string alg : {"none", "None", "NONE"})
        attacks.emplace_back("alg " + alg, jose::base64url_encode(json{{"alg", alg}, {"kid", "rs"}}.dump()) + "." + p + ".");
    {
        auto hs = jose::jwk::from_secret(rs.public_key().value().to_pem_public()).value();
        attacks.emplace_back("HS256 with the RSA public key",
                             jose::sign_compact({{"kid", "rs"}, {"typ", "JWT"}}, claims.dump(), jose::alg::hs256, hs).value());
    }
    auto attacker = jose::jwk::generate(jose::alg::rs256).value().with_kid("rs");
    for (const char* h : {"jku", "x5u"})
        attacks.emplace_back(std::string(h) + " injection",
                             jose::sign_compact({{"kid", "rs"}, {h, t.idp.url("/evil")}}, claims.dump(),
                                                jose::alg::rs256, attacker)
                                 .value());
    attacks.emplace_back("jwk injection",
                         jose::sign_compact({{"kid", "rs"}, {"jwk", attacker.public_key().value().to_public_json()}},
                                            claims.dump(), jose::alg::rs256, attacker)
                             .value());
    attacks.emplace_back("kid traversal", jose::sign_compact({{"kid", "../../../../dev/null"}}, claims.dump(),
                                                             jose::alg::hs256, jose::jwk::from_secret(std::string(32, '\0')).value())
                                              .value());
    {
        auto c = claims;
        c["exp"] = now_s() - 60;
        attacks.emplace_back("expired", k.token(c));
        c = claims;
        c["iss"] = "https://evil.example";
        attacks.emplace_back("wrong issuer", k.token(c));
        c = claims;
        c["pad"] = std::string(9000, 'x');
        attacks.emplace_back("oversized", k.token(c));
    }
    t.idp.reset_calls();
    for (const auto& [name, tok] : attacks) {
        INFO(name);
        auto r = t.call({{"Authorization", bearer(tok)}});
        CHECK(r.status == 401);
        CHECK(r.header("www-authenticate").find("error=\"invalid_token\"") != std::string::npos);
    }
    CHECK(t.up.requests() == 0);
    CHECK(t.idp.calls("/evil") == 0);
}

TEST_CASE("jwt-signer: IdP outage keeps cached keys working, a new kid fails fast", "[integration][jwt_signer]")
{
    rig t;
    const auto tok = idp_keys::get().token(default_claims());
    REQUIRE(t.call({{"Authorization", bearer(tok)}}).status == 200);
    t.idp.stop_listening();
    CHECK(t.call({{"Authorization", bearer(tok)}}).status == 200);

    auto fresh = jose::jwk::generate(jose::alg::rs256).value().with_kid("rotated-away");
    auto unknown = jose::sign_compact({{"kid", "rotated-away"}, {"typ", "JWT"}}, default_claims().dump(),
                                      jose::alg::rs256, fresh)
                       .value();
    auto before = t.up.requests();
    auto t0 = std::chrono::steady_clock::now();
    auto r = t.call({{"Authorization", bearer(unknown)}});
    CHECK(r.status == 401);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
    CHECK(t.up.requests() == before);
}

TEST_CASE("jwt-signer: leeway around exp", "[integration][jwt_signer]")
{
    for (int leeway : {0, 3, 10}) {
        rig t([&](json& c, const idp_server&) { c["access_token_leeway"] = leeway; });
        auto claims = default_claims();
        claims["exp"] = now_s() - 5;  // 5 s ago
        CHECK(t.call({{"Authorization", bearer(idp_keys::get().token(claims))}}).status == (leeway >= 10 ? 200u : 401u));
        claims["exp"] = now_s() - 1;
        CHECK(t.call({{"Authorization", bearer(idp_keys::get().token(claims))}}).status == (leeway >= 3 ? 200u : 401u));
        claims["exp"] = now_s() + 5;
        CHECK(t.call({{"Authorization", bearer(idp_keys::get().token(claims))}}).status == 200u);
    }
}

TEST_CASE("jwt-signer: introspection_jwt_claim and trust off", "[integration][jwt_signer]")
{
    const auto inner = idp_keys::get().token(json{{"sub", "carol"}, {"scope", "tea"}, {"exp", now_s() + 300}});
    for (bool trust : {true, false}) {
        INFO(trust);
        rig t([&](json& c, const idp_server& idp) {
            c["access_token_introspection_endpoint"] = idp.url(idp_server::introspection_path);
            c["access_token_introspection_jwt_claim"] = json::array({"token_string"});
            c["trust_access_token_introspection"] = trust;
            c["access_token_scopes_required"] = json::array({"coffee"});
        });
        t.idp.set_token("opaque-j", json{{"active", true}, {"exp", now_s() + 300}, {"token_string", inner}});
        t.idp.set_token("opaque-nojwt", json{{"active", true}, {"exp", now_s() + 300}});
        auto r = t.call({{"Authorization", bearer("opaque-j")}});
        // the payload (scope tea) fails the coffee requirement only when not trusted
        CHECK(r.status == (trust ? 200u : 403u));
        if (trust) {
            auto v = pyjwt_verify(upstream_token(*t.up.last_request()), merged(admin_jwks(*t.gw)));
            REQUIRE(v);
            CHECK((*v)["claims"]["sub"] == "carol");
        }
        auto before = t.up.requests();
        t.expect_reject(t.call({{"Authorization", bearer("opaque-nojwt")}}), 401, "invalid_token",
                        "the access token is invalid", before);
    }
}
