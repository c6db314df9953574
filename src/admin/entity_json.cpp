#include <countersign/admin/entity_json.hpp>

namespace countersign::admin {

namespace {

// Kong renders unset arrays and strings as null.
nlohmann::json or_null(const std::vector<std::string>& v)
{
    return v.empty() ? nlohmann::json(nullptr) : nlohmann::json(v);
}

nlohmann::json or_null(const std::string& s)
{
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

nlohmann::json foreign_key(const std::string& id)
{
    return id.empty() ? nlohmann::json(nullptr) : nlohmann::json{{"id", id}};
}

}  // namespace

nlohmann::json to_json(const config::service_config& s)
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

nlohmann::json to_json(const config::route_config& r)
{
    nlohmann::json headers = nullptr;
    if (!r.headers.empty())
        headers = r.headers;
    return {
        {"id", r.id},
        {"name", or_null(r.name)},
        {"service", foreign_key(r.service_id)},
        {"protocols", r.protocols},
        {"methods", or_null(r.methods)},
        {"hosts", or_null(r.hosts)},
        {"paths", or_null(r.paths)},
        {"headers", std::move(headers)},
        {"strip_path", r.strip_path},
        {"preserve_host", r.preserve_host},
        {"regex_priority", r.regex_priority},
        {"path_handling", r.path_handling},
        {"https_redirect_status_code", 426},
        {"request_buffering", true},
        {"response_buffering", true},
        {"tags", or_null(r.tags)},
    };
}

nlohmann::json to_json(const config::consumer_config& c)
{
    return {
        {"id", c.id},
        {"username", or_null(c.username)},
        {"custom_id", or_null(c.custom_id)},
        {"tags", or_null(c.tags)},
    };
}

nlohmann::json to_json(const config::plugin_config& p, const config::plugin_validator* redact_with)
{
    return {
        {"id", p.id},
        {"name", p.name},
        {"instance_name", or_null(p.instance_name)},
        {"enabled", p.enabled},
        {"service", foreign_key(p.service_id)},
        {"route", foreign_key(p.route_id)},
        {"consumer", foreign_key(p.consumer_id)},
        {"protocols", p.protocols},
        {"tags", or_null(p.tags)},
        {"config", redact_with != nullptr ? redact_with->redact(p.name, p.config) : p.config},
    };
}

nlohmann::json list_page(nlohmann::json items)
{
    if (!items.is_array())
        items = nlohmann::json::array();
    return {{"data", std::move(items)}, {"next", nullptr}};
}

}  // namespace countersign::admin
