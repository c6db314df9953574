// The declarative document: services, routes, consumers and plugins as Kong
// writes them, read into a gateway_config with every error collected.
#include <countersign/config/loader.hpp>

#include "yaml_support.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <unordered_map>

#include <arpa/inet.h>
#include <boost/url/parse.hpp>

namespace countersign::config {

namespace {

using namespace detail;

std::string upper(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(const std::vector<std::string>& items, std::string_view sep)
{
    std::string out;
    for (const auto& i : items) {
        if (!out.empty())
            out += sep;
        out += i;
    }
    return out;
}

/// RFC 9110 token characters (header names, methods).
bool is_token(std::string_view s)
{
    static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
    });
}

/// Kong's entity names: letters (any UTF-8), digits, ".", "-", "_", "~".
bool is_name(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u >= 0x80 || std::isalnum(u) || c == '.' || c == '-' || c == '_' || c == '~';
    });
}

bool is_hostname(std::string_view h)
{
    if (h.empty() || h.size() > 253)
        return false;
    std::size_t start = 0;
    for (;;) {
        auto dot = h.find('.', start);
        auto label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

bool is_ipv6(const std::string& h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

/// Why an upstream path or route prefix is malformed, or nothing.
std::optional<std::string> uri_path_error(std::string_view p)
{
    for (std::size_t i = 0; i < p.size(); ++i) {
        auto c = static_cast<unsigned char>(p[i]);
        if (c <= 0x20 || c == 0x7f || c == '?' || c == '#')
            return "must not contain spaces, control characters, \"?\" or \"#\"";
        if (c == '%' && (i + 2 >= p.size() || !std::isxdigit(static_cast<unsigned char>(p[i + 1])) ||
                         !std::isxdigit(static_cast<unsigned char>(p[i + 2]))))
            return "invalid percent-encoding";
    }
    return std::nullopt;
}

/// Kong (PCRE) allows named groups, std::regex does not: "(?<id>\d+)" and
/// "(?P<id>\d+)" become "(\d+)". Nothing in countersign reads group names.
std::string strip_group_names(std::string_view re)
{
    std::string out;
    out.reserve(re.size());
    bool in_class = false;
    for (std::size_t i = 0; i < re.size(); ++i) {
        char c = re[i];
        if (c == '\\' && i + 1 < re.size()) {
            out += c;
            out += re[++i];
            continue;
        }
        if (in_class) {
            in_class = c != ']';
            out += c;
            continue;
        }
        if (c == '[') {
            in_class = true;
            out += c;
            continue;
        }
        if (c == '(' && re.substr(i, 3) == "(?<" && i + 3 < re.size() && re[i + 3] != '=' && re[i + 3] != '!') {
            auto close = re.find('>', i + 3);
            if (close != std::string_view::npos) {
                out += '(';
                i = close;
                continue;
            }
        }
        if (c == '(' && re.substr(i, 4) == "(?P<") {
            auto close = re.find('>', i + 4);
            if (close != std::string_view::npos) {
                out += '(';
                i = close;
                continue;
            }
        }
        out += c;
    }
    return out;
}

/// Kong's top-level entities that countersign does not have.
constexpr std::string_view kong_only_entities[] = {"upstreams", "targets",         "certificates", "ca_certificates",
                                                   "snis",      "vaults",          "consumer_groups", "key_sets",
                                                   "keys"};
/// Credentials of Kong's authentication plugins, at the top level or under a consumer.
constexpr std::string_view kong_credentials[] = {"acls",        "basicauth_credentials", "keyauth_credentials",
                                                 "jwt_secrets", "hmacauth_credentials",  "oauth2_credentials",
                                                 "mtls_auth_credentials"};
constexpr std::string_view credentials_message =
    "credentials of Kong's authentication plugins are not supported by countersign";

const std::set<std::string, std::less<>> kong_protocols = {"grpc", "grpcs", "http", "https", "tcp",
                                                           "tls",  "tls_passthrough", "udp", "ws", "wss"};

/// "unsupported protocol "grpc" (supported: http, https)": Kong's protocols
/// are "unsupported", anything else "unknown".
std::string protocol_error(const std::string& protocol, std::string_view supported)
{
    return (kong_protocols.count(protocol) ? "unsupported protocol \"" : "unknown protocol \"") + protocol +
           "\" (supported: " + std::string(supported) + ")";
}

/// A `service:`, `route:` or `consumer:` reference, resolved once every
/// entity has been read.
struct entity_ref {
    enum class by { none, id, name, any };
    by how = by::none;
    std::string value;
    std::string path;
    bool present() const { return how != by::none; }
};

/// A plugins entry, kept until every entity it may refer to is known.
struct plugin_entry {
    plugin_config cfg;
    YAML::Node config;
    bool config_ok = true;
    entity_ref service, route, consumer;
    std::string nested_kind;   ///< "service", "route", "consumer" or "" (top level)
    std::string nested_id;
    std::string nested_label;  ///< for messages: `service "billing"`
};

class document_loader {
public:
    document_loader(const plugin_validator& validator, const env_lookup& env, reader& in, gateway_config& cfg)
        : validator_(validator), env_(env), in_(in), cfg_(cfg)
    {
    }

    void load(const YAML::Node& root);

private:
    void read_format_version(const YAML::Node& root);
    void read_service(const YAML::Node& n, const std::string& path, std::size_t index);
    void read_route(const YAML::Node& n, const std::string& path, const service_config* parent,
                    std::size_t index);
    void read_consumer(const YAML::Node& n, const std::string& path, std::size_t index);
    void read_plugins(const YAML::Node& map, const std::string& path, const std::string& nested_kind,
                      const std::string& nested_id, const std::string& nested_label);
    void read_plugin(const YAML::Node& n, const std::string& path, const std::string& nested_kind,
                     const std::string& nested_id, const std::string& nested_label);

    std::optional<std::string> read_id(const YAML::Node& map, const std::string& path);
    std::optional<std::string> read_name(const YAML::Node& map, const std::string& path, std::string_view key);
    entity_ref read_ref(const YAML::Node& map, const std::string& path, std::string_view key,
                        std::string_view name_key);
    std::vector<std::string> read_protocols(const YAML::Node& map, const std::string& path,
                                            const std::set<std::string, std::less<>>& supported);
    std::vector<std::string> read_route_paths(const YAML::Node& map, const std::string& path);
    std::vector<std::string> read_route_hosts(const YAML::Node& map, const std::string& path);
    std::map<std::string, std::vector<std::string>> read_route_headers(const YAML::Node& map,
                                                                       const std::string& path);
    /// Calls `each(item, item_path, index)` for every entry of the list at `key`.
    template <class F>
    void for_each_item(const YAML::Node& map, const std::string& path, std::string_view key, F each);

    void index_entities();
    std::optional<std::string> resolve(const entity_ref& ref, std::string_view kind);
    void resolve_route_services();
    void finish_plugins();
    void check_unique();

    const plugin_validator& validator_;
    const env_lookup& env_;
    reader& in_;
    gateway_config& cfg_;
    bool legacy_paths_ = false;  ///< _format_version 1.1/2.1: regex paths without "~"

    std::vector<std::string> service_paths_, route_paths_, consumer_paths_;
    std::set<std::string> given_ids_;  ///< ids written in the document (the others are derived)
    std::vector<std::pair<std::size_t, entity_ref>> route_service_refs_;  ///< route index, ref
    std::vector<std::string> route_parent_ids_;                          ///< per route: enclosing service id
    std::vector<plugin_entry> plugins_;

    struct entity_index {
        std::unordered_map<std::string, std::string> by_id, by_name;  ///< -> id
    };
    entity_index services_, routes_, consumers_;
};

template <class F>
void document_loader::for_each_item(const YAML::Node& map, const std::string& path, std::string_view key, F each)
{
    YAML::Node list = member(map, key);
    std::string p = child_path(path, key);
    if (is_absent(list))
        return;
    if (!list.IsSequence()) {
        in_.error(p, "expected a list");
        return;
    }
    std::size_t i = 0;
    for (auto it = list.begin(); it != list.end(); ++it, ++i)
        each(*it, item_path(p, i), i);
}

void document_loader::load(const YAML::Node& root)
{
    std::vector<std::string_view> kong_keys(std::begin(kong_only_entities), std::end(kong_only_entities));
    kong_keys.insert(kong_keys.end(), std::begin(kong_credentials), std::end(kong_credentials));
    in_.check_map(root, "",
                  {"_format_version", "_transform", "_workspace", "_comment", "_ignore", "services", "routes",
                   "consumers", "plugins", "countersign"},
                  kong_keys);
    for (std::string_view entity : kong_only_entities)
        in_.reject_if_set(root, "", entity, "Kong's " + std::string(entity) + " are not supported by countersign");
    for (std::string_view credentials : kong_credentials)
        in_.reject_if_set(root, "", credentials, credentials_message);

    read_format_version(root);
    in_.boolean(root, "", "_transform");
    in_.string(root, "", "_workspace", true);
    in_.string(root, "", "_comment", true);

    load_node_settings(member(root, "countersign"), env_, cfg_.node, in_);

    for_each_item(root, "", "services", [&](const YAML::Node& n, const std::string& p, std::size_t i) {
        read_service(n, p, i);
    });
    for_each_item(root, "", "routes", [&](const YAML::Node& n, const std::string& p, std::size_t i) {
        read_route(n, p, nullptr, i);
    });
    for_each_item(root, "", "consumers", [&](const YAML::Node& n, const std::string& p, std::size_t i) {
        read_consumer(n, p, i);
    });
    read_plugins(root, "", "", "", "");

    index_entities();
    resolve_route_services();
    check_unique();
    finish_plugins();
}

void document_loader::read_format_version(const YAML::Node& root)
{
    auto v = in_.string(root, "", "_format_version");
    if (!v) {
        if (is_absent(member(root, "_format_version")))
            in_.error("_format_version", "required field missing (use \"3.0\")");
        return;
    }
    if (*v != "1.1" && *v != "2.1" && *v != "3.0") {
        in_.error("_format_version", "must be \"1.1\", \"2.1\" or \"3.0\"");
        return;
    }
    cfg_.format_version = *v;
    legacy_paths_ = *v != "3.0";
}

std::optional<std::string> document_loader::read_id(const YAML::Node& map, const std::string& path)
{
    auto id = in_.string(map, path, "id");
    if (!id)
        return std::nullopt;
    if (!is_uuid(*id)) {
        in_.error(child_path(path, "id"), "expected a UUID, e.g. \"" + stable_uuid("example", "") + "\"");
        return std::nullopt;
    }
    given_ids_.insert(lower(*id));
    return lower(*id);
}

std::optional<std::string> document_loader::read_name(const YAML::Node& map, const std::string& path,
                                                      std::string_view key)
{
    auto name = in_.string(map, path, key);
    if (name && !is_name(*name)) {
        in_.error(child_path(path, key), "invalid name " + quote(*name) +
                                             ": only letters, digits, \".\", \"-\", \"_\" and \"~\" are allowed");
        return std::nullopt;
    }
    return name;
}

entity_ref document_loader::read_ref(const YAML::Node& map, const std::string& path, std::string_view key,
                                     std::string_view name_key)
{
    entity_ref ref;
    ref.path = child_path(path, key);
    YAML::Node v = member(map, key);
    if (is_absent(v))
        return ref;
    if (v.IsScalar()) {
        ref.how = entity_ref::by::any;
        ref.value = v.Scalar();
        return ref;
    }
    if (!v.IsMap()) {
        in_.error(ref.path, "expected a map with \"id\" or \"" + std::string(name_key) + "\", or a string");
        return ref;
    }
    const std::size_t errors_before = in_.errors().size();
    std::initializer_list<std::string_view> keys = {"id", name_key};
    if (!in_.check_map(v, ref.path, keys))
        return ref;
    auto id = in_.string(v, ref.path, "id");
    auto name = in_.string(v, ref.path, name_key);
    if (id && name) {
        in_.error(ref.path, "expected \"id\" or \"" + std::string(name_key) + "\", not both");
    } else if (id) {
        ref.how = entity_ref::by::id;
        ref.value = lower(*id);
    } else if (name) {
        ref.how = entity_ref::by::name;
        ref.value = *name;
    } else if (in_.errors().size() == errors_before) {
        in_.error(ref.path, "expected \"id\" or \"" + std::string(name_key) + "\"");
    }
    return ref;
}

std::vector<std::string> document_loader::read_protocols(const YAML::Node& map, const std::string& path,
                                                         const std::set<std::string, std::less<>>& supported)
{
    auto protocols = in_.strings(map, path, "protocols");
    if (!protocols)
        return {};
    std::string p = child_path(path, "protocols");
    if (protocols->empty())
        in_.error(p, "must not be empty");
    std::vector<std::string> names(supported.begin(), supported.end());
    std::vector<std::string> out;
    for (std::size_t i = 0; i < protocols->size(); ++i) {
        std::string proto = lower((*protocols)[i]);
        if (!supported.count(proto))
            in_.error(item_path(p, i), protocol_error(proto, join(names, ", ")));
        else if (std::find(out.begin(), out.end(), proto) == out.end())
            out.push_back(proto);
    }
    return out;
}

//------------------------------------------------------------------------------
// Services

void document_loader::read_service(const YAML::Node& n, const std::string& path, std::size_t index)
{
    if (!in_.check_map(n, path,
                       {"id", "name", "url", "protocol", "host", "port", "path", "connect_timeout", "read_timeout",
                        "write_timeout", "retries", "tls_verify", "tls_verify_depth", "ca_certificates",
                        "client_certificate", "tags", "enabled", "routes", "plugins", "created_at", "updated_at"}))
        return;

    service_config s;
    auto id = read_id(n, path);
    if (auto name = read_name(n, path, "name"))
        s.name = *name;

    bool have_port = false;
    if (auto url = in_.string(n, path, "url")) {
        const std::string up = child_path(path, "url");
        for (std::string_view field : {"protocol", "host", "port", "path"})
            if (!is_absent(member(n, field)))
                in_.error(child_path(path, field), "cannot be combined with url");
        auto parsed = boost::urls::parse_uri(*url);
        if (!parsed) {
            in_.error(up, "invalid URL " + quote(*url));
        } else {
            boost::urls::url_view u = *parsed;
            std::string scheme = lower(std::string(u.scheme()));
            if (scheme != "http" && scheme != "https")
                in_.error(up, protocol_error(scheme, "http, https"));
            else
                s.protocol = scheme;
            if (u.has_userinfo())
                in_.error(up, "must not contain user info");
            if (u.has_query())
                in_.error(up, "must not contain a query string");
            if (u.has_fragment())
                in_.error(up, "must not contain a fragment");
            std::string host = u.host_type() == boost::urls::host_type::ipv6 ? std::string(u.host_address())
                                                                              : lower(std::string(u.host()));
            if (host.empty())
                in_.error(up, "must have a host");
            else if (u.host_type() != boost::urls::host_type::ipv6 && !is_hostname(host))
                in_.error(up, "invalid host " + quote(host));
            else
                s.host = host;
            if (u.has_port()) {
                auto port = std::atoi(std::string(u.port()).c_str());
                if (u.port().empty() || u.port().size() > 5 || port < 1 || port > 65535)
                    in_.error(up, "port must be between 1 and 65535");
                else {
                    s.port = static_cast<std::uint16_t>(port);
                    have_port = true;
                }
            }
            s.path = std::string(u.encoded_path());
        }
    } else {
        if (auto protocol = in_.string(n, path, "protocol")) {
            std::string proto = lower(*protocol);
            if (proto != "http" && proto != "https")
                in_.error(child_path(path, "protocol"), protocol_error(proto, "http, https"));
            else
                s.protocol = proto;
        }
        if (auto host = in_.string(n, path, "host")) {
            if (is_ipv6(*host))
                s.host = *host;
            else if (is_hostname(*host))
                s.host = lower(*host);
            else
                in_.error(child_path(path, "host"), "invalid host " + quote(*host));
        }
        if (auto port = in_.integer(n, path, "port", 1, 65535)) {
            s.port = static_cast<std::uint16_t>(*port);
            have_port = true;
        }
        if (auto p = in_.string(n, path, "path")) {
            if (p->front() != '/')
                in_.error(child_path(path, "path"), "must start with \"/\"");
            else if (auto why = uri_path_error(*p))
                in_.error(child_path(path, "path"), *why);
            else
                s.path = *p;
        }
        if (is_absent(member(n, "host")))
            in_.error(path, "must set url or host");
    }
    if (!have_port)
        s.port = s.protocol == "https" ? 443 : 80;

    if (auto v = in_.integer(n, path, "connect_timeout", 1, max_int32))
        s.connect_timeout = std::chrono::milliseconds(*v);
    if (auto v = in_.integer(n, path, "read_timeout", 1, max_int32))
        s.read_timeout = std::chrono::milliseconds(*v);
    if (auto v = in_.integer(n, path, "write_timeout", 1, max_int32))
        s.write_timeout = std::chrono::milliseconds(*v);
    if (auto v = in_.integer(n, path, "retries", 0, 32767))
        s.retries = static_cast<unsigned>(*v);
    if (auto v = in_.boolean(n, path, "tls_verify"))
        s.tls_verify = *v;

    YAML::Node ca = member(n, "ca_certificates");
    if (ca.IsSequence()) {
        in_.reject_if_set(n, path, "ca_certificates",
                          "expected the path of a PEM file (references to Kong's ca_certificates entities are not "
                          "supported)");
    } else if (auto bundle = in_.string(n, path, "ca_certificates")) {
        if (auto why = unreadable_file(*bundle))
            in_.error(child_path(path, "ca_certificates"), *why);
        else
            s.ca_certificates = *bundle;
    }
    in_.reject_if_set(n, path, "tls_verify_depth", "not supported by countersign (the chain depth is not limited)");
    in_.reject_if_set(n, path, "client_certificate", "client certificates to upstreams are not supported by countersign");
    if (auto enabled = in_.boolean(n, path, "enabled"); enabled && !*enabled)
        in_.error(child_path(path, "enabled"), "disabled services are not supported: remove the service instead");
    in_.integer(n, path, "created_at", 0, std::numeric_limits<std::int64_t>::max());
    in_.integer(n, path, "updated_at", 0, std::numeric_limits<std::int64_t>::max());
    s.tags = in_.tags(n, path);

    s.id = id ? *id : stable_uuid("services", s.name.empty() ? "#" + std::to_string(index) : s.name);
    cfg_.services.push_back(s);
    service_paths_.push_back(path);

    for_each_item(n, path, "routes", [&](const YAML::Node& r, const std::string& p, std::size_t i) {
        read_route(r, p, &s, i);
    });
    read_plugins(n, path, "service", s.id, "service " + quote(s.name.empty() ? s.id : s.name));
}

//------------------------------------------------------------------------------
// Routes

std::vector<std::string> document_loader::read_route_paths(const YAML::Node& map, const std::string& path)
{
    auto paths = in_.strings(map, path, "paths");
    if (!paths)
        return {};
    const std::string p = child_path(path, "paths");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < paths->size(); ++i) {
        std::string route_path = (*paths)[i];
        const std::string ip = item_path(p, i);
        // Before 3.0 Kong guessed regexes: anything beyond these characters.
        if (legacy_paths_ && route_path.front() != '~' &&
            route_path.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~/%-") !=
                std::string::npos)
            route_path = "~" + route_path;
        if (route_path.front() == '~') {
            if (route_path.size() < 2 || route_path[1] != '/') {
                in_.error(ip, "a regex path must start with \"~/\"");
                continue;
            }
            std::string re = strip_group_names(std::string_view(route_path).substr(1));
            try {
                std::regex compiled(re, std::regex::ECMAScript);
            } catch (const std::regex_error& e) {
                in_.error(ip, std::string("invalid regex: ") + e.what());
                continue;
            }
            out.push_back("~" + re);
        } else if (route_path.front() != '/') {
            in_.error(ip, "must start with \"/\"");
        } else if (auto why = uri_path_error(route_path)) {
            in_.error(ip, *why);
        } else {
            out.push_back(route_path);
        }
    }
    return out;
}

std::vector<std::string> document_loader::read_route_hosts(const YAML::Node& map, const std::string& path)
{
    auto hosts = in_.strings(map, path, "hosts");
    if (!hosts)
        return {};
    const std::string p = child_path(path, "hosts");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < hosts->size(); ++i) {
        std::string host = lower((*hosts)[i]);
        const std::string ip = item_path(p, i);
        if (host.front() == '[') {
            if (host.back() != ']' || !is_ipv6(host.substr(1, host.size() - 2)))
                in_.error(ip, "invalid host " + quote(host) + " (ports are not supported in hosts)");
            else
                out.push_back(host);
            continue;
        }
        auto stars = std::count(host.begin(), host.end(), '*');
        std::string_view bare = host;
        if (stars > 1) {
            in_.error(ip, "invalid wildcard " + quote(host) + ": must have at most one wildcard");
            continue;
        }
        if (stars == 1) {
            if (host.size() > 2 && host.starts_with("*."))
                bare.remove_prefix(2);
            else if (host.size() > 2 && host.ends_with(".*"))
                bare.remove_suffix(2);
            else {
                in_.error(ip, "invalid wildcard " + quote(host) + ": must be placed at leftmost or rightmost label");
                continue;
            }
        }
        if (bare.find(':') != std::string_view::npos) {
            in_.error(ip, "invalid host " + quote(host) + ": ports are not supported in hosts");
            continue;
        }
        if (!is_hostname(bare)) {
            in_.error(ip, "invalid host " + quote(host));
            continue;
        }
        out.push_back(host);
    }
    return out;
}

std::map<std::string, std::vector<std::string>> document_loader::read_route_headers(const YAML::Node& map,
                                                                                    const std::string& path)
{
    std::map<std::string, std::vector<std::string>> out;
    YAML::Node headers = member(map, "headers");
    const std::string p = child_path(path, "headers");
    if (is_absent(headers))
        return out;
    if (!headers.IsMap()) {
        in_.error(p, "expected a map of header names to lists of values");
        return out;
    }
    for (auto it = headers.begin(); it != headers.end(); ++it) {
        const std::string raw = it->first.Scalar();
        const std::string hp = child_path(p, raw);
        const std::string name = lower(raw);
        if (!is_token(name)) {
            in_.error(hp, "invalid header name " + quote(raw));
            continue;
        }
        if (name == "host") {
            in_.error(hp, "cannot contain the \"host\" header, which must be specified in \"hosts\"");
            continue;
        }
        if (out.count(name)) {
            in_.error(hp, "duplicate header " + quote(raw));
            continue;
        }
        auto values = in_.strings(headers, p, raw);
        if (!values) {
            if (is_absent(it->second))
                in_.error(hp, "expected a list of values");
            continue;
        }
        if (values->empty()) {
            in_.error(hp, "must have at least one value");
            continue;
        }
        bool ok = true;
        for (std::size_t i = 0; i < values->size(); ++i)
            if ((*values)[i].starts_with("~*")) {
                in_.error(item_path(hp, i), "regex header values (\"~*...\") are not supported by countersign");
                ok = false;
            }
        if (ok)
            out[name] = *values;
    }
    return out;
}

void document_loader::read_route(const YAML::Node& n, const std::string& path, const service_config* parent,
                                 std::size_t index)
{
    if (!in_.check_map(n, path,
                       {"id", "name", "protocols", "methods", "hosts", "paths", "headers", "strip_path",
                        "preserve_host", "regex_priority", "path_handling", "tags", "service", "plugins",
                        "https_redirect_status_code", "request_buffering", "response_buffering", "snis", "sources",
                        "destinations", "expression", "priority", "created_at", "updated_at"}))
        return;

    route_config r;
    auto id = read_id(n, path);
    if (auto name = read_name(n, path, "name"))
        r.name = *name;
    if (!is_absent(member(n, "protocols")))
        r.protocols = read_protocols(n, path, {"http", "https"});

    if (auto methods = in_.strings(n, path, "methods")) {
        for (std::size_t i = 0; i < methods->size(); ++i) {
            std::string m = upper((*methods)[i]);
            if (!is_token(m))
                in_.error(item_path(child_path(path, "methods"), i), "invalid method " + quote((*methods)[i]));
            else if (std::find(r.methods.begin(), r.methods.end(), m) == r.methods.end())
                r.methods.push_back(m);
        }
    }
    r.hosts = read_route_hosts(n, path);
    r.paths = read_route_paths(n, path);
    r.headers = read_route_headers(n, path);

    bool any_matcher = false;
    for (std::string_view key : {"paths", "hosts", "methods", "headers"}) {
        YAML::Node v = member(n, key);
        any_matcher = any_matcher || (!is_absent(v) && !((v.IsSequence() || v.IsMap()) && v.size() == 0));
    }
    if (!any_matcher)
        in_.error(path, "must set at least one of paths, hosts, methods or headers");

    if (auto v = in_.boolean(n, path, "strip_path"))
        r.strip_path = *v;
    if (auto v = in_.boolean(n, path, "preserve_host"))
        r.preserve_host = *v;
    if (auto v = in_.integer(n, path, "regex_priority", -max_int32 - 1, max_int32))
        r.regex_priority = static_cast<int>(*v);
    if (auto v = in_.string(n, path, "path_handling")) {
        if (*v != "v0" && *v != "v1")
            in_.error(child_path(path, "path_handling"), "must be \"v0\" or \"v1\"");
        else
            r.path_handling = *v;
    }
    if (auto v = in_.integer(n, path, "https_redirect_status_code", 100, 599); v && *v != 426)
        in_.error(child_path(path, "https_redirect_status_code"), "only 426 is supported by countersign");
    in_.boolean(n, path, "request_buffering");   // countersign always streams: both values
    in_.boolean(n, path, "response_buffering");  // are accepted and mean the same here
    for (std::string_view stream_only : {"snis", "sources", "destinations"})
        in_.reject_if_set(n, path, stream_only, "stream (TCP/TLS) routing is not supported by countersign");
    for (std::string_view expressions : {"expression", "priority"})
        in_.reject_if_set(n, path, expressions, "Kong's expressions router is not supported by countersign");
    in_.integer(n, path, "created_at", 0, std::numeric_limits<std::int64_t>::max());
    in_.integer(n, path, "updated_at", 0, std::numeric_limits<std::int64_t>::max());
    r.tags = in_.tags(n, path);

    r.service_id = parent ? parent->id : std::string();
    // Resolved once all services are known; a nested route may only name its parent.
    if (entity_ref service = read_ref(n, path, "service", "name"); service.present())
        route_service_refs_.emplace_back(cfg_.routes.size(), service);

    if (id)
        r.id = *id;
    else if (!r.name.empty())
        r.id = stable_uuid("routes", r.name);
    else  // unnamed: stable as long as the document keeps its shape
        r.id = stable_uuid("routes", (parent ? parent->id + "/" : std::string()) + "#" + std::to_string(index));
    route_parent_ids_.push_back(parent ? parent->id : std::string());
    cfg_.routes.push_back(r);
    route_paths_.push_back(path);

    read_plugins(n, path, "route", r.id, "route " + quote(r.name.empty() ? r.id : r.name));
}

//------------------------------------------------------------------------------
// Consumers

void document_loader::read_consumer(const YAML::Node& n, const std::string& path, std::size_t index)
{
    if (!in_.check_map(n, path, {"id", "username", "custom_id", "tags", "plugins", "created_at", "updated_at", "groups"},
                       kong_credentials))
        return;
    consumer_config c;
    auto id = read_id(n, path);
    if (auto v = in_.string(n, path, "username"))
        c.username = *v;
    if (auto v = in_.string(n, path, "custom_id"))
        c.custom_id = *v;
    if (is_absent(member(n, "username")) && is_absent(member(n, "custom_id")))
        in_.error(path, "must set at least one of username or custom_id");
    c.tags = in_.tags(n, path);
    for (std::string_view credentials : kong_credentials)
        in_.reject_if_set(n, path, credentials, credentials_message);
    in_.reject_if_set(n, path, "groups", "consumer groups are not supported by countersign");
    in_.integer(n, path, "created_at", 0, std::numeric_limits<std::int64_t>::max());
    in_.integer(n, path, "updated_at", 0, std::numeric_limits<std::int64_t>::max());

    c.id = id                    ? *id
           : !c.username.empty() ? stable_uuid("consumers", "username:" + c.username)
           : !c.custom_id.empty() ? stable_uuid("consumers", "custom_id:" + c.custom_id)
                                  : stable_uuid("consumers", "#" + std::to_string(index));
    cfg_.consumers.push_back(c);
    consumer_paths_.push_back(path);
    read_plugins(n, path, "consumer", c.id,
                 "consumer " + quote(!c.username.empty() ? c.username : !c.custom_id.empty() ? c.custom_id : c.id));
}

//------------------------------------------------------------------------------
// Plugins

void document_loader::read_plugins(const YAML::Node& map, const std::string& path, const std::string& nested_kind,
                                   const std::string& nested_id, const std::string& nested_label)
{
    for_each_item(map, path, "plugins", [&](const YAML::Node& n, const std::string& p, std::size_t) {
        read_plugin(n, p, nested_kind, nested_id, nested_label);
    });
}

void document_loader::read_plugin(const YAML::Node& n, const std::string& path, const std::string& nested_kind,
                                  const std::string& nested_id, const std::string& nested_label)
{
    if (!in_.check_map(n, path,
                       {"id", "name", "instance_name", "config", "enabled", "protocols", "tags", "service", "route",
                        "consumer", "ordering", "consumer_group", "created_at", "updated_at"}))
        return;
    plugin_entry e;
    e.cfg.yaml_path = path;
    e.nested_kind = nested_kind;
    e.nested_id = nested_id;
    e.nested_label = nested_label;
    if (auto id = read_id(n, path))
        e.cfg.id = *id;
    if (auto name = in_.string(n, path, "name"))
        e.cfg.name = *name;
    else if (is_absent(member(n, "name")))
        in_.error(child_path(path, "name"), "required field missing");
    if (auto v = read_name(n, path, "instance_name"))
        e.cfg.instance_name = *v;
    if (auto v = in_.boolean(n, path, "enabled"))
        e.cfg.enabled = *v;
    if (!is_absent(member(n, "protocols")))
        e.cfg.protocols = read_protocols(n, path, {"grpc", "grpcs", "http", "https"});
    e.cfg.tags = in_.tags(n, path);
    e.config = member(n, "config");
    if (!is_absent(e.config) && !e.config.IsMap()) {
        in_.error(child_path(path, "config"), "expected a map");
        e.config_ok = false;
    }
    e.service = read_ref(n, path, "service", "name");
    e.route = read_ref(n, path, "route", "name");
    e.consumer = read_ref(n, path, "consumer", "username");
    in_.reject_if_set(n, path, "ordering", "dynamic plugin ordering is not supported by countersign");
    in_.reject_if_set(n, path, "consumer_group", "consumer groups are not supported by countersign");
    in_.integer(n, path, "created_at", 0, std::numeric_limits<std::int64_t>::max());
    in_.integer(n, path, "updated_at", 0, std::numeric_limits<std::int64_t>::max());
    plugins_.push_back(std::move(e));
}

//------------------------------------------------------------------------------
// References and uniqueness

void document_loader::index_entities()
{
    auto index = [](entity_index& idx, const auto& items, auto name_of) {
        for (const auto& item : items) {
            idx.by_id.emplace(item.id, item.id);  // the first of duplicates, which are reported
            if (!name_of(item).empty())
                idx.by_name.emplace(name_of(item), item.id);
        }
    };
    index(services_, cfg_.services, [](const service_config& s) -> const std::string& { return s.name; });
    index(routes_, cfg_.routes, [](const route_config& r) -> const std::string& { return r.name; });
    index(consumers_, cfg_.consumers, [](const consumer_config& c) -> const std::string& { return c.username; });
}

std::optional<std::string> document_loader::resolve(const entity_ref& ref, std::string_view kind)
{
    const entity_index& idx = kind == "service" ? services_ : kind == "route" ? routes_ : consumers_;
    auto find = [](const std::unordered_map<std::string, std::string>& m, const std::string& key) {
        auto it = m.find(key);
        return it == m.end() ? std::optional<std::string>() : it->second;
    };
    std::optional<std::string> id;
    if (ref.how == entity_ref::by::id || ref.how == entity_ref::by::any)
        id = find(idx.by_id, lower(ref.value));
    if (!id && (ref.how == entity_ref::by::name || ref.how == entity_ref::by::any))
        id = find(idx.by_name, ref.value);
    if (id)
        return id;
    std::string what = ref.how == entity_ref::by::id     ? " with id "
                       : kind == "consumer" && ref.how == entity_ref::by::name ? " with username "
                       : ref.how == entity_ref::by::name ? " named "
                                                          : " ";
    in_.error(ref.path, std::string(kind) + what + quote(ref.value) + " not found");
    return std::nullopt;
}

void document_loader::resolve_route_services()
{
    for (const auto& [index, ref] : route_service_refs_) {
        auto id = resolve(ref, "service");
        if (!id)
            continue;
        const std::string& parent = route_parent_ids_[index];
        if (!parent.empty() && *id != parent) {
            const service_config* p = cfg_.find_service(parent);
            in_.error(ref.path, "conflicts with the enclosing service " + quote(p->name.empty() ? p->id : p->name));
            continue;
        }
        cfg_.routes[index].service_id = *id;
    }
}

void document_loader::check_unique()
{
    // Reports the second of two entities that share `key`, at `field`. Two
    // derived ids can only collide when their names do, which is reported.
    auto unique = [&](std::string_view kind, std::string_view field, std::size_t count,
                      const std::vector<std::string>& paths, auto key_of) {
        std::map<std::string, std::size_t> first;
        for (std::size_t i = 0; i < count; ++i) {
            std::string key = key_of(i);
            if (key.empty())
                continue;
            auto [it, fresh] = first.emplace(key, i);
            if (!fresh && field == "id" && !given_ids_.count(key))
                continue;
            if (!fresh) {
                std::string p = child_path(paths[i], field);
                if (in_.lines().at(p) == 0)
                    p = paths[i];  // a generated id
                in_.error(p, "duplicate " + std::string(kind) + " " + std::string(field) + " " + quote(key) +
                                 " (first at " + paths[it->second] + ")");
            }
        }
    };
    unique("service", "id", cfg_.services.size(), service_paths_, [&](std::size_t i) { return cfg_.services[i].id; });
    unique("service", "name", cfg_.services.size(), service_paths_,
           [&](std::size_t i) { return cfg_.services[i].name; });
    unique("route", "id", cfg_.routes.size(), route_paths_, [&](std::size_t i) { return cfg_.routes[i].id; });
    unique("route", "name", cfg_.routes.size(), route_paths_, [&](std::size_t i) { return cfg_.routes[i].name; });
    unique("consumer", "id", cfg_.consumers.size(), consumer_paths_,
           [&](std::size_t i) { return cfg_.consumers[i].id; });
    unique("consumer", "username", cfg_.consumers.size(), consumer_paths_,
           [&](std::size_t i) { return cfg_.consumers[i].username; });
    unique("consumer", "custom_id", cfg_.consumers.size(), consumer_paths_,
           [&](std::size_t i) { return cfg_.consumers[i].custom_id; });
}

void document_loader::finish_plugins()
{
    const line_lookup line_of = [this](const std::string& p) { return in_.lines().nearest(p); };
    std::vector<std::string> known = validator_.names();
    std::map<std::tuple<std::string, std::string, std::string, std::string>, std::string> scopes;
    std::map<std::string, std::string> ids, instance_names;

    for (auto& e : plugins_) {
        plugin_config& p = e.cfg;
        const std::string& path = p.yaml_path;
        bool scope_ok = true;
        // The enclosing entity sets one reference; an explicit one must agree.
        auto scope = [&](entity_ref& ref, std::string_view kind, std::string& out) {
            std::optional<std::string> id;
            if (ref.present()) {
                id = resolve(ref, kind);
                scope_ok = scope_ok && id.has_value();
            }
            if (e.nested_kind == kind) {
                if (id && *id != e.nested_id) {
                    in_.error(ref.path, "conflicts with the enclosing " + e.nested_label);
                    scope_ok = false;
                }
                out = e.nested_id;
            } else if (id) {
                out = *id;
            }
        };
        scope(e.service, "service", p.service_id);
        scope(e.route, "route", p.route_id);
        scope(e.consumer, "consumer", p.consumer_id);

        if (p.name.empty())
            continue;
        if (!validator_.known(p.name)) {
            in_.error(child_path(path, "name"),
                      "unknown plugin " + quote(p.name) + " (known: " + join(known, ", ") + ")");
            continue;
        }
        if (e.config_ok) {
            nlohmann::json raw = is_absent(e.config) ? nlohmann::json() : to_json(e.config);
            p.config = validator_.validate(p.name, raw, child_path(path, "config"), line_of, in_.errors());
        }
        if (!scope_ok)
            continue;

        auto [first, fresh] = scopes.emplace(std::make_tuple(p.name, p.service_id, p.route_id, p.consumer_id), path);
        if (!fresh) {
            in_.error(path, "plugin " + quote(p.name) +
                                " is already configured for the same service, route and consumer (first at " +
                                first->second + ")");
            continue;
        }
        if (p.id.empty())
            p.id = stable_uuid("plugins", p.name + "|" + p.service_id + "|" + p.route_id + "|" + p.consumer_id);
        if (auto [it, fresh_id] = ids.emplace(p.id, path); !fresh_id)
            in_.error(child_path(path, "id"),
                      "duplicate plugin id " + quote(p.id) + " (first at " + it->second + ")");
        if (!p.instance_name.empty())
            if (auto [it, fresh_name] = instance_names.emplace(p.instance_name, path); !fresh_name)
                in_.error(child_path(path, "instance_name"), "duplicate plugin instance_name " +
                                                                 quote(p.instance_name) + " (first at " +
                                                                 it->second + ")");
        cfg_.plugins.push_back(p);
    }
}

//------------------------------------------------------------------------------
// Parsing

/// yaml-cpp rejects a few valid JSON documents (surrogate-pair escapes such as
/// "\ud83d\ude00"); those are read as JSON instead, without line numbers.
YAML::Node from_json(const nlohmann::json& j)
{
    switch (j.type()) {
    case nlohmann::json::value_t::object: {
        YAML::Node n(YAML::NodeType::Map);
        for (const auto& [k, v] : j.items())
            n[k] = from_json(v);
        return n;
    }
    case nlohmann::json::value_t::array: {
        YAML::Node n(YAML::NodeType::Sequence);
        for (const auto& v : j)
            n.push_back(from_json(v));
        return n;
    }
    case nlohmann::json::value_t::string: {
        YAML::Node n(j.get<std::string>());
        n.SetTag("!");  // quoted: always a string
        return n;
    }
    case nlohmann::json::value_t::null:
        return YAML::Node(YAML::NodeType::Null);
    default: {
        YAML::Node n(j.dump());
        n.SetTag("?");
        return n;
    }
    }
}

std::optional<YAML::Node> parse_document(std::string_view text, error_list& errors)
{
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
        auto json = nlohmann::json::parse(text, nullptr, false);
        if (!json.is_discarded() && json.is_object())
            return from_json(json);
        errors.add("", "invalid YAML: " + e.msg, e.mark.is_null() ? 0 : e.mark.line + 1);
        return std::nullopt;
    }
    if (docs.empty() || is_absent(docs.front())) {
        errors.add("", "the document is empty", 0);
        return std::nullopt;
    }
    if (docs.size() > 1) {
        errors.add("", "expected one YAML document, found " + std::to_string(docs.size()), line_of(docs[1]));
        return std::nullopt;
    }
    if (!docs.front().IsMap()) {
        errors.add("", "expected a map at the top level", line_of(docs.front()));
        return std::nullopt;
    }
    return docs.front();
}

}  // namespace

env_lookup process_environment()
{
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name.c_str()))
            return std::string(v);
        return std::nullopt;
    };
}

load_result load_string(std::string_view text, std::string source, const plugin_validator& plugins,
                        const env_lookup& env)
{
    load_result result;
    auto root = parse_document(text, result.errors);
    if (!root)
        return result;

    line_index lines;
    lines.build(*root);
    error_list errors;
    reader in(errors, lines);
    auto cfg = std::make_shared<gateway_config>();
    cfg->source = std::move(source);
    for (const auto& [path, line] : lines.repeated_keys())
        in.error_at_line(path, "duplicate key", line);
    document_loader(plugins, env, in, *cfg).load(*root);

    if (errors.empty()) {
        result.config = std::move(cfg);
        return result;
    }
    // Report in reading order: settings from the environment first, then by line.
    std::vector<config_error> sorted = errors.errors();
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const config_error& a, const config_error& b) { return a.line < b.line; });
    for (auto& e : sorted)
        result.errors.add(std::move(e.path), std::move(e.message), e.line);
    return result;
}

load_result load_file(const std::string& path, const plugin_validator& plugins, const env_lookup& env)
{
    if (auto why = unreadable_file(path)) {
        load_result result;
        result.errors.add("", *why, 0);
        return result;
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return load_string(text.str(), path, plugins, env);
}

}  // namespace countersign::config
