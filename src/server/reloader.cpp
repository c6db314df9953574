#include <countersign/server/reloader.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <countersign/jwt_signer/jwt_signer_services.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/server/node.hpp>
#include <countersign/server/runtime.hpp>

namespace countersign::server {

namespace {

/// The `countersign:` section as the declarative export renders it, so the
/// comparison covers every node setting the exporter knows.
nlohmann::json node_section(const config::node_config& n)
{
    config::gateway_config cfg;
    cfg.node = n;
    return config::to_declarative_json(cfg, nullptr).value("countersign", nlohmann::json::object());
}

std::string join(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& s : items) {
        if (!out.empty())
            out += ", ";
        out += s;
    }
    return out;
}

}  // namespace

std::vector<std::string> changed_node_settings(const config::node_config& running, const config::node_config& next)
{
    const auto a = node_section(running);
    const auto b = node_section(next);
    std::vector<std::string> out;
    for (auto it = b.begin(); it != b.end(); ++it)
        if (!a.contains(it.key()) || a.at(it.key()) != it.value())
            out.push_back(it.key());
    for (auto it = a.begin(); it != a.end(); ++it)
        if (!b.contains(it.key()))
            out.push_back(it.key());
    return out;
}

bool has_node_section(std::string_view text)
{
    try {
        auto root = YAML::Load(std::string(text));
        return root.IsMap() && root["countersign"].IsDefined();
    } catch (const YAML::Exception&) {
        // The loader reads a few JSON documents yaml-cpp rejects; so do we.
        auto j = nlohmann::json::parse(text, nullptr, false);
        return !j.is_discarded() && j.is_object() && j.contains("countersign");
    }
}

//------------------------------------------------------------------------------

reloader::reloader(node& n, const pipeline::plugin_registry& registry, pipeline::plugin_services& services,
                   config::env_lookup env)
    : node_(n), registry_(registry), services_(services), env_(std::move(env))
{
}

reload_result reloader::reload_from_file(const std::string& path)
{
    std::lock_guard lock(mutex_);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        config::load_result failed;
        failed.errors.add("", "cannot read " + path + ": " + std::strerror(err));
        return apply(std::move(failed), {}, path);
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    return guarded(doc, path);
}

reload_result reloader::reload_from_text(std::string_view text, std::string source)
{
    std::lock_guard lock(mutex_);
    return guarded(text, source);
}

// Runs with mutex_ held. A reload never throws: whatever goes wrong is one
// more error, and the running config stays.
reload_result reloader::guarded(std::string_view text, const std::string& source)
{
    try {
        return apply(config::load_string(text, source, registry_, env_), text, source);
    } catch (const std::exception& e) {
        config::load_result failed;
        failed.errors.add("", std::string("internal error: ") + e.what());
        return apply(std::move(failed), {}, source);
    }
}

std::shared_ptr<jwt_signer::jwt_signer_services> reloader::jwt_signer_services() const
{
    std::lock_guard lock(mutex_);
    return services_.jwt_signer;
}

// Runs with mutex_ held.
reload_result reloader::apply(config::load_result loaded, std::string_view text, const std::string& source)
{
    reload_result r;
    if (!loaded.ok()) {
        r.errors = std::move(loaded.errors);
        if (r.errors.empty())
            r.errors.add("", "invalid configuration");
        ++stats_.error;
        log(r, source);
        return r;
    }

    // The node keeps the settings it started with; the running config says so.
    auto next = std::make_shared<config::gateway_config>(*loaded.config);
    const auto& running = node_.settings();
    if (has_node_section(text)) {
        r.restart_required = changed_node_settings(running, next->node);
        if (!r.restart_required.empty())
            r.warnings.push_back("node settings changed in `countersign:` (" + join(r.restart_required) +
                                 "): restart required to apply them; the running values stay");
    }
    next->node = running;

    config::error_list errors;
    auto rt = build_runtime(next, registry_, services_, errors);
    if (!rt || !errors.empty()) {
        r.errors = std::move(errors);
        if (r.errors.empty())
            r.errors.add("", "cannot build the runtime");
        r.restart_required.clear();
        r.warnings.clear();
        ++stats_.error;
        log(r, source);
        return r;
    }

    node_.replace(rt);
    if (services_.jwt_signer)
        services_.jwt_signer->config_reloaded();
    r.applied = true;
    r.config = rt->config;
    ++stats_.ok;
    log(r, source);
    return r;
}

void reloader::log(const reload_result& r, const std::string& source) const
{
    if (!r.applied) {
        spdlog::error("config reload from {} rejected ({} error(s)); the running config stays", source,
                      r.errors.size());
        for (const auto& e : r.errors.errors())
            spdlog::error("config reload from {}: {}", source, e.to_string());
        return;
    }
    const auto& c = *r.config;
    spdlog::info("config reloaded from {}: {} services, {} routes, {} plugins, {} consumers", source,
                 c.services.size(), c.routes.size(), c.plugins.size(), c.consumers.size());
    for (const auto& w : r.warnings)
        spdlog::warn("config reload from {}: {}", source, w);
}

//------------------------------------------------------------------------------

sighup_reload::sighup_reload(net::io_context& ioc, reloader& r, std::string path)
    : signals_(ioc, SIGHUP), reloader_(r), path_(std::move(path))
{
    arm();
}

sighup_reload::~sighup_reload()
{
    error_code ignored;
    signals_.cancel(ignored);
}

void sighup_reload::arm()
{
    signals_.async_wait([this](error_code ec, int) {
        if (ec)
            return;  // cancelled: shutting down
        spdlog::info("SIGHUP: reloading the configuration from {}", path_);
        reloader_.reload_from_file(path_);
        arm();
    });
}

}  // namespace countersign::server
