// Helpers for the jwt-signer integration tests: IdP keys and tokens, the
// gateway config, and an independent verifier (Debian's python3-jwt).
#pragma once

#include <catch2/catch.hpp>

#include <countersign/jose/base64url.hpp>
#include <countersign/jose/jwk.hpp>
#include <countersign/jose/jws.hpp>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/idp_server.hpp"
#include "support/temp_dir.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

namespace jwt_it {

using json = nlohmann::json;
using namespace countersign;
using namespace countersign::test;

inline std::int64_t now_s()
{
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The IdP's signing keys: one per family, kid = family name.
struct idp_keys {
    std::map<std::string, jose::jwk> keys;
    std::map<std::string, jose::alg> algs;
    json jwks = {{"keys", json::array()}};

    idp_keys()
    {
        add("rs", jose::alg::rs256);
        add("es", jose::alg::es256);
        add("ed", jose::alg::eddsa);
        add("ps", jose::alg::ps256);
    }
    void add(const std::string& kid, jose::alg a)
    {
        auto k = jose::jwk::generate(a).value().with_kid(kid).with_alg(a).value();
        keys.emplace(kid, k);
        algs.emplace(kid, a);
        jwks["keys"].push_back(k.public_key().value().to_public_json());
    }
    std::string token(const json& claims, const std::string& kid = "rs", json header = json::object()) const
    {
        header["typ"] = header.value("typ", "JWT");
        if (!header.contains("kid")) header["kid"] = kid;
        return jose::sign_compact(header, claims.dump(), algs.at(kid), keys.at(kid)).value();
    }
    static const idp_keys& get()
    {
        static const idp_keys k;
        return k;
    }
};

inline json default_claims()
{
    return json{{"iss", "https://idp.example"}, {"sub", "alice"}, {"aud", "api"},
                {"exp", now_s() + 600},         {"iat", now_s()},  {"scope", "openid coffee"}};
}

/// A gateway config with one service (the echo upstream) and a global
/// jwt-signer plugin with `plugin_config` (JSON is valid YAML).
inline std::string gateway_yaml(std::uint16_t upstream_port, const json& plugin_config,
                                const std::string& consumers_yaml = "", const std::string& data_dir = "{{DIR}}/data")
{
    return R"(_format_version: "3.0"
countersign:
  workers: 2
  data_dir: ")" + data_dir + R"("
services:
  - name: echo
    url: http://127.0.0.1:)" +
           std::to_string(upstream_port) + R"(
    routes:
      - name: all
        paths: ["/"]
)" + consumers_yaml +
           R"(plugins:
  - name: jwt-signer
    config: )" +
           plugin_config.dump() + "\n";
}

inline std::string bearer(const std::string& t) { return "Bearer " + t; }

/// Runs `cmd` and returns its stdout; exit status in `*status`.
inline std::string run_command(const std::string& cmd, int* status = nullptr)
{
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    int rc = ::pclose(p);
    if (status) *status = rc;
    return out;
}

/// Verifies `token` against `jwks` with Debian's python3-jwt (an independent
/// implementation). Returns the claims, or nullopt with the error in `*why`.
inline std::optional<json> pyjwt_verify(const std::string& token, const json& jwks, std::string* why = nullptr)
{
    static temp_dir dir("countersign-pyjwt");
    static const auto script = dir.write("verify.py", R"(import json, sys, jwt
token = open(sys.argv[1]).read().strip()
jwks = json.load(open(sys.argv[2]))
header = jwt.get_unverified_header(token)
keys = [k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == header["kid"]]
if len(keys) != 1:
    print("ERROR no key " + header["kid"]); sys.exit(1)
try:
    claims = jwt.decode(token, keys[0].key, algorithms=[header["alg"]],
                        options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False})
except Exception as e:
    print("ERROR " + repr(e)); sys.exit(1)
print(json.dumps({"header": header, "claims": claims}))
)");
    static std::atomic<int> counter{0};
    const int n = ++counter;
    const auto tf = dir.write("t" + std::to_string(n), token);
    const auto jf = dir.write("j" + std::to_string(n), jwks.dump());
    int status = 0;
    auto out = run_command("/usr/bin/python3 " + script.string() + " " + tf.string() + " " + jf.string() + " 2>&1",
                           &status);
    if (status != 0) {
        if (why) *why = out;
        return std::nullopt;
    }
    auto j = json::parse(out, nullptr, false);
    if (j.is_discarded()) {
        if (why) *why = out;
        return std::nullopt;
    }
    return j;
}

/// Verifies many tokens with python3-jwt in one process. `tokens` holds
/// (token, index into `jwks_docs`): each token is checked against that JWKS.
/// Returns one entry per token: empty when it verified, else the error.
inline std::vector<std::string> pyjwt_verify_batch(const std::vector<std::pair<std::string, std::size_t>>& tokens,
                                                   const std::vector<json>& jwks_docs)
{
    static temp_dir dir("countersign-pyjwt-batch");
    static const auto script = dir.write("verify_batch.py", R"(import json, sys, jwt
docs = [jwt.PyJWKSet.from_dict(d) for d in json.load(open(sys.argv[1]))]
out = []
for line in open(sys.argv[2]):
    token, index = json.loads(line)
    try:
        header = jwt.get_unverified_header(token)
        keys = [k for k in docs[index].keys if k.key_id == header["kid"]]
        if len(keys) != 1:
            raise ValueError("no key " + header["kid"])
        jwt.decode(token, keys[0].key, algorithms=[header["alg"]],
                   options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        out.append("")
    except Exception as e:
        out.append("ERROR " + repr(e))
print(json.dumps(out))
)");
    static std::atomic<int> counter{0};
    const int n = ++counter;
    std::string lines;
    for (const auto& [token, index] : tokens)
        lines += json::array({token, index}).dump() + "\n";
    const auto docs_file = dir.write("docs" + std::to_string(n), json(jwks_docs).dump());
    const auto tokens_file = dir.write("tokens" + std::to_string(n), lines);
    int status = 0;
    auto out = run_command("/usr/bin/python3 " + script.string() + " " + docs_file.string() + " " +
                               tokens_file.string() + " 2>&1",
                           &status);
    auto j = json::parse(out, nullptr, false);
    if (status != 0 || !j.is_array() || j.size() != tokens.size())
        return std::vector<std::string>(tokens.size(), "python3-jwt failed: " + out);
    return j.get<std::vector<std::string>>();
}

/// No JWK of a JWKS-shaped document carries private or symmetric members.
inline void check_public_only(const json& doc)
{
    static const char* forbidden[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
    for (const char* list : {"keys", "previous"}) {
        if (!doc.contains(list)) continue;
        for (const auto& k : doc[list]) {
            INFO(k.dump());
            CHECK(k.value("kty", "") != "oct");
            for (const char* m : forbidden) CHECK_FALSE(k.contains(m));
        }
    }
    if (doc.contains("data"))
        for (const auto& row : doc["data"]) check_public_only(row);
}

/// GET the admin JWKS of a keyset (asserting it is public only).
inline json admin_jwks(const gateway_process& gw, const std::string& keyset = "kong")
{
    auto r = get(gw.admin_port(), "/jwt-signer/jwks/" + keyset);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").rfind("application/jwk-set+json", 0) == 0);
    auto j = r.json();
    check_public_only(j);
    return j;
}

/// GET the public JWKS of a keyset on the proxy listener.
inline json public_jwks(const gateway_process& gw, const std::string& keyset = "kong")
{
    auto r = get(gw.proxy_port(), "/.well-known/jwks/" + keyset + ".json");
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK_FALSE(r.header("etag").empty());
    CHECK(r.header("cache-control") == "public, max-age=60");
    auto j = r.json();
    check_public_only(j);
    return j;
}

/// The admin JWKS as one verification set (current + previous).
inline json merged(const json& admin)
{
    json out{{"keys", admin.value("keys", json::array())}};
    for (const auto& k : admin.value("previous", json::array())) out["keys"].push_back(k);
    return out;
}

/// The token a request delivered upstream in `header` (scheme stripped).
inline std::string upstream_token(const recorded_request& r, const std::string& header = "authorization")
{
    auto v = r.header(header);
    if (v.rfind("Bearer ", 0) == 0) v = v.substr(7);
    return v;
}

}  // namespace jwt_it
