#include <catch2/catch.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <countersign/pipeline/plugin_set.hpp>

using namespace countersign;
using namespace countersign::pipeline;
using json = nlohmann::json;

namespace {

struct recorder {
    std::vector<std::string> access;  // plugin entry ids, in run order
    std::vector<std::string> header_filter;
    std::vector<std::string> log;
};

/// Records its entry id; config may ask it to set a consumer ("set_consumer":
/// consumer id) or to end the request ("exit": true).
class test_plugin final : public plugin {
public:
    test_plugin(std::string name, int prio, const config::plugin_config& pc, recorder& rec, const config::gateway_config& cfg)
        : name_(std::move(name)), prio_(prio), id_(pc.id), rec_(rec)
    {
        if (auto c = pc.config.value("set_consumer", std::string()); !c.empty()) consumer_ = cfg.find_consumer(c);
        exit_ = pc.config.value("exit", false);
    }
    std::string_view name() const override { return name_; }
    int priority() const override { return prio_; }
    net::awaitable<void> access(request_context& ctx) const override
    {
        rec_.access.push_back(id_);
        if (consumer_) {
            ctx.consumer = consumer_;
            ctx.credential_id = "cred-1";
        }
        if (exit_) ctx.exit_with_message(403, "stop");
        co_return;
    }
    void header_filter(request_context&, http::response_header<>& res) const override
    {
        rec_.header_filter.push_back(id_);
        res.set("X-Seen-" + id_, "1");
    }
    void log(const request_context&) const override { rec_.log.push_back(id_); }

private:
    std::string name_;
    int prio_;
    std::string id_;
    recorder& rec_;
    const config::consumer_config* consumer_ = nullptr;
    bool exit_ = false;
};

struct fixture {
    recorder rec;
    config::gateway_config cfg;
    plugin_registry registry;
    plugin_services services;

    fixture()
    {
        cfg.services = {{.id = "S1", .name = "s1"}, {.id = "S2", .name = "s2"}};
        cfg.routes = {{.id = "R1", .name = "r1", .service_id = "S1"},
                      {.id = "R2", .name = "r2", .service_id = "S2"},
                      {.id = "R3", .name = "r3", .service_id = ""}};
        cfg.consumers = {{.id = "C1", .username = "alice", .custom_id = "a-1"}, {.id = "C2", .username = "bob"}};
        for (auto [name, prio] : {std::pair{"auth", 1000}, {"high", 5000}, {"mid", 100}, {"low", 10}}) {
            plugin_descriptor d;
            d.name = name;
            d.priority = prio;
            d.create = [this, name = std::string(name), prio](const config::plugin_config& pc, plugin_services&)
                -> result<std::shared_ptr<const plugin>> {
                if (pc.config.value("fail", false)) return make_error_code(boost::system::errc::invalid_argument);
                return std::shared_ptr<const plugin>(std::make_shared<test_plugin>(name, prio, pc, rec, cfg));
            };
            registry.add(std::move(d));
        }
    }

    config::plugin_config& add(std::string id, std::string name, std::string route = {}, std::string service = {},
                               std::string consumer = {}, json conf = json::object())
    {
        config::plugin_config pc;
        pc.id = std::move(id);
        pc.name = std::move(name);
        pc.route_id = std::move(route);
        pc.service_id = std::move(service);
        pc.consumer_id = std::move(consumer);
        pc.config = std::move(conf);
        pc.yaml_path = "plugins[" + std::to_string(cfg.plugins.size()) + "]";
        cfg.plugins.push_back(std::move(pc));
        return cfg.plugins.back();
    }

    std::shared_ptr<const plugin_set> build()
    {
        config::error_list errors;
        auto set = plugin_set::build(cfg, registry, services, errors);
        INFO(errors.to_string());
        REQUIRE(errors.empty());
        REQUIRE(set);
        return set;
    }
};

void run_access(const plugin_set& set, request_context& ctx)
{
    net::io_context io;
    std::exception_ptr failure;
    net::co_spawn(io, set.run_access(ctx), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
}

struct request {
    http::request_header<> header;
    request_context ctx;
    request(const config::gateway_config& cfg, std::string_view route_id)
    {
        header.method(http::verb::get);
        header.target("/x");
        ctx.config = &cfg;
        ctx.route = route_id.empty() ? nullptr : cfg.find_route(route_id);
        ctx.service = ctx.route && !ctx.route->service_id.empty() ? cfg.find_service(ctx.route->service_id) : nullptr;
        ctx.request = &header;
    }
};

// The 8 scopes of Kong's precedence, most specific first.
struct scope {
    const char* label;
    bool r, s, c;
};
constexpr scope scopes[] = {
    {"route+service+consumer", true, true, true}, {"route+consumer", true, false, true},
    {"service+consumer", false, true, true},      {"route+service", true, true, false},
    {"consumer", false, false, true},             {"route", true, false, false},
    {"service", false, true, false},              {"global", false, false, false},
};

}  // namespace

TEST_CASE("precedence rank follows Kong's order")
{
    for (int i = 0; i < 8; ++i) CHECK(plugin_set::precedence_rank(scopes[i].r, scopes[i].s, scopes[i].c) == i);
}

TEST_CASE("precedence: every combination of scopes picks the most specific entry")
{
    // For each of the 256 subsets of the 8 scopes, entries of plugin "mid"
    // exist at exactly those scopes (for R1/S1/C1), plus decoys scoped to
    // R2/S2/C2 that never apply. A request on R1 by C1 must run the most
    // specific present entry; without a consumer, the most specific
    // non-consumer entry.
    for (unsigned mask = 0; mask < 256; ++mask) {
        fixture f;
        f.cfg.plugins.reserve(32);
        f.add("decoy-r", "mid", "R2");
        f.add("decoy-s", "mid", "", "S2");
        f.add("decoy-c", "mid", "", "", "C2");
        f.add("decoy-rsc", "mid", "R2", "S2", "C2");
        f.add("decoy-mixed", "mid", "R1", "S2");  // a route+service pair that does not exist
        f.add("auth", "auth", "", "", "", json{{"set_consumer", "C1"}});
        int best_any = -1, best_anon = -1;
        for (int i = 7; i >= 0; --i) {
            if (!(mask & (1u << i))) continue;
            const auto& sc = scopes[i];
            f.add(sc.label, "mid", sc.r ? "R1" : "", sc.s ? "S1" : "", sc.c ? "C1" : "");
        }
        for (int i = 0; i < 8; ++i)
            if (mask & (1u << i)) {
                if (best_any < 0) best_any = i;
                if (best_anon < 0 && !scopes[i].c) best_anon = i;
            }
        auto set = f.build();
        INFO("mask " << mask);

        auto* got = set->resolve("mid", "R1", "S1", "C1");
        if (best_any < 0) CHECK(got == nullptr);
        else {
            REQUIRE(got);
            CHECK(got->id == scopes[best_any].label);
        }
        auto* anon = set->resolve("mid", "R1", "S1", "");
        if (best_anon < 0) CHECK(anon == nullptr);
        else {
            REQUIRE(anon);
            CHECK(anon->id == scopes[best_anon].label);
        }

        // The hot path agrees: "auth" (priority 1000) sets C1 before "mid" (100) resolves.
        request rq(f.cfg, "R1");
        run_access(*set, rq.ctx);
        std::vector<std::string> expected{"auth"};
        if (best_any >= 0) expected.push_back(scopes[best_any].label);
        CHECK(f.rec.access == expected);
    }
}

TEST_CASE("precedence: route without a service and requests without a route")
{
    fixture f;
    f.add("g", "mid");
    f.add("s", "mid", "", "S1");
    f.add("r3", "mid", "R3");
    auto set = f.build();
    CHECK(set->resolve("mid", "R3", "", "")->id == "r3");
    CHECK(set->resolve("mid", "R2", "S2", "")->id == "g");
    CHECK(set->resolve("mid", "", "", "")->id == "g");

    request none(f.cfg, "");
    run_access(*set, none.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"g"});
}

TEST_CASE("plugins run in descending priority, whatever their scope or config order")
{
    fixture f;
    f.add("low", "low");
    f.add("mid", "mid", "R1");
    f.add("high", "high", "", "S1");
    f.add("auth", "auth", "R1", "S1");
    auto set = f.build();
    CHECK(set->names() == std::vector<std::string>{"high", "auth", "mid", "low"});
    request rq(f.cfg, "R1");
    run_access(*set, rq.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"high", "auth", "mid", "low"});
    REQUIRE(rq.ctx.plugins.size() == 4);
    CHECK(rq.ctx.plugins[0]->name() == "high");

    http::response_header<> res;
    set->run_header_filter(rq.ctx, res);
    set->run_log(rq.ctx);
    CHECK(f.rec.header_filter == f.rec.access);
    CHECK(f.rec.log == f.rec.access);

    // Another route only gets what applies to it.
    f.rec = {};
    request r2(f.cfg, "R2");
    run_access(*set, r2.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"low"});
}

TEST_CASE("consumer-scoped entries of higher priority than the authenticator do not run")
{
    fixture f;
    f.add("high-c1", "high", "", "", "C1");  // resolved before auth sets the consumer
    f.add("auth", "auth", "", "", "", json{{"set_consumer", "C1"}});
    f.add("low-g", "low");
    f.add("low-c1", "low", "", "", "C1");
    f.add("low-c2", "low", "", "", "C2");
    auto set = f.build();
    request rq(f.cfg, "R1");
    run_access(*set, rq.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"auth", "low-c1"});
}

TEST_CASE("disabled entries never run and do not shadow less specific ones")
{
    fixture f;
    f.add("mid-g", "mid");
    f.add("mid-r", "mid", "R1").enabled = false;
    f.add("low-g", "low").enabled = false;
    auto set = f.build();
    CHECK(set->resolve("mid", "R1", "S1", "")->id == "mid-g");
    CHECK(set->resolve("low", "R1", "S1", "") == nullptr);
    request rq(f.cfg, "R1");
    run_access(*set, rq.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"mid-g"});
}

TEST_CASE("an exit stops the access phase; header_filter still runs for what ran")
{
    fixture f;
    f.add("high", "high");
    f.add("mid", "mid", "", "", "", json{{"exit", true}});
    f.add("low", "low");
    auto set = f.build();
    request rq(f.cfg, "R1");
    run_access(*set, rq.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"high", "mid"});
    REQUIRE(rq.ctx.exit);
    CHECK(rq.ctx.exit->status == 403);
    CHECK(rq.ctx.exit->body == R"({"message":"stop"})");
    http::response_header<> res;
    set->run_header_filter(rq.ctx, res);
    CHECK(f.rec.header_filter == std::vector<std::string>{"high", "mid"});
}

TEST_CASE("entries whose protocols exclude the request's are skipped")
{
    fixture f;
    f.add("mid", "mid").protocols = {"https"};
    f.add("low", "low").protocols = {"http"};
    auto set = f.build();
    request plain(f.cfg, "R1");
    run_access(*set, plain.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"low"});
    f.rec = {};
    request tls(f.cfg, "R1");
    tls.ctx.tls = true;
    run_access(*set, tls.ctx);
    CHECK(f.rec.access == std::vector<std::string>{"mid"});
}

TEST_CASE("consumer headers: incoming copies are removed, set from the consumer")
{
    fixture f;
    f.add("mid", "mid");
    auto set = f.build();
    request rq(f.cfg, "R1");
    rq.header.set("X-Consumer-ID", "spoofed");
    rq.header.set("X-Consumer-Username", "admin");
    rq.header.set("X-Consumer-Custom-ID", "x");
    rq.header.set("X-Credential-Identifier", "x");
    rq.header.set("X-Anonymous-Consumer", "true");
    run_access(*set, rq.ctx);
    for (auto h : {"X-Consumer-ID", "X-Consumer-Username", "X-Consumer-Custom-ID", "X-Credential-Identifier",
                   "X-Anonymous-Consumer"})
        CHECK(rq.header.find(h) == rq.header.end());

    fixture g;
    g.add("auth", "auth", "", "", "", json{{"set_consumer", "C1"}});
    auto set2 = g.build();
    request r2(g.cfg, "R1");
    r2.header.set("X-Consumer-ID", "spoofed");
    run_access(*set2, r2.ctx);
    CHECK(r2.header["X-Consumer-ID"] == "C1");
    CHECK(r2.header["X-Consumer-Username"] == "alice");
    CHECK(r2.header["X-Consumer-Custom-ID"] == "a-1");
    CHECK(r2.header["X-Credential-Identifier"] == "cred-1");
}

TEST_CASE("factory failures are reported with the entry's path and yield no set")
{
    fixture f;
    f.add("ok", "mid");
    f.add("bad", "low", "", "", "", json{{"fail", true}});
    f.add("off", "low", "", "", "", json{{"fail", true}}).enabled = false;  // disabled: never built
    config::error_list errors;
    auto set = plugin_set::build(f.cfg, f.registry, f.services, errors);
    CHECK_FALSE(set);
    REQUIRE(errors.size() == 1);
    CHECK(errors.errors()[0].path == "plugins[1]");
    CHECK_FALSE(errors.errors()[0].message.empty());
}

TEST_CASE("access timing is accumulated on the context")
{
    fixture f;
    f.add("mid", "mid");
    auto set = f.build();
    manual_clock clk;
    request rq(f.cfg, "R1");
    rq.ctx.clk = &clk;
    run_access(*set, rq.ctx);
    CHECK(rq.ctx.timings.access.count() == 0);
}
