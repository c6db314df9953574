#include <countersign/plugins/request_echo.hpp>

#include <countersign/core/percent.hpp>

#include <algorithm>
#include <cctype>

#include <unistd.h>

namespace countersign::plugins {

namespace {

using json = nlohmann::json;

/// Form/URI decoding as nginx's get_uri_args: %XX and '+' as space.
std::string url_decode(std::string_view s)
{
    return percent_decode(s, true);
}

void add_value(json& obj, const std::string& key, json value)
{
    auto it = obj.find(key);
    if (it == obj.end()) obj[key] = std::move(value);
    else if (it->is_array()) it->push_back(std::move(value));
    else *it = json::array({*it, std::move(value)});
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

json route_json(const config::route_config& r)
{
    return json{{"id", r.id},       {"name", r.name.empty() ? json() : json(r.name)},
                {"paths", r.paths}, {"hosts", r.hosts},
                {"methods", r.methods}, {"protocols", r.protocols},
                {"strip_path", r.strip_path}, {"preserve_host", r.preserve_host},
                {"path_handling", r.path_handling}, {"tags", r.tags},
                {"service", r.service_id.empty() ? json() : json{{"id", r.service_id}}}};
}

json service_json(const config::service_config& s)
{
    return json{{"id", s.id},     {"name", s.name.empty() ? json() : json(s.name)},
                {"protocol", s.protocol}, {"host", s.host},
                {"port", s.port}, {"path", s.path.empty() ? json() : json(s.path)},
                {"tags", s.tags}};
}

}  // namespace

json parse_query(std::string_view query)
{
    json out = json::object();
    while (!query.empty()) {
        auto amp = query.find('&');
        auto part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (part.empty()) continue;
        auto eq = part.find('=');
        if (eq == std::string_view::npos) add_value(out, url_decode(part), true);
        else {
            auto key = url_decode(part.substr(0, eq));
            if (key.empty()) continue;
            add_value(out, key, url_decode(part.substr(eq + 1)));
        }
    }
    return out;
}

json header_map(const http::request_header<>& req)
{
    json out = json::object();
    for (const auto& f : req) {
        auto name = f.name_string();
        add_value(out, lower(std::string_view(name.data(), name.size())), std::string(f.value()));
    }
    return out;
}

json describe_request(const pipeline::request_context& ctx, const std::optional<std::string>& raw_body,
                      std::string_view message)
{
    json request = json::object();
    std::string query_string;
    if (ctx.request) {
        std::string_view target(ctx.request->target().data(), ctx.request->target().size());
        auto q = target.find('?');
        if (q != std::string_view::npos) query_string = std::string(target.substr(q + 1));
        request["path"] = std::string(target.substr(0, q));
        auto method = ctx.request->method_string();
        request["method"] = std::string(method.data(), method.size());
        request["headers"] = header_map(*ctx.request);
    } else {
        request["method"] = nullptr;
        request["headers"] = json::object();
        request["path"] = nullptr;
    }
    request["query"] = parse_query(query_string);

    // As the upstream receives it: the service's scheme, host and port.
    if (ctx.service) {
        request["scheme"] = ctx.service->protocol;
        request["host"] = ctx.service->host;
        request["port"] = ctx.service->port;
    } else {
        request["scheme"] = ctx.tls ? "https" : "http";
        request["host"] = ctx.host;
        request["port"] = ctx.server_port;
    }

    if (raw_body) {
        request["raw_body"] = *raw_body;
        json body = nullptr;
        std::string ct;
        if (ctx.request) {
            auto it = ctx.request->find(http::field::content_type);
            if (it != ctx.request->end()) ct = lower(std::string_view(it->value().data(), it->value().size()));
        }
        if (!raw_body->empty()) {
            if (ct.find("application/json") != std::string::npos || ct.find("+json") != std::string::npos) {
                body = json::parse(*raw_body, nullptr, false);
                if (body.is_discarded()) body = nullptr;
            } else if (ct.starts_with("application/x-www-form-urlencoded")) {
                body = parse_query(*raw_body);
            }
        }
        request["body"] = std::move(body);
    } else {
        request["raw_body"] = nullptr;
        request["body"] = nullptr;
    }

    char hostname[256] = {};
    if (::gethostname(hostname, sizeof hostname - 1) != 0) hostname[0] = '\0';

    return json{{"message", message.empty() ? json() : json(std::string(message))},
                {"kong", {{"node_id", nullptr}, {"worker_pid", static_cast<int>(::getpid())}, {"hostname", hostname}}},
                {"request", std::move(request)},
                {"matched_route", ctx.route ? route_json(*ctx.route) : json()},
                {"matched_service", ctx.service ? service_json(*ctx.service) : json()}};
}

}  // namespace countersign::plugins
