// Route selection with Kong's "most specific match wins" rules.
//
// A router is compiled once per config generation (regexes included) and is
// then immutable: every worker thread shares one instance.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <countersign/config/gateway_config.hpp>

namespace countersign::proxy {

/// Read-only view of the request headers, so the router does not depend on
/// Beast. `any_value` calls `pred` for each value of header `name`
/// (case-insensitive name) and returns true as soon as `pred` does.
class header_lookup {
public:
    virtual ~header_lookup() = default;
    virtual bool any_value(std::string_view name,
                           const std::function<bool(std::string_view)>& pred) const = 0;
};

/// Compiled routing table of one gateway_config.
///
/// Precedence follows Kong 3's `traditional_compatible` router: each
/// (route, path) pair is one candidate, ordered by
///   1. number of matching categories (methods, hosts, headers, paths),
///   2. hosts without wildcards before wildcard hosts,
///   3. number of header conditions,
///   4. regex paths before prefix paths, then higher `regex_priority`,
///   5. longer plain prefix,
///   6. order in the config file.
/// The first candidate whose every condition matches wins.
///
/// Not covered (documented): `snis`, `sources`/`destinations`, `protocols`
/// (426 redirects) and header values written as `~*regex`.
class router {
public:
    /// Compiles `cfg`. Regexes were validated by the loader; a regex that
    /// still fails to compile here makes its path never match (logged).
    static std::shared_ptr<const router> build(const config::gateway_config& cfg);

    struct match {
        const config::route_config* route = nullptr;
        const config::service_config* service = nullptr;  ///< null for service-less routes
        std::string_view matched_prefix;                  ///< part of `path` matched (prefix or regex match); "" if the route has no paths
    };

    /// Selects the route for a request. `host` may carry a port (ignored);
    /// `path` is the path without the query string. `matched_prefix` points
    /// into `path`.
    std::optional<match> find(std::string_view method, std::string_view host, std::string_view path,
                              const header_lookup& headers) const;

    std::size_t size() const { return candidates_.size(); }

    /// Kong's priority key of one candidate (exposed for tests).
    struct candidate {
        const config::route_config* route = nullptr;
        const config::service_config* service = nullptr;
        std::string path;                    ///< "" = route without paths
        bool regex = false;
        std::shared_ptr<const std::regex> compiled;
        bool plain_hosts_only = false;
        std::size_t order = 0;
        unsigned match_weight = 0;
        std::size_t header_count = 0;
        std::size_t prefix_length = 0;
    };
    const std::vector<candidate>& candidates() const { return candidates_; }

private:
    std::vector<candidate> candidates_;  // sorted by precedence, best first
};

/// True when `host` (lower-case, without port) matches a route host pattern
/// (exact, "*.example.com" or "example.*").
bool host_matches(std::string_view pattern, std::string_view host);

}  // namespace countersign::proxy
