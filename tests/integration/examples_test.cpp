// config/examples/ end to end: every file there is listed here and passes
// `countersign check`, and each jwt-signer use case of docs/jwt-signer.md
// ("Use cases") runs the real binary on the example file itself.
//
// The examples point at the demo IdP (127.0.0.1:9000), the echo upstream
// (127.0.0.1:8080) and the default listeners (127.0.0.1:8000 / :8001) with
// data_dir ./data. The tests replace exactly those literals with a loopback
// idp_server, an echo_upstream, free ports and a temp dir, and fail when one
// of them is missing, so a file edited out of step with its test is noticed.
#include "jwt_signer_support.hpp"

#include <filesystem>
#include <functional>
#include <set>
#include <string_view>

using namespace jwt_it;

namespace {

/// Run end to end by a test case below.
const std::set<std::string> k_use_case_files = {
    "jwt-signer-jwks.yaml",          "jwt-signer-introspection.yaml", "jwt-signer-two-tokens.yaml",
    "jwt-signer-resign-only.yaml",   "jwt-signer-nested-scope.yaml",  "jwt-signer-rotation.yaml",
    "echo-upstream.yaml",
};
/// Only validated with `countersign check` (they need hosts the tests do not have).
const std::set<std::string> k_check_only_files = {"proxy-basic.yaml", "jwt-signer-url-keyset.yaml"};

constexpr std::string_view demo_idp = "http://127.0.0.1:9000";
constexpr std::string_view demo_upstream = "http://127.0.0.1:8080";
constexpr std::string_view demo_proxy = "127.0.0.1:8000";
constexpr std::string_view demo_admin = "127.0.0.1:8001";
constexpr std::string_view demo_data_dir = "data_dir: ./data";

/// Basic base64("demo-client:demo-secret"), as written in the examples.
constexpr std::string_view demo_basic = "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=";

std::filesystem::path example_path(const std::string& name) { return source_path("config/examples/" + name); }

std::string example_text(const std::string& name)
{
    const auto path = example_path(name);
    INFO("example file " << path.string());
    REQUIRE(std::filesystem::is_regular_file(path));
    auto text = read_file(path);
    REQUIRE_FALSE(text.empty());
    return text;
}

/// Replaces every `from` in `text` with `to`; the example must contain `from`.
void replace_required(std::string& text, std::string_view from, std::string_view to)
{
    std::size_t count = 0;
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
        ++count;
    }
    INFO("the example no longer contains '" << from << "'; update tests/integration/examples_test.cpp with it");
    REQUIRE(count > 0);
}

/// Takes a JWS apart and puts `claims` in as its payload, keeping the old
/// signature: a forged token.
std::string with_forged_payload(const std::string& token, const json& claims)
{
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    REQUIRE(second != std::string::npos);
    return token.substr(0, first + 1) + jose::base64url_encode(claims.dump()) + token.substr(second);
}

/// Verifies with python3-jwt against `jwks`; REQUIREs success.
json verified(const std::string& token, const json& jwks)
{
    std::string why;
    auto v = pyjwt_verify(token, jwks, &why);
    INFO("python3-jwt: " << why << "\ntoken: " << token);
    REQUIRE(v);
    return *v;
}

/// One example file running against a loopback IdP and an echo upstream.
struct example_run {
    idp_server idp;
    echo_upstream up;
    std::unique_ptr<gateway_process> gw;

    /// `setup` prepares the IdP before the gateway starts; `uses_idp` says
    /// whether the file must name the demo IdP.
    explicit example_run(const std::string& name, const std::function<void(idp_server&)>& setup = {},
                         bool uses_idp = true)
    {
        idp.set_jwks(idp_keys::get().jwks);
        if (setup) setup(idp);
        auto text = example_text(name);
        replace_required(text, demo_proxy, "127.0.0.1:{{PROXY_PORT}}");
        replace_required(text, demo_admin, "127.0.0.1:{{ADMIN_PORT}}");
        replace_required(text, demo_data_dir, "data_dir: {{DIR}}/data");
        replace_required(text, demo_upstream, up.url());
        if (uses_idp)
            replace_required(text, demo_idp, idp.base_url());
        gateway_options opts;
        opts.config_yaml = text;
        // Keysets are generated before the listeners open: a hang guard only.
        opts.ready_timeout = std::chrono::minutes(3);
        gw = std::make_unique<gateway_process>(std::move(opts));
    }

    http_response call(const std::string& target, const header_list& headers) const
    {
        return get(gw->proxy_port(), target, headers);
    }
    /// The last request the upstream saw (REQUIREd).
    recorded_request last_upstream() const
    {
        auto seen = up.last_request();
        REQUIRE(seen);
        return *seen;
    }
};

json active_answer(const std::string& sub)
{
    return json{{"active", true},           {"sub", sub},        {"scope", "orders"},
                {"client_id", "demo-client"}, {"exp", now_s() + 600}, {"iss", "https://idp.example"}};
}

}  // namespace

TEST_CASE("examples: every file in config/examples is known to this test and passes `countersign check`",
          "[integration][examples]")
{
    std::set<std::string> on_disk;
    for (const auto& entry : std::filesystem::directory_iterator(source_path("config/examples")))
        on_disk.insert(entry.path().filename().string());
    std::set<std::string> known = k_use_case_files;
    known.insert(k_check_only_files.begin(), k_check_only_files.end());
    // A new example needs a test here; a file a test needs must not disappear.
    CHECK(on_disk == known);

    // `check` generates the keysets it needs; one data dir keeps that to once per name.
    temp_dir data("countersign-examples-check");
    for (const auto& name : known) {
        auto result = run_cli({"check", example_path(name).string()}, std::chrono::minutes(3),
                              {{"COUNTERSIGN_DATA_DIR", data.path().string()}});
        INFO(name << "\n" << result.out << result.err);
        CHECK(result.exit_code == 0);
    }
}

TEST_CASE("examples: echo-upstream.yaml answers with the request it received", "[integration][examples]")
{
    auto text = example_text("echo-upstream.yaml");
    replace_required(text, "127.0.0.1:8080", "127.0.0.1:{{PROXY_PORT}}");
    gateway_options opts;
    opts.config_yaml = text;
    opts.ready_timeout = std::chrono::minutes(3);  // hang guard
    gateway_process gw(std::move(opts));
    auto r = get(gw.proxy_port(), "/orders/42?x=1", {{"Authorization", "Bearer abc"}, {"X-Demo", "yes"}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto j = r.json();
    CHECK(j["request"]["method"] == "GET");
    CHECK(j["request"]["headers"]["authorization"] == "Bearer abc");
    CHECK(j["request"]["headers"]["x-demo"] == "yes");
}

TEST_CASE("examples: jwt-signer-jwks.yaml verifies a JWT against the IdP's JWKS and re-signs it",
          "[integration][examples]")
{
    example_run ex("jwt-signer-jwks.yaml");
    const auto claims = default_claims();
    const auto token = idp_keys::get().token(claims, "es");

    auto r = ex.call("/orders", {{"Authorization", bearer(token)}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto seen = ex.last_upstream();
    CHECK(seen.header("authorization").rfind("Bearer ", 0) == 0);
    const auto resigned = upstream_token(seen);
    CHECK(resigned != token);
    const auto v = verified(resigned, public_jwks(*ex.gw, "kong"));
    CHECK(v["header"]["alg"] == "ES256");
    CHECK(v["claims"]["iss"] == "https://gateway.example.com");
    CHECK(v["claims"]["original_iss"] == "https://idp.example");
    CHECK(v["claims"]["sub"] == "alice");
    CHECK(v["claims"]["exp"] == claims["exp"]);
    // The caller's token is not verifiable with the gateway's keys, and vice versa.
    CHECK_FALSE(pyjwt_verify(token, public_jwks(*ex.gw, "kong")));

    const auto before = ex.up.requests();
    auto forged = claims;
    forged["sub"] = "mallory";
    CHECK(ex.call("/orders", {{"Authorization", bearer(with_forged_payload(token, forged))}}).status == 401);
    CHECK(ex.call("/orders", {}).status == 401);
    CHECK(ex.up.requests() == before);
    CHECK(ex.idp.calls(idp_server::jwks_path) >= 1);
}

TEST_CASE("examples: jwt-signer-introspection.yaml introspects an opaque token with client credentials",
          "[integration][examples]")
{
    example_run ex("jwt-signer-introspection.yaml", [](idp_server& idp) {
        // A wrong Authorization in the example gets 401 from the IdP, and so 401 here.
        idp.require_basic("demo-client", "demo-secret");
        idp.set_token("opaque-alice", active_answer("alice"));
    });

    auto r = ex.call("/orders", {{"Authorization", bearer("opaque-alice")}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto call = ex.idp.last_request(idp_server::introspection_path);
    REQUIRE(call);
    CHECK(call->method == "POST");
    CHECK(call->headers.at("authorization") == demo_basic);
    CHECK(call->form.at("token") == "opaque-alice");

    const auto v = verified(upstream_token(ex.last_upstream()), public_jwks(*ex.gw, "kong"));
    CHECK(v["claims"]["sub"] == "alice");
    CHECK(v["claims"]["client_id"] == "demo-client");
    CHECK(v["claims"]["iss"] == "https://gateway.example.com");
    CHECK(v["claims"]["original_iss"] == "https://idp.example");
    CHECK_FALSE(v["claims"].contains("active"));

    // The answer is cached: the same token again does not call the IdP.
    const auto introspections = ex.idp.calls(idp_server::introspection_path);
    CHECK(ex.call("/orders", {{"Authorization", bearer("opaque-alice")}}).status == 200);
    CHECK(ex.idp.calls(idp_server::introspection_path) == introspections);

    const auto before = ex.up.requests();
    CHECK(ex.call("/orders", {{"Authorization", bearer("opaque-unknown")}}).status == 401);  // inactive
    CHECK(ex.up.requests() == before);
}

TEST_CASE("examples: jwt-signer-two-tokens.yaml re-signs an introspected access token and a JWT channel token",
          "[integration][examples]")
{
    example_run ex("jwt-signer-two-tokens.yaml",
                   [](idp_server& idp) { idp.set_token("opaque-alice", active_answer("alice")); });
    auto channel_claims = default_claims();
    channel_claims["sub"] = "mobile-app";
    const auto channel = idp_keys::get().token(channel_claims, "rs");

    auto r = ex.call("/payments", {{"Authorization", bearer("opaque-alice")}, {"X-JWT-channel-client", channel}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto call = ex.idp.last_request(idp_server::introspection_path);
    REQUIRE(call);
    CHECK(call->headers.at("authorization") == demo_basic);

    const auto seen = ex.last_upstream();
    CHECK_FALSE(seen.has_header("x-jwt-channel-client"));
    const auto access_jwks = public_jwks(*ex.gw, "kong");
    const auto channel_jwks = public_jwks(*ex.gw, "channel");
    const auto access = verified(upstream_token(seen, "authorization"), access_jwks);
    CHECK(access["claims"]["sub"] == "alice");
    CHECK(access["claims"]["env"] == "demo");
    const auto channel_token = upstream_token(seen, "x-jwt-channel-upstream");
    const auto resigned_channel = verified(channel_token, channel_jwks);
    CHECK(resigned_channel["claims"]["sub"] == "mobile-app");
    CHECK(resigned_channel["claims"]["env"] == "demo");
    // Each token is signed with its own keyset.
    CHECK_FALSE(pyjwt_verify(channel_token, access_jwks));

    const auto before = ex.up.requests();
    // The channel token is required.
    CHECK(ex.call("/payments", {{"Authorization", bearer("opaque-alice")}}).status == 401);
    // A forged channel token is refused.
    auto forged = channel_claims;
    forged["sub"] = "mallory";
    CHECK(ex.call("/payments", {{"Authorization", bearer("opaque-alice")},
                                {"X-JWT-channel-client", with_forged_payload(channel, forged)}})
              .status == 401);
    CHECK(ex.up.requests() == before);
}

TEST_CASE("examples: jwt-signer-resign-only.yaml re-signs any JWT without verifying it", "[integration][examples]")
{
    example_run ex("jwt-signer-resign-only.yaml", {}, /*uses_idp=*/false);
    // Signed by a key nobody published.
    const auto stranger = jose::jwk::generate(jose::alg::es256).value().with_kid("stranger").with_alg(jose::alg::es256).value();
    auto claims = default_claims();
    const auto token =
        jose::sign_compact(json{{"typ", "JWT"}, {"kid", "stranger"}}, claims.dump(), jose::alg::es256, stranger)
            .value();

    auto r = ex.call("/internal", {{"Authorization", bearer(token)}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    const auto jwks = public_jwks(*ex.gw, "kong");
    auto v = verified(upstream_token(ex.last_upstream()), jwks);
    CHECK(v["claims"]["sub"] == "alice");
    CHECK(v["claims"]["iss"] == "https://gateway.example.com");

    // The made-up token of the doc: a garbage signature and no kid.
    const std::string made_up = jose::base64url_encode(R"({"alg":"ES256","typ":"JWT"})") + "." +
                                jose::base64url_encode(json{{"sub", "anyone"}, {"exp", now_s() + 600}}.dump()) +
                                ".bm90LWEtc2lnbmF0dXJl";
    r = ex.call("/internal", {{"Authorization", bearer(made_up)}});
    REQUIRE(r.status == 200);
    CHECK(verified(upstream_token(ex.last_upstream()), jwks)["claims"]["sub"] == "anyone");

    // What the warning is about: a forged payload is re-signed too.
    auto forged = claims;
    forged["sub"] = "mallory";
    r = ex.call("/internal", {{"Authorization", bearer(with_forged_payload(token, forged))}});
    REQUIRE(r.status == 200);
    v = verified(upstream_token(ex.last_upstream()), jwks);
    CHECK(v["claims"]["sub"] == "mallory");

    const auto before = ex.up.requests();
    claims["exp"] = now_s() - 3600;  // the claim checks still run
    CHECK(ex.call("/internal", {{"Authorization", bearer(jose::sign_compact(json{{"typ", "JWT"}}, claims.dump(),
                                                                            jose::alg::es256, stranger)
                                                             .value())}})
              .status == 401);
    CHECK(ex.call("/internal", {{"Authorization", bearer("opaque-token")}}).status == 401);
    CHECK(ex.up.requests() == before);
}

TEST_CASE("examples: jwt-signer-nested-scope.yaml lets only coffee lovers through", "[integration][examples]")
{
    example_run ex("jwt-signer-nested-scope.yaml");
    const auto& keys = idp_keys::get();
    auto with_beverage = [](const json& beverage) {
        auto c = default_claims();  // also has a top-level "scope": "openid coffee", which must not count
        c["employee"] = {{"favourites", {{"beverage", beverage}}}};
        return c;
    };

    auto r = ex.call("/coffee", {{"Authorization", bearer(keys.token(with_beverage("coffee")))}});
    INFO(r.body);
    REQUIRE(r.status == 200);
    auto v = verified(upstream_token(ex.last_upstream()), public_jwks(*ex.gw, "kong"));
    CHECK(v["claims"]["employee"]["favourites"]["beverage"] == "coffee");
    CHECK(ex.call("/coffee", {{"Authorization", bearer(keys.token(with_beverage(json::array({"tea", "coffee"}))))}})
              .status == 200);

    const auto before = ex.up.requests();
    r = ex.call("/coffee", {{"Authorization", bearer(keys.token(with_beverage("tea")))}});
    CHECK(r.status == 403);
    CHECK(r.json() == json{{"message", "Forbidden"}});
    CHECK(ex.call("/coffee", {{"Authorization", bearer(keys.token(default_claims()))}}).status == 403);
    CHECK(ex.up.requests() == before);
}

TEST_CASE("examples: jwt-signer-rotation.yaml rotates keys; the public JWKS keeps the previous key",
          "[integration][examples]")
{
    example_run ex("jwt-signer-rotation.yaml");
    const auto token = idp_keys::get().token(default_claims());
    auto send = [&] {
        auto r = ex.call("/orders", {{"Authorization", bearer(token)}});
        INFO(r.body);
        REQUIRE(r.status == 200);
        return upstream_token(ex.last_upstream());
    };
    auto rotate = [&] {
        auto r = request(ex.gw->admin_port(), "POST", "/jwt-signer/jwks/orders-signer/rotate");
        INFO(r.body);
        REQUIRE(r.status == 200);
    };
    auto etag = [&] { return get(ex.gw->proxy_port(), "/.well-known/jwks/orders-signer.json").header("etag"); };

    const auto first = send();
    const auto etag1 = etag();
    const auto v1 = verified(first, public_jwks(*ex.gw, "orders-signer"));
    CHECK(v1["header"]["alg"] == "RS256");

    rotate();
    const auto second = send();
    const auto jwks2 = public_jwks(*ex.gw, "orders-signer");
    const auto v2 = verified(second, jwks2);
    CHECK(v2["header"]["kid"] != v1["header"]["kid"]);
    CHECK(etag() != etag1);
    verified(first, jwks2);  // the previous key is still published

    rotate();
    const auto jwks3 = public_jwks(*ex.gw, "orders-signer");
    CHECK_FALSE(pyjwt_verify(first, jwks3));  // two rotations later it is gone
    verified(second, jwks3);
}
