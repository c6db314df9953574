// Interoperability with Debian's python3-jwt (PyJWT) and the latchset `jose`
// CLI, both directions, for every algorithm. The tools are installed by
// scripts/install-deps.sh; a missing tool FAILS these tests.
// José 11 (Debian 12) implements no EdDSA: for EdDSA that direction is
// checked only when `jose alg` lists it (recorded with WARN otherwise).

#include "jose_test_util.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace countersign::jose;
using jose_test::test_key;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir()
    {
        std::string tmpl = (fs::temp_directory_path() / "countersign-jose-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() { fs::remove_all(path); }
    std::string file(const std::string& name, const std::string& content) const
    {
        const auto p = (path / name).string();
        std::ofstream(p, std::ios::binary) << content;
        return p;
    }
};

struct run_result {
    int status;
    std::string out;
};

run_result run(const std::string& cmd)
{
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p != nullptr);
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
        out.append(buf.data(), n);
    const int status = ::pclose(p);
    return {status, out};
}

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    return s;
}

struct alg_case {
    alg a;
    const char* okp;
};
const alg_case cases[] = {{alg::hs256, ""}, {alg::hs384, ""}, {alg::hs512, ""}, {alg::rs256, ""},
                          {alg::rs384, ""}, {alg::rs512, ""}, {alg::ps256, ""}, {alg::ps384, ""},
                          {alg::ps512, ""}, {alg::es256, ""}, {alg::es384, ""}, {alg::es512, ""},
                          {alg::eddsa, "Ed25519"}, {alg::eddsa, "Ed448"}};

const char* const pyjwt_script = R"PY(
import sys, json, jwt
from jwt import algorithms
mode, alg, keyfile, arg = sys.argv[1:5]
jwk = json.load(open(keyfile))
if alg.startswith('HS'):
    key = algorithms.HMACAlgorithm.from_jwk(jwk)
elif alg.startswith('RS') or alg.startswith('PS'):
    key = algorithms.RSAAlgorithm.from_jwk(jwk)
elif alg.startswith('ES'):
    key = algorithms.ECAlgorithm.from_jwk(jwk)
else:
    key = algorithms.OKPAlgorithm.from_jwk(jwk)
if mode == 'sign':
    print(jwt.encode({'sub': 'interop', 'n': 1}, key, algorithm=alg, headers={'kid': 'py'}))
else:
    print(json.dumps(jwt.decode(arg, key, algorithms=[alg])))
)PY";

bool jose_cli_has(std::string_view name)
{
    const auto r = run("jose alg");
    return r.status == 0 && ("\n" + r.out).find("\n" + std::string(name) + "\n") != std::string::npos;
}

} // namespace

TEST_CASE("interop: python3-jwt is installed", "[jose][interop]")
{
    const auto r = run("/usr/bin/python3 -c 'import jwt, cryptography; print(jwt.__version__)'");
    INFO(r.out);
    REQUIRE(r.status == 0);
}

TEST_CASE("interop: jose CLI is installed", "[jose][interop]")
{
    const auto r = run("jose alg");
    INFO(r.out);
    REQUIRE(r.status == 0);
}

TEST_CASE("interop: python3-jwt <-> countersign for every algorithm", "[jose][interop]")
{
    temp_dir dir;
    const auto script = dir.file("pyjwt_interop.py", pyjwt_script);
    for (const auto& c : cases) {
        INFO(to_string(c.a) << " " << c.okp);
        const jwk& key = test_key(c.a, c.okp);
        const auto priv_file = dir.file("priv.json", key.to_private_json().dump());
        const auto pub_file =
            key.is_symmetric() ? priv_file : dir.file("pub.json", key.to_public_json().dump());
        const std::string alg_name(to_string(c.a));

        // PyJWT signs, countersign verifies (with the public key only)
        const auto signed_by_py = run("/usr/bin/python3 " + script + " sign " + alg_name + " " + priv_file + " -");
        INFO(signed_by_py.out);
        REQUIRE(signed_by_py.status == 0);
        auto parsed = parse_compact(trim(signed_by_py.out));
        REQUIRE(parsed);
        const jwk verifier = key.is_symmetric() ? key : key.public_key().value();
        CHECK_FALSE(verify_jws(*parsed, verifier, all_algs));
        CHECK(parse_json_strict(parsed->payload).value()["sub"] == "interop");

        // countersign signs, PyJWT verifies
        const auto token =
            sign_compact({{"typ", "JWT"}, {"kid", "cs"}}, R"({"sub":"countersign","n":2})", c.a, key).value();
        const auto verified = run("/usr/bin/python3 " + script + " verify " + alg_name + " " + pub_file + " " + token);
        INFO(verified.out);
        CHECK(verified.status == 0);
        CHECK(verified.out.find("\"countersign\"") != std::string::npos);

        // a tampered token is refused by PyJWT too
        std::string bad = token;
        bad[bad.size() / 2] = bad[bad.size() / 2] == 'A' ? 'B' : 'A';
        CHECK(run("/usr/bin/python3 " + script + " verify " + alg_name + " " + pub_file + " " + bad).status != 0);
    }
}

TEST_CASE("interop: jose CLI <-> countersign for every algorithm", "[jose][interop]")
{
    temp_dir dir;
    const auto payload_file = dir.file("payload.json", R"({"sub":"jose-cli"})");
    for (const auto& c : cases) {
        const std::string alg_name(to_string(c.a));
        INFO(alg_name << " " << c.okp);
        if (c.a == alg::eddsa && !jose_cli_has("EdDSA")) {
            WARN("jose CLI (José 11) has no EdDSA; EdDSA interop is covered by python3-jwt");
            continue;
        }
        const jwk& key = test_key(c.a, c.okp);
        json priv = key.to_private_json();
        priv["alg"] = alg_name;
        const auto priv_file = dir.file("priv.jwk", priv.dump());
        json pub = key.is_symmetric() ? priv : key.to_public_json();
        pub["alg"] = alg_name;
        const auto pub_file = dir.file("pub.jwk", pub.dump());

        // jose signs (compact, -c), countersign verifies
        const auto token_file = (dir.path / "jose.jws").string();
        const auto signed_by_jose =
            run("jose jws sig -I " + payload_file + " -k " + priv_file + " -c -o " + token_file);
        INFO(signed_by_jose.out);
        REQUIRE(signed_by_jose.status == 0);
        auto parsed = parse_compact(trim(jose_test::read_file(token_file)));
        REQUIRE(parsed);
        CHECK(parsed->alg_name() == alg_name);
        const jwk verifier = key.is_symmetric() ? key : key.public_key().value();
        CHECK_FALSE(verify_jws(*parsed, verifier, all_algs));
        CHECK(parsed->payload == R"({"sub":"jose-cli"})");

        // countersign signs, jose verifies and returns the payload
        const auto token = sign_compact(json::object(), R"({"sub":"countersign"})", c.a, key).value();
        const auto cs_file = dir.file("cs.jws", token);
        const auto verified = run("jose jws ver -i " + cs_file + " -k " + pub_file + " -O-");
        INFO(verified.out);
        CHECK(verified.status == 0);
        CHECK(verified.out.find(R"({"sub":"countersign"})") != std::string::npos);

        // tampered token refused by jose
        std::string bad = token;
        bad[bad.size() - 3] = bad[bad.size() - 3] == 'A' ? 'B' : 'A';
        const auto bad_file = dir.file("bad.jws", bad);
        CHECK(run("jose jws ver -i " + bad_file + " -k " + pub_file).status != 0);

        // thumbprints agree with jose's RFC 7638 implementation
        if (!key.is_symmetric()) {
            const auto thp = run("jose jwk thp -i " + pub_file);
            CHECK(trim(thp.out) == key.thumbprint());
        }
    }
}
