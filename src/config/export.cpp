// The config going out: error texts, entity lookups, and the running config
// as JSON in Kong's shapes (Admin API entities, declarative document).
#include <countersign/config/loader.hpp>

#include "yaml_support.hpp"

namespace countersign::config {

//------------------------------------------------------------------------------
// Errors

std::string config_error::to_string() const
{
    std::string out = path.empty() ? message : path + ": " + message;
    if (line > 0)
        out += " (line " + std::to_string(line) + ")";
    return out;
}

std::string error_list::to_string() const
{
    std::string out;
    for (const auto& e : errors_) {
        out += e.to_string();
        out += '\n';
    }
    return out;
}

//------------------------------------------------------------------------------
// Lookups

namespace {

template <class T, class Name>
const T* find_by(const std::vector<T>& items, std::string_view key, Name name_of)
{
    if (key.empty())
        return nullptr;
    for (const auto& item : items)
        if (item.id == key)
            return &item;
    for (const auto& item : items)
        if (name_of(item) == key)
            return &item;
    return nullptr;
}

}  // namespace

const service_config* gateway_config::find_service(std::string_view id_or_name) const
{
    return find_by(services, id_or_name, [](const service_config& s) -> const std::string& { return s.name; });
}

const route_config* gateway_config::find_route(std::string_view id_or_name) const
{
    return find_by(routes, id_or_name, [](const route_config& r) -> const std::string& { return r.name; });
}

const consumer_config* gateway_config::find_consumer(std::string_view id_or_username) const
{
    return find_by(consumers, id_or_username,
                   [](const consumer_config& c) -> const std::string& { return c.username; });
}

const plugin_config* gateway_config::find_plugin(std::string_view id_or_instance_name) const
{
    return find_by(plugins, id_or_instance_name,
                   [](const plugin_config& p) -> const std::string& { return p.instance_name; });
}

//------------------------------------------------------------------------------
// Entities in Kong's Admin API shape

namespace {

nlohmann::json or_null(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

nlohmann::json or_null(const std::vector<std::string>& v)
{
    return v.empty() ? nlohmann::json() : nlohmann::json(v);
}

nlohmann::json ref(const std::string& id)
{
    return id.empty() ? nlohmann::json() : nlohmann::json{{"id", id}};
}

/// Drops null members: the declarative form leaves unset fields out.
nlohmann::json without_nulls(nlohmann::json j)
{
    for (auto it = j.begin(); it != j.end();)
        it = it->is_null() ? j.erase(it) : std::next(it);
    return j;
}

nlohmann::json to_json(const std::vector<listen_address>& listeners)
{
    if (listeners.empty())
        return "off";
    auto out = nlohmann::json::array();
    for (const auto& l : listeners)
        out.push_back(detail::to_string(l));
    return out;
}

nlohmann::json to_json(const node_config& n)
{
    return without_nulls({
        {"proxy_listen", to_json(n.proxy_listen)},
        {"admin_listen", to_json(n.admin_listen)},
        {"workers", n.workers},
        {"data_dir", n.data_dir},
        {"log_level", n.log_level},
        {"access_log", n.access_log},
        {"access_log_json", n.access_log_json},
        {"error_log", n.error_log},
        {"ssl_cert", or_null(n.ssl_cert)},
        {"ssl_cert_key", or_null(n.ssl_cert_key)},
        {"admin_ssl_cert", or_null(n.admin_ssl_cert)},
        {"admin_ssl_cert_key", or_null(n.admin_ssl_cert_key)},
        {"public_jwks_path", n.public_jwks_path},
        {"max_header_bytes", n.max_header_bytes},
        {"max_body_bytes", n.max_body_bytes},
        {"client_header_timeout", n.client_header_timeout.count()},
        {"client_body_timeout", n.client_body_timeout.count()},
        {"keepalive_timeout", n.keepalive_timeout.count()},
        {"keepalive_requests", n.keepalive_requests},
        {"max_connections", n.max_connections},
        {"upstream_keepalive_pool_size", n.upstream_keepalive_pool_size},
        {"upstream_keepalive_idle_timeout", n.upstream_keepalive_idle_timeout.count()},
        {"upstream_keepalive_max_requests", n.upstream_keepalive_max_requests},
        {"shutdown_timeout", n.shutdown_timeout.count()},
        {"trust_forwarded_headers", n.trust_forwarded_headers},
        {"jwks_refetch_throttle", n.jwks_refetch_throttle.count()},
        {"token_cache_size", n.token_cache_size},
    });
}

}  // namespace

nlohmann::json to_json(const service_config& s)
{
    return {
        {"id", s.id},
        {"name", or_null(s.name)},
        {"protocol", s.protocol},
        {"host", s.host},
        {"port", s.port},
        {"path", or_null(s.path)},
        {"connect_timeout", s.connect_timeout.count()},
        {"read_timeout", s.read_timeout.count()},
        {"write_timeout", s.write_timeout.count()},
        {"retries", s.retries},
        {"tls_verify", s.tls_verify},
        {"ca_certificates", or_null(s.ca_certificates)},
        {"enabled", true},
        {"tags", or_null(s.tags)},
    };
}

nlohmann::json to_json(const route_config& r)
{
    return {
        {"id", r.id},
        {"name", or_null(r.name)},
        {"protocols", r.protocols},
        {"methods", or_null(r.methods)},
        {"hosts", or_null(r.hosts)},
        {"paths", or_null(r.paths)},
        {"headers", r.headers.empty() ? nlohmann::json() : nlohmann::json(r.headers)},
        {"strip_path", r.strip_path},
        {"preserve_host", r.preserve_host},
        {"regex_priority", r.regex_priority},
        {"path_handling", r.path_handling},
        {"https_redirect_status_code", 426},
        {"request_buffering", true},
        {"response_buffering", true},
        {"service", ref(r.service_id)},
        {"tags", or_null(r.tags)},
    };
}

nlohmann::json to_json(const consumer_config& c)
{
    return {
        {"id", c.id},
        {"username", or_null(c.username)},
        {"custom_id", or_null(c.custom_id)},
        {"tags", or_null(c.tags)},
    };
}

nlohmann::json to_json(const plugin_config& p, const plugin_validator* redact_with)
{
    return {
        {"id", p.id},
        {"name", p.name},
        {"instance_name", or_null(p.instance_name)},
        {"enabled", p.enabled},
        {"service", ref(p.service_id)},
        {"route", ref(p.route_id)},
        {"consumer", ref(p.consumer_id)},
        {"protocols", p.protocols},
        {"tags", or_null(p.tags)},
        {"config", redact_with ? redact_with->redact(p.name, p.config) : p.config},
    };
}

//------------------------------------------------------------------------------
// The declarative document

nlohmann::json to_declarative_json(const gateway_config& cfg, const plugin_validator* redact_with)
{
    auto list = [](const auto& items, auto convert) {
        auto out = nlohmann::json::array();
        for (const auto& item : items)
            out.push_back(without_nulls(convert(item)));
        return out;
    };
    auto plain = [](const auto& item) { return to_json(item); };
    return {
        // Regex paths are already written with "~", whatever version was read.
        {"_format_version", "3.0"},
        {"countersign", to_json(cfg.node)},
        {"services", list(cfg.services, plain)},
        {"routes", list(cfg.routes, plain)},
        {"consumers", list(cfg.consumers, plain)},
        {"plugins", list(cfg.plugins, [&](const plugin_config& p) { return to_json(p, redact_with); })},
    };
}

}  // namespace countersign::config
