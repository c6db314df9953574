#include <countersign/proxy/router.hpp>

#include <algorithm>
#include <cctype>
#include <tuple>

#include <spdlog/spdlog.h>

#include <countersign/core/text.hpp>

namespace countersign::proxy {

namespace {

std::string_view strip_port(std::string_view host)
{
    if (!host.empty() && host.front() == '[') {  // [v6]:port
        auto close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    auto colon = host.rfind(':');
    if (colon != std::string_view::npos && host.find(':') == colon)
        return host.substr(0, colon);
    return host;
}

// Sort key, compared lexicographically, larger first (Kong's 64-bit
// priority split into its fields).
auto precedence(const router::candidate& c)
{
    return std::make_tuple(c.match_weight, c.plain_hosts_only, c.header_count, c.regex,
                           c.regex ? c.route->regex_priority : 0, c.prefix_length);
}

}  // namespace

bool host_matches(std::string_view pattern, std::string_view host)
{
    if (pattern.empty())
        return false;
    if (pattern.front() == '*') {  // "*.example.com"
        auto suffix = pattern.substr(1);
        return host.size() > suffix.size() && ascii_iequals(host.substr(host.size() - suffix.size()), suffix);
    }
    if (pattern.back() == '*') {  // "example.*"
        auto prefix = pattern.substr(0, pattern.size() - 1);
        return host.size() > prefix.size() && ascii_iequals(host.substr(0, prefix.size()), prefix);
    }
    return ascii_iequals(pattern, host);
}

std::shared_ptr<const router> router::build(const config::gateway_config& cfg)
{
    auto r = std::make_shared<router>();
    std::size_t order = 0;
    for (const auto& route : cfg.routes) {
        const config::service_config* service =
            route.service_id.empty() ? nullptr : cfg.find_service(route.service_id);

        candidate base;
        base.route = &route;
        base.service = service;
        base.header_count = route.headers.size();
        base.match_weight = (route.methods.empty() ? 0 : 1) + (route.hosts.empty() ? 0 : 1) +
                            (route.headers.empty() ? 0 : 1) + (route.paths.empty() ? 0 : 1);
        base.plain_hosts_only = !route.hosts.empty() &&
                                std::none_of(route.hosts.begin(), route.hosts.end(), [](const std::string& h) {
                                    return h.find('*') != std::string::npos;
                                });

        if (route.paths.empty()) {
            base.order = order++;
            r->candidates_.push_back(std::move(base));
            continue;
        }
        // Kong splits a route by path, so each path competes on its own.
        for (const auto& p : route.paths) {
            candidate c = base;
            c.order = order++;
            c.path = p;
            if (!p.empty() && p.front() == '~') {
                c.regex = true;
                try {
                    c.compiled = std::make_shared<const std::regex>(p.substr(1), std::regex::ECMAScript);
                } catch (const std::regex_error& e) {
                    spdlog::error("route {}: path regex {} does not compile: {}", route.name, p, e.what());
                    continue;
                }
            } else {
                c.prefix_length = p.size();
            }
            r->candidates_.push_back(std::move(c));
        }
    }
    std::stable_sort(r->candidates_.begin(), r->candidates_.end(), [](const candidate& a, const candidate& b) {
        auto pa = precedence(a), pb = precedence(b);
        if (pa != pb)
            return pa > pb;
        return a.order < b.order;
    });
    return r;
}

std::optional<router::match> router::find(std::string_view method, std::string_view host, std::string_view path,
                                          const header_lookup& headers) const
{
    host = strip_port(host);
    for (const auto& c : candidates_) {
        const auto& route = *c.route;
        if (!route.methods.empty() &&
            std::none_of(route.methods.begin(), route.methods.end(),
                         [&](const std::string& m) { return m == method; }))
            continue;
        if (!route.hosts.empty() &&
            std::none_of(route.hosts.begin(), route.hosts.end(),
                         [&](const std::string& h) { return host_matches(h, host); }))
            continue;
        bool headers_ok = true;
        for (const auto& [name, allowed] : route.headers) {
            bool found = headers.any_value(name, [&](std::string_view v) {
                return std::any_of(allowed.begin(), allowed.end(),
                                   [&](const std::string& a) { return ascii_iequals(a, v); });
            });
            if (!found) {
                headers_ok = false;
                break;
            }
        }
        if (!headers_ok)
            continue;

        std::string_view matched;
        if (!c.path.empty()) {
            if (c.regex) {
                std::match_results<std::string_view::const_iterator> m;
                if (!std::regex_search(path.begin(), path.end(), m, *c.compiled,
                                       std::regex_constants::match_continuous))
                    continue;
                matched = path.substr(0, static_cast<std::size_t>(m.length(0)));
            } else {
                if (path.substr(0, c.path.size()) != c.path)
                    continue;
                matched = path.substr(0, c.path.size());
            }
        }
        return match{c.route, c.service, matched};
    }
    return std::nullopt;
}

}  // namespace countersign::proxy
