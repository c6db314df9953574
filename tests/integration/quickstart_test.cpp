// The README quickstart, run as written against the real binary, and the
// demo tools behind it: `countersign demo-idp` (its endpoints in process and
// over HTTP) and `countersign token`.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <set>
#include <sstream>
#include <thread>

#include <countersign/cli/demo_idp.hpp>
#include <countersign/cli/demo_key.hpp>

#include "jwt_signer_support.hpp"

extern char** environ;

namespace {

using namespace jwt_it;
using namespace std::chrono_literals;

// The Basic credentials of demo-idp's defaults: base64("demo-client:demo-secret").
constexpr const char* demo_basic = "Basic ZGVtby1jbGllbnQ6ZGVtby1zZWNyZXQ=";

// A long-running child process (demo-idp, or the gateway started on the
// shipped config file itself), output captured in a temp dir. SIGKILLed on
// destruction if still running.
class background_process {
public:
    explicit background_process(std::vector<std::string> args,
                                const std::vector<std::pair<std::string, std::string>>& extra_env = {})
    {
        std::vector<std::string> env;
        for (char** e = environ; *e != nullptr; ++e) {
            std::string_view kv(*e);
            bool overridden = false;
            for (const auto& [k, v] : extra_env)
                overridden = overridden || kv.substr(0, kv.find('=')) == k;
            if (!overridden)
                env.emplace_back(kv);
        }
        for (const auto& [k, v] : extra_env)
            env.push_back(k + "=" + v);
        std::vector<char*> cargv, cenv;
        for (auto& a : args)
            cargv.push_back(a.data());
        cargv.push_back(nullptr);
        for (auto& e : env)
            cenv.push_back(e.data());
        cenv.push_back(nullptr);

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, dir_.file("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, dir_.file("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int rc = ::posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            throw std::runtime_error("posix_spawn failed for " + args[0]);
    }
    ~background_process()
    {
        if (!exit_code_) {
            ::kill(pid_, SIGKILL);
            wait_exit(10s);
        }
    }
    background_process(const background_process&) = delete;
    background_process& operator=(const background_process&) = delete;

    std::string output() const { return dir_.read("out") + dir_.read("err"); }

    bool running()
    {
        if (exit_code_)
            return false;
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_)
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return !exit_code_;
    }

    /// Exit code, or nullopt if it still runs after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout)
    {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (running() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(10ms);
        return exit_code_;
    }

    /// Waits until `port` accepts connections; false when the process exited
    /// first or the (hang-guard) timeout passed.
    bool wait_port(std::uint16_t port, std::chrono::milliseconds timeout = 60s)
    {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            if (!running())
                return false;
            if (port_open(port))
                return true;
            std::this_thread::sleep_for(25ms);
        }
        return false;
    }

    void signal(int sig)
    {
        if (!exit_code_)
            ::kill(pid_, sig);
    }

private:
    temp_dir dir_{"countersign-bg"};
    pid_t pid_ = -1;
    std::optional<int> exit_code_;
};

json jwt_part(const std::string& token, int index)
{
    std::vector<std::string> parts;
    std::stringstream ss(token);
    for (std::string p; std::getline(ss, p, '.');)
        parts.push_back(p);
    REQUIRE(parts.size() == 3);
    auto raw = jose::base64url_decode(parts[static_cast<std::size_t>(index)]);
    REQUIRE(raw);
    return json::parse(*raw);
}

std::string trim(std::string s)
{
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
        s.pop_back();
    return s;
}

// The kid of the first key with `alg` in a JWKS-shaped array.
std::string kid_for(const json& keys, std::string_view alg)
{
    for (const auto& k : keys)
        if (k.value("alg", "") == alg)
            return k.value("kid", "");
    return {};
}

admin::response dispatch(const admin::router& r, std::string method, std::string target, std::string body = {},
                         std::string authorization = {})
{
    auto req = admin::request::from_target(std::move(method), std::move(target));
    req.body = std::move(body);
    if (!authorization.empty())
        req.headers.emplace_back("authorization", std::move(authorization));
    return r.dispatch(req);
}

// The fenced ```bash blocks between the quickstart markers of README.md.
std::vector<std::string> readme_blocks()
{
    const auto text = read_file(source_path("README.md"));
    const auto begin = text.find("<!-- quickstart:begin -->");
    const auto end = text.find("<!-- quickstart:end -->");
    REQUIRE(begin != std::string::npos);
    REQUIRE(end != std::string::npos);
    std::vector<std::string> blocks;
    std::stringstream ss(text.substr(begin, end - begin));
    std::string line, block;
    bool in_block = false;
    while (std::getline(ss, line)) {
        if (!in_block && line == "```bash") {
            in_block = true;
            block.clear();
        } else if (in_block && line == "```") {
            in_block = false;
            blocks.push_back(block);
        } else if (in_block) {
            block += line + "\n";
        }
    }
    REQUIRE_FALSE(in_block);
    return blocks;
}

}  // namespace

TEST_CASE("demo-idp: tokens, JWKS, discovery and introspection (in process)", "[quickstart][demo-idp]")
{
    manual_clock clock(1'700'000'000);
    auto key = cli::generate_demo_key(jose::alg::rs256);
    REQUIRE(key.key);
    CHECK(key.key->kid() == key.key->thumbprint());
    auto idp = std::make_shared<cli::demo_idp>(*key.key, cli::demo_idp_settings{}, clock);
    admin::router r;
    cli::demo_idp::add_routes(r, idp);

    auto jwks = dispatch(r, "GET", "/jwks");
    REQUIRE(jwks.status == 200);
    const auto jwks_json = json::parse(jwks.body);
    REQUIRE(jwks_json["keys"].size() == 1);
    CHECK_FALSE(jwks_json["keys"][0].contains("d"));  // public members only
    CHECK(jwks_json["keys"][0]["kid"] == std::string(key.key->kid()));
    auto public_key = jose::jwk::from_json(jwks_json["keys"][0]).value();

    auto disco = json::parse(dispatch(r, "GET", "/.well-known/openid-configuration").body);
    CHECK(disco["issuer"] == "http://127.0.0.1:9000");
    CHECK(disco["jwks_uri"] == "http://127.0.0.1:9000/jwks");
    CHECK(disco["introspection_endpoint"] == "http://127.0.0.1:9000/introspect");

    SECTION("a JWT with the asked claims, verifiable with the JWKS")
    {
        auto res = dispatch(r, "GET", "/token?sub=carol&scope=orders%3Aread+orders:write&aud=api&ttl=60");
        REQUIRE(res.status == 200);
        CHECK(res.content_type.find("text/plain") == 0);
        REQUIRE(res.body.back() == '\n');
        const auto token = trim(res.body);
        auto parsed = jose::parse_compact(token).value();
        const std::array<jose::alg, 1> allowed{jose::alg::rs256};
        CHECK_FALSE(jose::verify_jws(parsed, public_key, allowed));
        CHECK(parsed.header["kid"] == std::string(key.key->kid()));
        CHECK(parsed.header["typ"] == "JWT");
        auto claims = json::parse(parsed.payload);
        CHECK(claims["iss"] == "http://127.0.0.1:9000");
        CHECK(claims["sub"] == "carol");
        CHECK(claims["scope"] == "orders:read orders:write");
        CHECK(claims["aud"] == "api");
        CHECK(claims["iat"] == 1'700'000'000);
        CHECK(claims["exp"] == 1'700'000'060);
        CHECK(claims["jti"].is_string());

        // claims= overrides; the default subject is alice.
        auto extra = jwt_part(trim(dispatch(r, "GET", "/token?claims=%7B%22role%22%3A%22admin%22%7D").body), 1);
        CHECK(extra["sub"] == "alice");
        CHECK(extra["role"] == "admin");
        CHECK_FALSE(extra.contains("scope"));

        // Our own JWT introspects as active until it expires.
        auto intro = dispatch(r, "POST", "/introspect", "token=" + token, demo_basic);
        CHECK(json::parse(intro.body)["active"] == true);
        clock.advance(61s);
        CHECK(json::parse(dispatch(r, "POST", "/introspect", "token=" + token, demo_basic).body)["active"] == false);
    }

    SECTION("bad parameters are 400 with a reason")
    {
        for (const char* target : {"/token?ttl=abc", "/token?ttl=999999999", "/token?scopes=x", "/token?claims=%5B1%5D",
                                   "/token?sub=a&sub=b", "/opaque?claims=nope", "/token?sub=%zz"}) {
            INFO(target);
            auto res = dispatch(r, "GET", target);
            CHECK(res.status == 400);
            CHECK(json::parse(res.body)["error"] == "invalid_request");
        }
    }

    SECTION("opaque tokens introspect with client credentials only")
    {
        auto res = dispatch(r, "GET", "/opaque?sub=dave&scope=coffee&ttl=30");
        REQUIRE(res.status == 200);
        const auto token = trim(res.body);
        CHECK(token.find('.') == std::string::npos);

        auto no_auth = dispatch(r, "POST", "/introspect", "token=" + token);
        CHECK(no_auth.status == 401);
        bool challenged = false;
        for (const auto& [k, v] : no_auth.headers)
            challenged = challenged || (k == "WWW-Authenticate" && v.find("Basic") == 0);
        CHECK(challenged);
        CHECK(dispatch(r, "POST", "/introspect", "token=" + token, "Basic ZGVtby1jbGllbnQ6d3Jvbmc=").status == 401);
        CHECK(dispatch(r, "POST", "/introspect", "token=" + token, "Bearer " + token).status == 401);

        auto ok = dispatch(r, "POST", "/introspect", "token=" + token + "&token_type_hint=access_token", demo_basic);
        REQUIRE(ok.status == 200);
        auto a = json::parse(ok.body);
        CHECK(a["active"] == true);
        CHECK(a["sub"] == "dave");
        CHECK(a["scope"] == "coffee");
        CHECK(a["exp"] == 1'700'000'030);
        CHECK(a["iat"] == 1'700'000'000);
        CHECK(a["iss"] == "http://127.0.0.1:9000");
        CHECK(a["client_id"] == "demo-client");

        auto unknown = dispatch(r, "POST", "/introspect", "token=not-a-token-we-issued", demo_basic);
        CHECK(unknown.status == 200);
        CHECK(json::parse(unknown.body) == json{{"active", false}});
        CHECK(dispatch(r, "POST", "/introspect", "token_type_hint=x", demo_basic).status == 400);

        clock.advance(31s);
        CHECK(json::parse(dispatch(r, "POST", "/introspect", "token=" + token, demo_basic).body)["active"] == false);
    }

    SECTION("a JWT signed by another key is not active")
    {
        auto other = cli::generate_demo_key(jose::alg::rs256);
        auto forged = cli::sign_demo_token(*other.key->with_kid(std::string(key.key->kid())).with_alg(jose::alg::rs256),
                                           json{{"sub", "mallory"}, {"exp", 1'800'000'000}});
        REQUIRE_FALSE(forged.empty());
        CHECK(json::parse(dispatch(r, "POST", "/introspect", "token=" + forged, demo_basic).body)["active"] == false);
    }
}

TEST_CASE("demo-idp: listen addresses", "[quickstart][demo-idp]")
{
    auto a = cli::parse_listen_address("127.0.0.1:9000");
    REQUIRE(a);
    CHECK(a->address == "127.0.0.1");
    CHECK(a->port == 9000);
    auto b = cli::parse_listen_address("[::1]:0");
    REQUIRE(b);
    CHECK(b->address == "::1");
    CHECK(b->port == 0);
    for (const char* bad : {"", "9000", "127.0.0.1", "127.0.0.1:", ":9000", "::1:9000", "h:65536", "h:9x"})
        CHECK_FALSE(cli::parse_listen_address(bad));
}

TEST_CASE("demo-idp: served over HTTP, key file kept, token command, clean stop", "[quickstart][demo-idp]")
{
    temp_dir dir("countersign-demo-idp");
    const auto key_file = dir.file("idp.jwk").string();
    const auto port = free_port();
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    std::string kid;
    {
        background_process idp({binary_path(), "demo-idp", "--listen", listen, "--key-file", key_file,
                                "--issuer", "https://idp.test", "--client-id", "gw", "--client-secret", "s3cret"});
        REQUIRE(idp.wait_port(port));

        struct stat st{};
        REQUIRE(::stat(key_file.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0600);

        auto jwks = get(port, "/jwks");
        REQUIRE(jwks.status == 200);
        kid = jwks.json()["keys"][0]["kid"].get<std::string>();

        auto token = get(port, "/token?sub=alice&scope=orders:read&claims=%7B%22tier%22%3A%22gold%22%7D");
        REQUIRE(token.status == 200);
        CHECK(token.header("content-type").find("text/plain") == 0);
        std::string why;
        auto verified = pyjwt_verify(trim(token.body), jwks.json(), &why);
        INFO(why);
        REQUIRE(verified);
        CHECK((*verified)["claims"]["iss"] == "https://idp.test");
        CHECK((*verified)["claims"]["tier"] == "gold");
        CHECK((*verified)["header"]["kid"] == kid);

        auto opaque = trim(get(port, "/opaque?sub=erin").body);
        const header_list form = {{"Content-Type", "application/x-www-form-urlencoded"}};
        CHECK(request(port, "POST", "/introspect", form, "token=" + opaque).status == 401);
        header_list auth = form;
        auth.emplace_back("Authorization", "Basic Z3c6czNjcmV0");  // gw:s3cret
        auto active = request(port, "POST", "/introspect", auth, "token=" + opaque);
        REQUIRE(active.status == 200);
        CHECK(active.json()["active"] == true);
        CHECK(active.json()["sub"] == "erin");
        CHECK(request(port, "POST", "/introspect", auth, "token=nope").json() == json{{"active", false}});
        CHECK(get(port, "/.well-known/openid-configuration").json()["jwks_uri"] == "https://idp.test/jwks");

        idp.signal(SIGTERM);
        auto code = idp.wait_exit(20s);
        INFO(idp.output());
        REQUIRE(code);
        CHECK(*code == 0);
        CHECK(idp.output().find("NOT FOR PRODUCTION") != std::string::npos);
    }

    // `countersign token` signs offline with the same key file...
    auto minted = run_cli({"token", "--key-file", key_file, "--sub", "frank", "--scope", "a b", "--ttl", "120"});
    INFO(minted.err);
    REQUIRE(minted.exit_code == 0);
    const auto offline_token = trim(minted.out);
    CHECK(jwt_part(offline_token, 0)["kid"] == kid);
    CHECK(jwt_part(offline_token, 1)["sub"] == "frank");
    CHECK(jwt_part(offline_token, 1)["scope"] == "a b");

    // ...and a restarted demo-idp on that file serves the same key, so the
    // offline token verifies against its JWKS.
    background_process again({binary_path(), "demo-idp", "--listen", listen, "--key-file", key_file});
    REQUIRE(again.wait_port(port));
    auto jwks = get(port, "/jwks").json();
    CHECK(jwks["keys"][0]["kid"] == kid);
    // Without --issuer, the issuer follows --listen.
    CHECK(get(port, "/.well-known/openid-configuration").json()["issuer"] == "http://" + listen);
    std::string why;
    CHECK(pyjwt_verify(offline_token, jwks, &why));
    INFO(why);

    // A busy port and a bad address are clear errors.
    auto busy = run_cli({"demo-idp", "--listen", listen});
    CHECK(busy.exit_code == 1);
    CHECK(busy.err.find(listen) != std::string::npos);
    auto bad = run_cli({"demo-idp", "--listen", "nowhere"});
    CHECK(bad.exit_code == 2);
    auto help = run_cli({"demo-idp", "--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("NOT FOR PRODUCTION") != std::string::npos);

    // A key file others may read still works, with a warning.
    REQUIRE(::chmod(key_file.c_str(), 0644) == 0);
    auto loose = run_cli({"token", "--key-file", key_file});
    CHECK(loose.exit_code == 0);
    CHECK(loose.err.find("chmod 600") != std::string::npos);

    // A key file of another alg is refused by `token --alg`.
    auto mismatch = run_cli({"token", "--key-file", key_file, "--alg", "ES256"});
    CHECK(mismatch.exit_code == 1);
    auto bad_claims = run_cli({"token", "--key-file", key_file, "--claims", "[1]"});
    CHECK(bad_claims.exit_code == 2);
}

TEST_CASE("quickstart: the README commands work as written", "[quickstart]")
{
    // The quickstart's fixed ports: config/quickstart.yaml and demo-idp's defaults.
    for (std::uint16_t p : {8000, 8001, 9000}) {
        if (port_open(p))
            FAIL("port " << p << " is in use: this test runs the README quickstart, which needs 127.0.0.1 ports "
                                 "8000, 8001 and 9000; stop whatever listens there and run it again");
    }
    const auto blocks = readme_blocks();
    // 1 token, 2 through the gateway, 2b missing scope, 3 tampered, 4 rotation.
    REQUIRE(blocks.size() == 5);

    temp_dir dir("countersign-quickstart");
    background_process idp({binary_path(), "demo-idp"});
    REQUIRE(idp.wait_port(9000));
    // As the README says, on the shipped file; keys go to a temp data_dir.
    background_process gateway({binary_path(), "--config", source_path("config/quickstart.yaml").string()},
                               {{"COUNTERSIGN_DATA_DIR", dir.file("data").string()}});
    const bool up = gateway.wait_port(8000) && gateway.wait_port(8001);
    INFO(gateway.output());
    REQUIRE(up);

    // One bash runs every block in order (so TOKEN carries over), with a
    // marker line before each; curl gets a hang guard and nothing else.
    std::string script = "curl() { command curl --max-time 60 \"$@\"; }\n";
    for (std::size_t i = 0; i < blocks.size(); ++i)
        script += "echo '@@block " + std::to_string(i) + "@@'\n" + blocks[i];
    const auto script_file = dir.write("quickstart.sh", script);
    int status = 0;
    const auto out = run_command("timeout 300 bash " + script_file.string() + " 2>" + dir.file("stderr").string(),
                                 &status);
    INFO("stdout:\n" << out << "\nstderr:\n" << dir.read("stderr") << "\ngateway:\n" << gateway.output());
    CHECK(status == 0);

    std::vector<std::string> outputs(blocks.size());
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const std::string marker = "@@block " + std::to_string(i) + "@@\n";
        const auto at = out.find(marker);
        REQUIRE(at != std::string::npos);
        const auto from = at + marker.size();
        const auto next = out.find("@@block " + std::to_string(i + 1) + "@@", from);
        outputs[i] = out.substr(from, next == std::string::npos ? std::string::npos : next - from);
    }

    // 1. A token from the demo IdP.
    const auto token = trim(outputs[0]);
    const auto idp_jwks = get(9000, "/jwks").json();
    CHECK(jwt_part(token, 0)["kid"] == idp_jwks["keys"][0]["kid"]);
    CHECK(jwt_part(token, 1)["scope"] == "orders:read");

    // 2. What the upstream would receive: the re-signed token, and the original.
    const auto echo = json::parse(outputs[1]);
    const auto& headers = echo["request"]["headers"];
    CHECK(headers["x-original-authorization"] == token);
    const std::string authorization = headers["authorization"].get<std::string>();
    REQUIRE(authorization.rfind("Bearer ", 0) == 0);
    const auto resigned = authorization.substr(7);
    CHECK(resigned != token);

    // 4. The public JWKS, the rotation answer, the JWKS again: one JSON per line.
    std::vector<json> docs;
    std::stringstream lines(outputs[4]);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty())
            docs.push_back(json::parse(line));
    REQUIRE(docs.size() == 3);
    // The JWKS printed by step 4 before the rotation verifies it.
    std::string why;
    auto verified = pyjwt_verify(resigned, docs[0], &why);
    INFO(why);
    REQUIRE(verified);
    CHECK((*verified)["header"]["alg"] == "ES256");
    CHECK((*verified)["claims"]["sub"] == "alice");
    CHECK((*verified)["claims"]["iss"] == "countersign-quickstart");
    CHECK((*verified)["claims"]["original_iss"] == "http://127.0.0.1:9000");

    // 2b. Without the scope: 403.
    CHECK(trim(outputs[2]) == "403");

    // 3. Tampered: 401.
    const auto tampered = trim(outputs[3]);
    CHECK(tampered.substr(tampered.rfind('\n') + 1) == "401");

    // Rotation: the ES256 kid changes and the old key stays as previous.
    const auto old_kid = kid_for(docs[0]["keys"], "ES256");
    const auto new_kid = kid_for(docs[1]["keys"], "ES256");
    CHECK(old_kid == (*verified)["header"]["kid"]);
    CHECK_FALSE(new_kid.empty());
    CHECK(new_kid != old_kid);
    CHECK(kid_for(docs[1]["previous"], "ES256") == old_kid);
    std::set<std::string> published;
    for (const auto& k : docs[2]["keys"])
        published.insert(k.value("kid", ""));
    CHECK(published.count(old_kid) == 1);
    CHECK(published.count(new_kid) == 1);

    // The same token sent again is re-signed with the new key.
    auto again = get(8000, "/api/orders", {{"Authorization", bearer(token)}});
    REQUIRE(again.status == 200);
    const auto resigned_again = again.json()["request"]["headers"]["authorization"].get<std::string>().substr(7);
    auto verified_again = pyjwt_verify(resigned_again, docs[2], &why);
    INFO(why);
    REQUIRE(verified_again);
    CHECK((*verified_again)["header"]["kid"] == new_kid);

    // Both stop cleanly.
    gateway.signal(SIGTERM);
    idp.signal(SIGTERM);
    CHECK(gateway.wait_exit(30s) == 0);
    CHECK(idp.wait_exit(30s) == 0);
}
