#include <countersign/plugins/request_termination.hpp>

#include <countersign/plugins/request_echo.hpp>

namespace countersign::plugins {

namespace {

std::optional<std::string> optional_string(const nlohmann::json& config, const char* key)
{
    auto it = config.find(key);
    if (it == config.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

/// Whether the raw query string has an argument named `name` (decoded names).
bool query_has(std::string_view target, std::string_view name)
{
    auto q = target.find('?');
    if (q == std::string_view::npos) return false;
    auto args = parse_query(target.substr(q + 1));
    return args.contains(std::string(name));
}

}  // namespace

std::string_view request_termination::default_message(unsigned status)
{
    switch (status) {
    case 401: return "Unauthorized";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 500: return "An unexpected error occurred";
    case 502: return "Bad Gateway";
    case 503: return "Service unavailable";
    default: return {};
    }
}

pipeline::plugin_schema request_termination::schema()
{
    using namespace pipeline;
    plugin_schema s{{
        integer_field("status_code")
            .required()
            .default_value(503)
            .between(100, 599)
            .description("The response code to send. Must be an integer between 100 and 599."),
        string_field("message").description("The message to send, if using the default response generator."),
        string_field("content_type").description("Content type of the raw response configured with `config.body`."),
        string_field("body").description("The raw response body to send. This is mutually exclusive with the `config.message` field."),
        boolean_field("echo")
            .required()
            .default_value(false)
            .description("When set, the plugin will echo a copy of the request back to the client."),
        string_field("trigger")
            .len_min(1)
            .match("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", "an HTTP header name")
            .description("A header name or query argument: when set, the plugin terminates only requests that carry it."),
    }};
    s.add_check("message cannot be used with content_type or body", [](const nlohmann::json& c, check_reporter& r) {
        if (is_present(value_at(c, "message")) && (is_present(value_at(c, "content_type")) || is_present(value_at(c, "body"))))
            r.error("message cannot be used with content_type or body");
    });
    s.add_check("content_type requires a body", [](const nlohmann::json& c, check_reporter& r) {
        if (is_present(value_at(c, "content_type")) && !is_present(value_at(c, "body"))) r.error("content_type requires a body");
    });
    s.add_check("echo cannot be used with content_type and body", [](const nlohmann::json& c, check_reporter& r) {
        if (value_at(c, "echo") == true && (is_present(value_at(c, "content_type")) || is_present(value_at(c, "body"))))
            r.error("echo cannot be used with content_type and body");
    });
    return s;
}

request_termination_config request_termination::parse(const nlohmann::json& config)
{
    request_termination_config c;
    if (auto it = config.find("status_code"); it != config.end() && it->is_number_integer()) c.status_code = it->get<unsigned>();
    c.message = optional_string(config, "message");
    c.body = optional_string(config, "body");
    c.content_type = optional_string(config, "content_type");
    if (auto it = config.find("echo"); it != config.end() && it->is_boolean()) c.echo = *it;
    if (auto t = optional_string(config, "trigger")) c.trigger = *t;
    return c;
}

pipeline::plugin_descriptor request_termination::descriptor()
{
    pipeline::plugin_descriptor d;
    d.name = std::string(plugin_name);
    d.priority = plugin_priority;
    d.version = "2.0.1";
    d.schema = schema();
    d.create = [](const config::plugin_config& pc, pipeline::plugin_services&)
        -> result<std::shared_ptr<const pipeline::plugin>> {
        return std::shared_ptr<const pipeline::plugin>(std::make_shared<request_termination>(parse(pc.config)));
    };
    return d;
}

bool request_termination::triggered(const pipeline::request_context& ctx) const
{
    if (cfg_.trigger.empty()) return true;
    if (!ctx.request) return false;
    if (ctx.request->find(cfg_.trigger) != ctx.request->end()) return true;
    auto target = ctx.request->target();
    return query_has(std::string_view(target.data(), target.size()), cfg_.trigger);
}

net::awaitable<void> request_termination::access(pipeline::request_context& ctx) const
{
    if (!triggered(ctx)) co_return;  // trigger set but not found: nothing to do

    pipeline::exit_response r;
    r.status = cfg_.status_code;

    if (cfg_.echo) {
        std::optional<std::string> raw_body;
        bool has_body = false;
        if (ctx.request) {
            auto cl = ctx.request->find(http::field::content_length);
            has_body = ctx.request->find(http::field::transfer_encoding) != ctx.request->end() ||
                       (cl != ctx.request->end() && cl->value() != "0");
        }
        if (has_body && ctx.read_body) {
            auto got = co_await ctx.read_body(echo_body_limit);
            if (got) raw_body = std::move(*got);
        } else {
            raw_body.emplace();
        }
        std::string_view message = cfg_.message ? std::string_view(*cfg_.message) : default_message(cfg_.status_code);
        r.body = describe_request(ctx, raw_body, message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        r.content_type = "application/json; charset=utf-8";
    } else if (cfg_.body) {
        r.body = *cfg_.body;
        // Kong sends the configured content type; without one, nginx's default.
        r.content_type = cfg_.content_type ? *cfg_.content_type : "text/plain; charset=utf-8";
    } else {
        std::string_view message = cfg_.message ? std::string_view(*cfg_.message) : default_message(cfg_.status_code);
        if (message.empty()) {
            r.body.clear();  // Kong: no body when there is no message for this status
        } else {
            r.body = nlohmann::json{{"message", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
    }
    ctx.exit = std::move(r);
}

}  // namespace countersign::plugins
