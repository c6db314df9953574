// Hot reload of the real binary: POST /config, SIGHUP, invalid documents,
// reloads under load, in-flight requests, jwt-signer keys and GET /config.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "support/echo_upstream.hpp"
#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

using namespace countersign::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Two generations of one gateway: A serves /old (and /load), B serves /new
// (and /load). Each adds its own correlation-id header, echoed downstream.
const char* config_a = R"(_format_version: "3.0"
countersign:
  workers: 2
  data_dir: "{{DIR}}/data"
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: old
        paths: ["/old"]
      - name: load
        paths: ["/load"]
    plugins:
      - name: correlation-id
        config:
          header_name: X-Gen-A
          echo_downstream: true
)";

const char* config_b = R"(_format_version: "3.0"
countersign:
  workers: 2
  data_dir: "{{DIR}}/data"
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: new
        paths: ["/new"]
      - name: load
        paths: ["/load"]
    plugins:
      - name: correlation-id
        config:
          header_name: X-Gen-B
          echo_downstream: true
)";

// Three errors in three places.
const char* config_invalid = R"(_format_version: "3.0"
services:
  - name: echo
    url: gopher://127.0.0.1:{{UP}}
    routes:
      - name: broken
        paths: ["no-slash"]
plugins:
  - name: correlation-id
    config:
      generator: dice
)";

std::string rendered(const std::string& yaml, std::uint16_t up, const gateway_process* gw = nullptr)
{
    std::map<std::string, std::string> vars{{"UP", std::to_string(up)}};
    if (gw != nullptr)
        vars["DIR"] = gw->dir().path().string();
    return render(yaml, vars);
}

gateway_options options(const std::string& yaml, std::uint16_t up)
{
    gateway_options o;
    o.config_yaml = yaml;
    o.vars = {{"UP", std::to_string(up)}};
    return o;
}

request_options slow_ok()
{
    request_options o;
    o.timeout = 120s;  // hang guard only: a reload may generate keys
    return o;
}

http_response post_config(const gateway_process& gw, const std::string& body,
                          const std::string& content_type = "application/yaml")
{
    return request(gw.admin_port(), "POST", "/config", {{"Content-Type", content_type}}, body, slow_ok());
}

json admin_json(const gateway_process& gw, const std::string& target)
{
    auto r = get(gw.admin_port(), target, {}, slow_ok());
    INFO(target << " -> " << r.status << " " << r.body);
    REQUIRE(r.status == 200);
    return r.json();
}

std::vector<std::string> route_names(const json& config)
{
    std::vector<std::string> out;
    for (const auto& r : config["routes"])
        out.push_back(r.value("name", ""));
    return out;
}

void write_file(const std::filesystem::path& p, const std::string& text)
{
    // Write a sibling and rename it over the config, as editors and config
    // management do, so the gateway never reads a half-written file.
    auto tmp = p;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
    }
    std::filesystem::rename(tmp, p);
}

/// A one-shot upstream that holds its answer until release(): the request
/// is in flight for exactly as long as the test wants, whatever the timing.
class held_upstream {
public:
    held_upstream() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0})
    {
        thread_ = std::thread([this] { serve(); });
    }
    ~held_upstream()
    {
        release();
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        if (thread_.joinable())
            thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

    /// Blocks until the request header arrived; returns it (or "" on timeout).
    std::string wait_for_request(std::chrono::seconds guard)
    {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, guard, [this] { return !header_.empty(); });
        return header_;
    }
    void release()
    {
        std::lock_guard lock(mutex_);
        released_ = true;
        cv_.notify_all();
    }

private:
    void serve()
    {
        boost::system::error_code ec;
        boost::asio::ip::tcp::socket sock(io_);
        acceptor_.accept(sock, ec);
        if (ec)
            return;
        boost::asio::streambuf buf;
        boost::asio::read_until(sock, buf, "\r\n\r\n", ec);
        {
            std::unique_lock lock(mutex_);
            header_.assign(boost::asio::buffers_begin(buf.data()), boost::asio::buffers_end(buf.data()));
            if (header_.empty())
                header_ = "?";
            cv_.notify_all();
            cv_.wait(lock, [this] { return released_; });
        }
        const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nheld";
        boost::asio::write(sock, boost::asio::buffer(answer), ec);
        sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string header_;
    bool released_ = false;
};

std::string lower(std::string s)
{
    for (auto& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

TEST_CASE("reload: POST /config swaps routes; a keep-alive connection picks them up", "[integration][reload]")
{
    echo_upstream up;
    gateway_process gw(options(config_a, up.port()));

    connection c(gw.proxy_port());
    auto first = c.request("GET", "/old/x");
    REQUIRE(first.status == 200);
    CHECK(first.has_header("X-Gen-A"));
    CHECK(c.request("GET", "/new/x").status == 404);

    auto r = post_config(gw, rendered(config_b, up.port(), &gw));
    INFO(r.body);
    REQUIRE(r.status == 201);
    auto summary = r.json();
    CHECK(summary["services"] == 1);
    CHECK(summary["routes"] == 2);
    CHECK(summary["plugins"] == 1);
    CHECK(summary["consumers"] == 0);
    CHECK(summary["warnings"] == json::array());

    // The same connection (opened before the reload) sees the new routes.
    const auto port_before = c.local_port();
    auto fresh_route = c.request("GET", "/new/x");
    CHECK(fresh_route.status == 200);
    CHECK(fresh_route.has_header("X-Gen-B"));
    CHECK_FALSE(fresh_route.has_header("X-Gen-A"));
    CHECK(c.request("GET", "/old/x").status == 404);
    CHECK(c.local_port() == port_before);
    CHECK(c.is_open());

    // New connections too; the admin API shows the new config.
    CHECK(get(gw.proxy_port(), "/new/y").status == 200);
    CHECK(get(gw.proxy_port(), "/old/y").status == 404);
    CHECK(route_names(admin_json(gw, "/config")) == std::vector<std::string>{"new", "load"});
    CHECK(admin_json(gw, "/")["config_source"] == "admin /config");
    CHECK(gw.wait_for_output("config reloaded from admin /config"));

    // Kong's JSON wrapper {"config": "<yaml>"} works as well.
    auto back = post_config(gw, json{{"config", rendered(config_a, up.port(), &gw)}}.dump(), "application/json");
    INFO(back.body);
    CHECK(back.status == 201);
    CHECK(c.request("GET", "/old/x").status == 200);
}

TEST_CASE("reload: an invalid POST /config answers 400 with every error and keeps the old config",
          "[integration][reload]")
{
    echo_upstream up;
    gateway_process gw(options(config_a, up.port()));
    const auto before = admin_json(gw, "/config");

    auto r = post_config(gw, rendered(config_invalid, up.port(), &gw));
    INFO(r.body);
    REQUIRE(r.status == 400);
    auto body = r.json();
    CHECK(body["name"] == "invalid declarative configuration");
    CHECK(body["message"].get<std::string>().find("running configuration was kept") != std::string::npos);
    std::set<std::string> paths;
    for (const auto& e : body["errors"]) {
        paths.insert(e["path"].get<std::string>());
        CHECK(e["line"].get<int>() > 0);
        CHECK(!e["message"].get<std::string>().empty());
    }
    CHECK(paths.count("services[0].url") == 1);
    CHECK(paths.count("services[0].routes[0].paths[0]") == 1);
    CHECK(paths.count("plugins[0].config.generator") == 1);

    // Syntax errors, an empty body and a huge one are refused as well.
    auto syntax = post_config(gw, "services: [\n");
    CHECK(syntax.status == 400);
    CHECK(syntax.body.find("invalid YAML") != std::string::npos);
    CHECK(post_config(gw, "").status == 400);
    auto huge = send_raw(gw.admin_port(), "POST /config HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\n"
                                          "Content-Length: 16777217\r\n\r\n");
    CHECK(raw_status(huge) == 413);

    // The old config still serves, unchanged.
    CHECK(get(gw.proxy_port(), "/old/x").status == 200);
    CHECK(get(gw.proxy_port(), "/new/x").status == 404);
    CHECK(admin_json(gw, "/config") == before);
    CHECK(gw.wait_for_output("services[0].routes[0].paths[0]"));
}

TEST_CASE("reload: SIGHUP re-reads the config file; an invalid file keeps the old config", "[integration][reload]")
{
    echo_upstream up;
    gateway_process gw(options(config_a, up.port()));
    const auto path = gw.config_path().string();
    REQUIRE(get(gw.proxy_port(), "/old/x").status == 200);

    write_file(gw.config_path(), rendered(config_b, up.port(), &gw));
    gw.send_signal(SIGHUP);
    REQUIRE(gw.wait_for_output("config reloaded from " + path, 60s));
    CHECK(get(gw.proxy_port(), "/new/x").status == 200);
    CHECK(get(gw.proxy_port(), "/old/x").status == 404);
    CHECK(gw.running());

    write_file(gw.config_path(), rendered(config_invalid, up.port(), &gw));
    gw.send_signal(SIGHUP);
    REQUIRE(gw.wait_for_output("config reload from " + path + " rejected (3 error(s))", 60s));
    // Every error is logged with its path.
    CHECK(gw.wait_for_output("services[0].url"));
    CHECK(gw.wait_for_output("services[0].routes[0].paths[0]"));
    CHECK(gw.wait_for_output("plugins[0].config.generator"));
    CHECK(gw.running());
    CHECK(get(gw.proxy_port(), "/new/x").status == 200);
    CHECK(route_names(admin_json(gw, "/config")) == std::vector<std::string>{"new", "load"});

    // A node setting that changed is reported, the rest applies.
    std::string changed = rendered(config_a, up.port(), &gw);
    changed.replace(changed.find("workers: 2"), 10, "workers: 3");
    write_file(gw.config_path(), changed);
    gw.send_signal(SIGHUP);
    REQUIRE(gw.wait_for_output("(workers): restart required", 60s));
    CHECK(get(gw.proxy_port(), "/old/x").status == 200);
    CHECK(admin_json(gw, "/config")["countersign"]["workers"] == 2);
}

TEST_CASE("reload: 20 reloads under load, zero failed requests", "[integration][reload]")
{
    echo_upstream up;
    gateway_process gw(options(config_a, up.port()));
    const std::string docs[2] = {rendered(config_b, up.port(), &gw), rendered(config_a, up.port(), &gw)};

    constexpr int clients = 6;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> ok{0}, failed{0}, seen_a{0}, seen_b{0};
    std::mutex failure_mutex;
    std::string first_failure;
    auto fail = [&](std::string why) {
        ++failed;
        std::lock_guard lock(failure_mutex);
        if (first_failure.empty())
            first_failure = std::move(why);
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
        threads.emplace_back([&, t] {
            // Odd threads keep one connection for 50 requests, even ones open
            // a new connection per request: both must survive reloads.
            const int per_connection = t % 2 == 0 ? 1 : 50;
            while (!stop) {
                try {
                    connection c(gw.proxy_port());
                    for (int i = 0; i < per_connection && !stop; ++i) {
                        auto r = c.request("GET", "/load/" + std::to_string(t) + "/" + std::to_string(i));
                        if (r.status != 200) {
                            fail("status " + std::to_string(r.status) + ": " + r.body);
                            continue;
                        }
                        ++ok;
                        if (r.has_header("X-Gen-A"))
                            ++seen_a;
                        if (r.has_header("X-Gen-B"))
                            ++seen_b;
                    }
                } catch (const std::exception& e) {
                    fail(e.what());
                }
            }
        });
    }
    struct joiner {
        std::atomic<bool>& stop;
        std::vector<std::thread>& threads;
        ~joiner()
        {
            stop = true;
            for (auto& t : threads)
                if (t.joinable())
                    t.join();
        }
    } join_guard{stop, threads};

    auto wait_for_progress = [&](std::uint64_t more) {
        const auto target = ok.load() + more;
        const auto guard = std::chrono::steady_clock::now() + 60s;
        while (ok < target && failed == 0 && std::chrono::steady_clock::now() < guard)
            std::this_thread::sleep_for(5ms);
        return ok >= target;
    };
    REQUIRE(wait_for_progress(50));
    int reloads_ok = 0;
    for (int i = 0; i < 20; ++i) {
        auto r = post_config(gw, docs[i % 2]);
        if (r.status == 201)
            ++reloads_ok;
        else
            FAIL_CHECK("reload " << i << ": " << r.status << " " << r.body);
        CHECK(wait_for_progress(20));  // traffic keeps flowing between reloads
    }
    stop = true;
    for (auto& t : threads)
        t.join();

    INFO("first failure: " << first_failure);
    CHECK(reloads_ok == 20);
    CHECK(failed == 0);
    CHECK(ok >= 50 + 20 * 20);
    // Both generations answered.
    CHECK(seen_a > 0);
    CHECK(seen_b > 0);
    CHECK(route_names(admin_json(gw, "/config")) == std::vector<std::string>{"old", "load"});
}

TEST_CASE("reload: a request in flight finishes on the config it started with", "[integration][reload]")
{
    held_upstream held;
    echo_upstream up;
    const std::string held_config = R"(_format_version: "3.0"
countersign:
  workers: 2
  data_dir: "{{DIR}}/data"
services:
  - name: held
    url: http://127.0.0.1:{{HELD}}
    read_timeout: 120000
    retries: 0
    routes:
      - name: old
        paths: ["/old"]
    plugins:
      - name: correlation-id
        config:
          header_name: X-Gen-A
          echo_downstream: true
)";
    auto o = options(held_config, up.port());
    o.vars["HELD"] = std::to_string(held.port());
    gateway_process gw(o);

    auto in_flight = std::async(std::launch::async, [&] { return get(gw.proxy_port(), "/old/slow", {}, slow_ok()); });
    const auto upstream_saw = lower(held.wait_for_request(60s));
    REQUIRE(!upstream_saw.empty());
    CHECK(upstream_saw.find("x-gen-a:") != std::string::npos);

    // The new config removes the route, the service and the header name.
    auto r = post_config(gw, rendered(config_b, up.port(), &gw));
    INFO(r.body);
    REQUIRE(r.status == 201);
    REQUIRE(in_flight.wait_for(0s) != std::future_status::ready);  // held: still in flight
    CHECK(get(gw.proxy_port(), "/old/x").status == 404);
    CHECK(get(gw.proxy_port(), "/new/x").header("X-Gen-B") != "");

    held.release();
    auto res = in_flight.get();
    CHECK(res.status == 200);
    CHECK(res.body == "held");
    // The response phase ran with the old generation's plugin.
    CHECK(res.has_header("X-Gen-A"));
    CHECK_FALSE(res.has_header("X-Gen-B"));
}

namespace {

// jwt-signer with a named keyset and credentials that must never be shown.
const char* signer_config = R"(_format_version: "3.0"
countersign:
  workers: 2
  data_dir: "{{DIR}}/data"
services:
  - name: echo
    url: http://127.0.0.1:{{UP}}
    routes:
      - name: {{ROUTE}}
        paths: ["/{{ROUTE}}"]
plugins:
  - name: jwt-signer
    config:
      channel_token_optional: true
      access_token_signing_algorithm: ES256
      access_token_keyset: reload-keys
      access_token_introspection_endpoint: http://127.0.0.1:9/introspect
      access_token_introspection_authorization: "Basic aW50cm86c2VjcmV0LWludHJv"
      access_token_jwks_uri: http://127.0.0.1:9/jwks
      access_token_jwks_uri_client_username: jwks-user
      access_token_jwks_uri_client_password: "jwks-password-42"
      channel_token_keyset_client_username: ks-user
      channel_token_keyset_client_password: "keyset-password-42"
)";

std::string signer_yaml(std::uint16_t up, const std::string& route)
{
    return render(signer_config, {{"UP", std::to_string(up)}, {"ROUTE", route}});
}

}  // namespace

TEST_CASE("reload: jwt-signer keys are untouched by reloads", "[integration][reload][jwt_signer]")
{
    echo_upstream up;
    gateway_process gw(options(signer_yaml(up.port(), "first"), up.port()));
    auto jwks_before = get(gw.proxy_port(), "/.well-known/jwks/reload-keys.json", {}, slow_ok());
    REQUIRE(jwks_before.status == 200);
    REQUIRE(json::parse(jwks_before.body)["keys"].size() >= 1);
    const auto admin_before = admin_json(gw, "/jwt-signer/jwks/reload-keys");

    for (const auto* route : {"second", "third"}) {
        auto r = post_config(gw, render(signer_yaml(up.port(), route), {{"DIR", gw.dir().path().string()}}));
        INFO(r.body);
        REQUIRE(r.status == 201);
    }
    auto jwks_after = get(gw.proxy_port(), "/.well-known/jwks/reload-keys.json", {}, slow_ok());
    REQUIRE(jwks_after.status == 200);
    CHECK(jwks_after.body == jwks_before.body);
    CHECK(jwks_after.header("ETag") == jwks_before.header("ETag"));
    CHECK(admin_json(gw, "/jwt-signer/jwks/reload-keys") == admin_before);
    CHECK(route_names(admin_json(gw, "/config")) == std::vector<std::string>{"third"});
}

TEST_CASE("reload: the key admin API appears when a reload adds the first jwt-signer",
          "[integration][reload][jwt_signer]")
{
    echo_upstream up;
    gateway_process gw(options(config_a, up.port()));
    CHECK(get(gw.admin_port(), "/jwt-signer/jwks/reload-keys").status == 404);
    auto r = post_config(gw, render(signer_yaml(up.port(), "signed"), {{"DIR", gw.dir().path().string()}}));
    INFO(r.body);
    REQUIRE(r.status == 201);
    auto keys = get(gw.admin_port(), "/jwt-signer/jwks/reload-keys", {}, slow_ok());
    CHECK(keys.status == 200);
    CHECK(get(gw.proxy_port(), "/.well-known/jwks/reload-keys.json").status == 200);
}

TEST_CASE("reload: GET /config exports the running config with secrets redacted", "[integration][reload]")
{
    echo_upstream up;
    gateway_process gw(options(signer_yaml(up.port(), "signed"), up.port()));

    for (const auto* target : {"/config", "/config?format=yaml"}) {
        auto r = get(gw.admin_port(), target);
        INFO(target << ": " << r.body);
        REQUIRE(r.status == 200);
        for (const auto* secret : {"aW50cm86c2VjcmV0LWludHJv", "jwks-password-42", "keyset-password-42"})
            CHECK(r.body.find(secret) == std::string::npos);
        CHECK(r.body.find("<redacted>") != std::string::npos);
    }
    auto doc = admin_json(gw, "/config");
    REQUIRE(doc["plugins"].size() == 1);
    const auto& pc = doc["plugins"][0]["config"];
    CHECK(pc["access_token_introspection_authorization"] == "<redacted>");
    CHECK(pc["access_token_jwks_uri_client_password"] == "<redacted>");
    CHECK(pc["channel_token_keyset_client_password"] == "<redacted>");
    // Not secrets: shown as configured.
    CHECK(pc["access_token_jwks_uri_client_username"] == "jwks-user");
    CHECK(pc["access_token_keyset"] == "reload-keys");
    CHECK(doc["countersign"]["workers"] == 2);
    CHECK(doc["services"][0]["name"] == "echo");
    CHECK(get(gw.admin_port(), "/config?format=yaml").header("Content-Type").rfind("application/yaml", 0) == 0);
}
