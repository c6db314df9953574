// GET /config and POST /config.
#include <countersign/admin/config_endpoints.hpp>

#include <countersign/core/text.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include <countersign/config/loader.hpp>
#include <countersign/core/percent.hpp>
#include <countersign/pipeline/plugin_registry.hpp>
#include <countersign/server/reloader.hpp>

namespace countersign::admin {

namespace {

using nlohmann::json;

constexpr std::string_view admin_source = "admin /config";

/// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view content_type)
{
    return ascii_lower(trim_ows(content_type.substr(0, content_type.find(';'))));
}

/// A parameter of a header value such as `multipart/form-data; boundary=x`.
std::string header_param(std::string_view value, std::string_view name)
{
    std::size_t pos = value.find(';');
    while (pos != std::string_view::npos) {
        auto rest = value.substr(pos + 1);
        auto next = rest.find(';');
        auto item = trim_ows(rest.substr(0, next));
        auto eq = item.find('=');
        if (eq != std::string_view::npos && ascii_lower(trim_ows(item.substr(0, eq))) == name) {
            auto v = trim_ows(item.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
                v = v.substr(1, v.size() - 2);
            return std::string(v);
        }
        pos = next == std::string_view::npos ? next : pos + 1 + next;
    }
    return {};
}

/// The (decoded) value of field `name` in `a=1&b=2`; nullopt when absent.
std::optional<std::string> form_field(std::string_view form, std::string_view name)
{
    while (!form.empty()) {
        auto amp = form.find('&');
        auto item = form.substr(0, amp);
        auto eq = item.find('=');
        constexpr bool plus_is_space = true;
        if (countersign::percent_decode(item.substr(0, eq), plus_is_space) == name)
            return eq == std::string_view::npos ? std::string()
                                                : countersign::percent_decode(item.substr(eq + 1), plus_is_space);
        if (amp == std::string_view::npos)
            break;
        form.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

/// The content of the multipart/form-data part named `name`.
std::optional<std::string> multipart_field(std::string_view body, std::string_view boundary, std::string_view name)
{
    if (boundary.empty())
        return std::nullopt;
    const std::string delimiter = "--" + std::string(boundary);
    auto pos = body.find(delimiter);
    while (pos != std::string_view::npos) {
        auto part_start = pos + delimiter.size();
        if (body.substr(part_start, 2) == "--")
            return std::nullopt;  // closing delimiter
        auto headers_end = body.find("\r\n\r\n", part_start);
        if (headers_end == std::string_view::npos)
            return std::nullopt;
        auto next = body.find("\r\n" + delimiter, headers_end + 4);
        if (next == std::string_view::npos)
            return std::nullopt;
        const auto headers = ascii_lower(body.substr(part_start, headers_end - part_start));
        const auto disposition_at = headers.find("content-disposition:");
        if (disposition_at != std::string::npos) {
            auto line_end = headers.find("\r\n", disposition_at);
            auto disposition = std::string_view(headers).substr(disposition_at, line_end - disposition_at);
            if (header_param(disposition, "name") == name)
                return std::string(body.substr(headers_end + 4, next - headers_end - 4));
        }
        pos = next + 2;
    }
    return std::nullopt;
}

bool is_document_type(const std::string& type)
{
    static constexpr std::string_view accepted[] = {
        "",           "application/json", "application/yaml", "application/x-yaml",
        "text/yaml",  "text/x-yaml",      "text/plain",       "application/octet-stream",
    };
    return std::find(std::begin(accepted), std::end(accepted), type) != std::end(accepted);
}

response bad_request(std::string_view message) { return response::message(400, message); }

//------------------------------------------------------------------------------
// YAML rendering

void emit(YAML::Emitter& out, const json& j)
{
    switch (j.type()) {
    case json::value_t::object:
        if (j.empty())
            out << YAML::Flow;
        out << YAML::BeginMap;
        for (auto it = j.begin(); it != j.end(); ++it) {
            out << YAML::Key << it.key() << YAML::Value;
            emit(out, it.value());
        }
        out << YAML::EndMap;
        break;
    case json::value_t::array:
        if (j.empty())
            out << YAML::Flow;
        out << YAML::BeginSeq;
        for (const auto& v : j)
            emit(out, v);
        out << YAML::EndSeq;
        break;
    case json::value_t::string:
        out << YAML::DoubleQuoted << j.get_ref<const std::string&>();
        break;
    case json::value_t::boolean:
        out << YAML::TrueFalseBool << j.get<bool>();
        break;
    case json::value_t::number_integer:
        out << j.get<std::int64_t>();
        break;
    case json::value_t::number_unsigned:
        out << j.get<std::uint64_t>();
        break;
    case json::value_t::number_float:
        out << j.get<double>();
        break;
    default:
        out << YAML::Null;
        break;
    }
}

//------------------------------------------------------------------------------
// Handlers

/// `format` query parameter: "json" (default) or "yaml".
std::string format_param(std::string_view query)
{
    auto v = form_field(query, "format");
    return v ? ascii_lower(*v) : std::string("json");
}

response get_config(const context& ctx, const request& req)
{
    auto cfg = ctx.current_config ? ctx.current_config() : nullptr;
    if (!cfg)
        return response::message(503, "no configuration loaded");
    const auto format = format_param(req.query);
    if (format != "json" && format != "yaml")
        return bad_request("format must be json or yaml");
    // The registry knows which plugin fields are secrets (`.secret()` in the
    // schemas); they come out as "<redacted>". Node settings hold no secrets
    // (certificate and key settings are file paths).
    const json doc = config::to_declarative_json(*cfg, ctx.registry);
    if (format == "json")
        return response::json(200, doc);
    response r;
    r.content_type = "application/yaml; charset=utf-8";
    r.body = to_yaml(doc);
    return r;
}

json error_entries(const config::error_list& errors)
{
    auto out = json::array();
    for (const auto& e : errors.errors()) {
        json entry = {{"path", e.path}, {"message", e.message}};
        if (e.line > 0)
            entry["line"] = e.line;
        out.push_back(std::move(entry));
    }
    return out;
}

response post_config(const context& ctx, const request& req)
{
    if (ctx.reloader == nullptr)
        return response::message(501, "configuration reload is not available");
    if (req.body.size() > max_config_body_bytes)
        return response::message(413, "Request body too large");
    auto doc = config_document(req);
    if (auto* answer = std::get_if<response>(&doc))
        return *answer;
    const auto& text = std::get<std::string>(doc);

    auto r = ctx.reloader->reload_from_text(text, std::string(admin_source));
    if (!r.applied) {
        const auto n = r.errors.size();
        return response::json(400, {
            {"code", 14},
            {"name", "invalid declarative configuration"},
            {"message", "declarative config is invalid (" + std::to_string(n) + (n == 1 ? " error" : " errors") +
                            "); the running configuration was kept"},
            {"errors", error_entries(r.errors)},
        });
    }
    const auto& c = *r.config;
    return response::json(201, {
        {"message", "configuration reloaded"},
        {"config_source", c.source},
        {"services", c.services.size()},
        {"routes", c.routes.size()},
        {"plugins", c.plugins.size()},
        {"consumers", c.consumers.size()},
        {"warnings", r.warnings},
        {"restart_required", r.restart_required},
    });
}

}  // namespace

std::variant<std::string, response> config_document(const request& req)
{
    const auto content_type = req.header("content-type");
    const auto type = media_type(content_type);
    std::string text;
    if (type == "multipart/form-data") {
        auto field = multipart_field(req.body, header_param(content_type, "boundary"), "config");
        if (!field)
            return bad_request("expected a declarative configuration in the form field `config`");
        text = std::move(*field);
    } else if (type == "application/x-www-form-urlencoded") {
        // curl --data-binary @file sends this type with the raw document.
        auto field = req.body.rfind("config=", 0) == 0 || req.body.find("&config=") != std::string::npos
                         ? form_field(req.body, "config")
                         : std::nullopt;
        text = field ? std::move(*field) : req.body;
    } else if (is_document_type(type)) {
        text = req.body;
        if (type == "application/json") {
            auto j = json::parse(req.body, nullptr, false);
            if (j.is_discarded() || !j.is_object())
                return bad_request("the body is not a JSON object");
            // Kong's wrapper: {"config": "<document>"} (or the document as an object).
            if (!j.contains("_format_version") && j.contains("config")) {
                const auto& inner = j["config"];
                if (inner.is_string())
                    text = inner.get<std::string>();
                else if (inner.is_object())
                    text = inner.dump();
            }
        }
    } else {
        return response::message(415, "unsupported Content-Type " + std::string(content_type) +
                                          "; send the declarative configuration as YAML or JSON");
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos)
        return bad_request("expected a declarative configuration");
    return text;
}

std::string to_yaml(const nlohmann::json& doc)
{
    YAML::Emitter out;
    out.SetIndent(2);
    emit(out, doc);
    std::string s = out.c_str();
    s += '\n';
    return s;
}

void add_config_routes(router& r, std::shared_ptr<const context> ctx)
{
    r.add("GET", "/config", [ctx](const request& req, const path_params&) { return get_config(*ctx, req); });
    r.add("POST", "/config", [ctx](const request& req, const path_params&) { return post_config(*ctx, req); });
}

}  // namespace countersign::admin
