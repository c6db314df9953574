#include <countersign/proxy/forwarding.hpp>

#include <countersign/core/text.hpp>

#include <algorithm>
#include <array>
#include <charconv>

namespace countersign::proxy {

namespace {

std::string_view path_of(std::string_view target)
{
    return target.substr(0, target.find('?'));
}

std::string_view query_of(std::string_view target)
{
    auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view{} : target.substr(q);
}

// Kong 3 router/utils.lua get_upstream_uri_v0.
std::string join_v0(std::string_view base, bool strip, std::string_view postfix, std::string_view req)
{
    std::string out;
    if (base.back() == '/') {
        if (strip) {
            if (postfix.empty()) {
                if (base == "/")
                    out = "/";
                else if (req.back() == '/')
                    out = base;
                else
                    out = base.substr(0, base.size() - 1);
            } else if (postfix.front() == '/') {
                out = std::string(base.substr(0, base.size() - 1)) + std::string(postfix);
            } else {
                out = std::string(base) + std::string(postfix);
            }
        } else {
            out = std::string(base) + std::string(req.substr(1));
        }
    } else {
        if (strip) {
            if (postfix.empty())
                out = (req.size() > 1 && req.back() == '/') ? std::string(base) + "/" : std::string(base);
            else if (postfix.front() == '/')
                out = std::string(base) + std::string(postfix);
            else
                out = std::string(base) + "/" + std::string(postfix);
        } else {
            out = req == "/" ? std::string(base) : std::string(base) + std::string(req);
        }
    }
    return out;
}

// Kong 3 path_handling v1: plain concatenation, avoiding a double slash.
std::string join_v1(std::string_view base, std::string_view rest)
{
    if (rest.empty())
        return std::string(base);
    if (base.back() == '/' && rest.front() == '/')
        return std::string(base) + std::string(rest.substr(1));
    return std::string(base) + std::string(rest);
}

}  // namespace

std::string upstream_path(std::string_view service_path, const config::route_config& route,
                          std::string_view request_path, std::string_view matched_prefix)
{
    std::string_view base = service_path.empty() ? std::string_view("/") : service_path;
    bool strip = route.strip_path && !matched_prefix.empty();
    std::string_view postfix = strip ? request_path.substr(matched_prefix.size()) : request_path;
    // v1 without stripping keeps the incoming path minus its leading slash.
    std::string out = route.path_handling == "v1"
                          ? join_v1(base, strip ? postfix : request_path.substr(request_path.empty() ? 0 : 1))
                          : join_v0(base, strip, postfix, request_path);
    if (out.empty() || out.front() != '/')
        out.insert(out.begin(), '/');
    return out;
}

std::string upstream_target(const config::service_config& service, const config::route_config& route,
                            std::string_view request_target, std::string_view matched_prefix)
{
    return upstream_path(service.path, route, path_of(request_target), matched_prefix) +
           std::string(query_of(request_target));
}

std::string upstream_host(const config::service_config& service, const config::route_config& route,
                          std::string_view client_host)
{
    if (route.preserve_host && !client_host.empty())
        return std::string(client_host);
    bool default_port = (service.protocol == "https" && service.port == 443) ||
                        (service.protocol != "https" && service.port == 80);
    std::string host = service.host.find(':') != std::string::npos ? "[" + service.host + "]" : service.host;
    return default_port ? host : host + ":" + std::to_string(service.port);
}

std::string normalize_host(std::string_view host)
{
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
    } else if (auto colon = host.find(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    std::string out(host);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');  // ASCII only: no locale call per character
    return out;
}

namespace {

// Removes, in one walk, every field whose name is one of `names` (given in
// lower case), instead of one set search per name.
template <std::size_t N>
void erase_all_named(http::fields& f, const std::array<std::string_view, N>& names)
{
    for (auto it = f.begin(); it != f.end();) {
        const auto name = it->name_string();
        const bool drop = std::any_of(names.begin(), names.end(),
                                      [&](std::string_view n) { return ascii_iequals(name, n); });
        it = drop ? f.erase(it) : std::next(it);
    }
}

constexpr std::array<std::string_view, 7> forwarded_names{
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port",
    "x-forwarded-path", "x-forwarded-prefix", "x-real-ip"};

constexpr std::array<std::string_view, 6> consumer_names{
    "x-consumer-id",           "x-consumer-custom-id", "x-consumer-username",
    "x-consumer-groups",       "x-credential-identifier", "x-anonymous-consumer"};

}  // namespace

void set_forwarded_headers(http::fields& f, const forwarded_info& info)
{
    if (!info.trusted) {
        // Every value comes from the connection: drop the client's copies in
        // one pass and append ours (the order set() would have produced).
        erase_all_named(f, forwarded_names);
        f.insert("X-Forwarded-For", info.client_ip);
        f.insert("X-Forwarded-Proto", info.tls ? "https" : "http");
        f.insert("X-Forwarded-Host", normalize_host(info.host));
        char port[8];
        const auto end = std::to_chars(port, port + sizeof port, info.server_port).ptr;
        f.insert("X-Forwarded-Port", std::string_view(port, static_cast<std::size_t>(end - port)));
        f.insert("X-Forwarded-Path", info.request_path);
        if (!info.stripped_prefix.empty())
            f.insert("X-Forwarded-Prefix", info.stripped_prefix);
        f.insert("X-Real-IP", info.client_ip);
        return;
    }

    auto keep_or_set = [&](std::string_view name, std::string_view value) {
        if (info.trusted && f.count(name) > 0)
            return;
        f.set(name, value);
    };

    // X-Forwarded-For: nginx's $proxy_add_x_forwarded_for for trusted peers.
    std::string xff(info.client_ip);
    if (info.trusted && f.count("x-forwarded-for") > 0) {
        std::string prior;
        for (const auto& field : f) {
            auto name = field.name_string();
            if (!ascii_iequals(name, "x-forwarded-for"))
                continue;
            if (!prior.empty())
                prior += ", ";
            prior += std::string(field.value());
        }
        xff = prior + ", " + xff;
    }
    f.set("X-Forwarded-For", xff);
    keep_or_set("X-Forwarded-Proto", info.tls ? "https" : "http");
    keep_or_set("X-Forwarded-Host", normalize_host(info.host));
    keep_or_set("X-Forwarded-Port", std::to_string(info.server_port));
    keep_or_set("X-Forwarded-Path", info.request_path);
    if (!info.stripped_prefix.empty())
        keep_or_set("X-Forwarded-Prefix", info.stripped_prefix);
    else if (!info.trusted)
        f.erase("X-Forwarded-Prefix");
    keep_or_set("X-Real-IP", info.client_ip);
}

void clear_consumer_headers(http::fields& f)
{
    erase_all_named(f, consumer_names);
}

void set_consumer_headers(http::fields& f, const config::consumer_config& consumer, std::string_view credential_id)
{
    clear_consumer_headers(f);  // so plain inserts, no searches
    f.insert("X-Consumer-ID", consumer.id);
    if (!consumer.custom_id.empty())
        f.insert("X-Consumer-Custom-ID", consumer.custom_id);
    if (!consumer.username.empty())
        f.insert("X-Consumer-Username", consumer.username);
    if (!credential_id.empty())
        f.insert("X-Credential-Identifier", credential_id);
}

}  // namespace countersign::proxy
