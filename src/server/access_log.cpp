#include <countersign/server/access_log.hpp>

#include <chrono>
#include <ctime>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <countersign/pipeline/request_context.hpp>

namespace countersign::server {

namespace {

std::string_view or_dash(std::string_view s)
{
    return s.empty() ? std::string_view("-") : s;
}

std::string clf_time()
{
    auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    return buf;
}

// Escape quotes and control bytes so one request stays one line.
std::string escape(std::string_view s)
{
    std::string out;
    for (unsigned char c : s) {
        if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

struct names {
    std::string_view route, service, consumer, request_id;
};

names names_of(const access_record& r)
{
    names n;
    if (r.ctx) {
        if (r.ctx->route)
            n.route = r.ctx->route->name.empty() ? std::string_view(r.ctx->route->id) : r.ctx->route->name;
        if (r.ctx->service)
            n.service = r.ctx->service->name.empty() ? std::string_view(r.ctx->service->id) : r.ctx->service->name;
        if (r.ctx->consumer)
            n.consumer = r.ctx->consumer->username.empty() ? std::string_view(r.ctx->consumer->id)
                                                           : r.ctx->consumer->username;
        n.request_id = r.ctx->request_id;
    }
    return n;
}

}  // namespace

std::string format_access_plain(const access_record& r)
{
    auto n = names_of(r);
    char lat[64];
    std::snprintf(lat, sizeof lat, "latency_ms=%.3f upstream_ms=%.3f", r.latency_ms, r.upstream_ms);
    std::string line;
    line.reserve(256);
    line += or_dash(r.client_ip);
    line += " - - [" + clf_time() + "] \"";
    line += escape(r.method);
    line += ' ';
    line += escape(r.target);
    line += r.version == 10 ? " HTTP/1.0\" " : " HTTP/1.1\" ";
    line += std::to_string(r.status) + ' ' + std::to_string(r.bytes_sent);
    line += " \"" + escape(or_dash(r.referer)) + "\" \"" + escape(or_dash(r.user_agent)) + "\"";
    line += " request_id=" + escape(or_dash(n.request_id));
    line += " route=" + escape(or_dash(n.route));
    line += " service=" + escape(or_dash(n.service));
    line += " consumer=" + escape(or_dash(n.consumer));
    line += ' ';
    line += lat;
    return line;
}

std::string format_access_json(const access_record& r)
{
    auto n = names_of(r);
    nlohmann::json j{
        {"client_ip", r.client_ip},
        {"time", clf_time()},
        {"method", r.method},
        {"target", r.target},
        {"protocol", r.version == 10 ? "HTTP/1.0" : "HTTP/1.1"},
        {"status", r.status},
        {"bytes_sent", r.bytes_sent},
        {"user_agent", r.user_agent},
        {"referer", r.referer},
        {"request_id", n.request_id},
        {"route", n.route},
        {"service", n.service},
        {"consumer", n.consumer},
        {"latency_ms", r.latency_ms},
    };
    if (r.upstream_ms >= 0)
        j["upstream_ms"] = r.upstream_ms;
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_access_log(const access_record& r, bool json)
{
    // The logger is configured once at start-up, before the workers run:
    // look it up once per thread instead of taking spdlog's registry lock
    // on every request.
    thread_local const std::shared_ptr<spdlog::logger> logger = spdlog::get("access");
    if (!logger || !logger->should_log(spdlog::level::info))
        return;  // `access_log: off`: do not even format the record
    logger->info(json ? format_access_json(r) : format_access_plain(r));
}

}  // namespace countersign::server
