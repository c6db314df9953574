// The `countersign:` section: node settings under kong.conf names, each one
// overridable from the environment as COUNTERSIGN_<NAME>.
#include "yaml_support.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace countersign::config::detail {

std::string to_string(const listen_address& l)
{
    std::string out = l.address.find(':') != std::string::npos ? "[" + l.address + "]" : l.address;
    out += ':';
    out += std::to_string(l.port);
    if (l.ssl)
        out += " ssl";
    return out;
}

namespace {

/// Where one setting's value came from: a YAML scalar or list, or a variable.
struct source {
    std::string path;             ///< "countersign.workers" or "env COUNTERSIGN_WORKERS"
    int line = 0;
    std::string text;             ///< the value as written
    bool list = false;            ///< a YAML list: one source per item in `items`
    std::vector<source> items;
};

std::string_view trim(std::string_view s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::optional<std::uint64_t> digits(std::string_view s)
{
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

/// Reads the settings of one source and remembers where each came from.
class settings {
public:
    settings(node_config& node, reader& in) : node_(node), in_(in) {}

    node_config& node() { return node_; }
    void error(const source& s, std::string message) { in_.error_at_line(s.path, std::move(message), s.line); }
    void set_origin(std::string_view name, const source& s) { origin_[std::string(name)] = s; }
    const source* origin(std::string_view name) const
    {
        auto it = origin_.find(std::string(name));
        return it == origin_.end() ? nullptr : &it->second;
    }

    std::optional<bool> flag(const source& s)
    {
        auto v = lower(trim(s.text));
        if (v == "true" || v == "on" || v == "yes" || v == "1")
            return true;
        if (v == "false" || v == "off" || v == "no" || v == "0")
            return false;
        error(s, "expected a boolean (true/false or on/off)");
        return std::nullopt;
    }

    std::optional<std::uint64_t> count(const source& s, std::uint64_t min, std::uint64_t max)
    {
        auto v = digits(trim(s.text));
        if (!v) {
            error(s, "expected an integer");
            return std::nullopt;
        }
        if (*v < min || *v > max) {
            error(s, "must be between " + std::to_string(min) + " and " + std::to_string(max));
            return std::nullopt;
        }
        return v;
    }

    /// Milliseconds, or a number with a unit: ms, s, m, h.
    std::optional<std::chrono::milliseconds> duration(const source& s, std::int64_t min_ms)
    {
        auto text = trim(s.text);
        auto unit_at = text.find_first_not_of("0123456789");
        auto unit = unit_at == std::string_view::npos ? std::string_view() : text.substr(unit_at);
        auto number = digits(text.substr(0, unit_at));
        std::uint64_t scale = unit.empty() || unit == "ms" ? 1
                              : unit == "s"                 ? 1000
                              : unit == "m"                 ? 60'000
                              : unit == "h"                 ? 3'600'000
                                                            : 0;
        if (!number || scale == 0) {
            error(s, "expected a duration in milliseconds, or with a unit (500ms, 30s, 5m, 1h)");
            return std::nullopt;
        }
        if (*number > static_cast<std::uint64_t>(max_int32) / scale ||
            static_cast<std::int64_t>(*number * scale) < min_ms) {
            error(s, "must be between " + std::to_string(min_ms) + " and " + std::to_string(max_int32) +
                         " milliseconds");
            return std::nullopt;
        }
        return std::chrono::milliseconds(*number * scale);
    }

    /// Bytes, or a number with a unit: k, m, g (powers of 1024).
    std::optional<std::uint64_t> size(const source& s, std::uint64_t min, std::uint64_t max)
    {
        auto text = trim(s.text);
        auto unit_at = text.find_first_not_of("0123456789");
        auto unit = unit_at == std::string_view::npos ? std::string() : lower(text.substr(unit_at));
        auto number = digits(text.substr(0, unit_at));
        std::uint64_t scale = unit.empty() ? 1 : unit == "k" ? 1024 : unit == "m" ? 1024 * 1024 : unit == "g" ? 1024 * 1024 * 1024 : 0;
        if (!number || scale == 0) {
            error(s, "expected a size in bytes, or with a unit (64k, 8m, 1g)");
            return std::nullopt;
        }
        if (*number > max / scale || *number * scale < min) {
            error(s, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes");
            return std::nullopt;
        }
        return *number * scale;
    }

    std::optional<std::string> text(const source& s, bool empty_ok)
    {
        auto v = std::string(trim(s.text));
        if (v.empty() && !empty_ok) {
            error(s, "must not be empty");
            return std::nullopt;
        }
        return v;
    }

    std::optional<listen_address> listen_entry(const source& s, std::string_view entry)
    {
        auto fail = [&](const std::string& why) {
            error(s, "invalid listen address \"" + std::string(entry) + "\": " + why);
            return std::nullopt;
        };
        listen_address l;
        l.text = std::string(entry);
        auto space = entry.find_first_of(" \t");
        auto addr_port = entry.substr(0, space);
        for (auto rest = space == std::string_view::npos ? std::string_view() : trim(entry.substr(space));
             !rest.empty();) {
            auto end = rest.find_first_of(" \t");
            auto flag = rest.substr(0, end);
            if (flag != "ssl")
                return fail("unsupported flag \"" + std::string(flag) + "\" (only \"ssl\" is supported)");
            l.ssl = true;
            rest = end == std::string_view::npos ? std::string_view() : trim(rest.substr(end));
        }
        std::string_view host, port;
        if (!addr_port.empty() && addr_port.front() == '[') {
            auto close = addr_port.find("]:");
            if (close == std::string_view::npos)
                return fail("expected ADDRESS:PORT, e.g. \"0.0.0.0:8000\" or \"[::1]:8000\"");
            host = addr_port.substr(1, close - 1);
            port = addr_port.substr(close + 2);
        } else {
            auto colon = addr_port.rfind(':');
            if (colon == std::string_view::npos)
                return fail("expected ADDRESS:PORT, e.g. \"0.0.0.0:8000\" or \"[::1]:8000\"");
            host = addr_port.substr(0, colon);
            port = addr_port.substr(colon + 1);
            if (host.find(':') != std::string_view::npos)
                return fail("an IPv6 address must be written in brackets, e.g. \"[::1]:8000\"");
        }
        unsigned char buf[16];
        std::string h(host);
        int family = addr_port.front() == '[' ? AF_INET6 : AF_INET;
        if (inet_pton(family, h.c_str(), buf) != 1)
            return fail("\"" + h + "\" is not an IPv4 address or an IPv6 address in brackets");
        auto p = digits(port);
        if (!p || *p < 1 || *p > 65535)
            return fail("port must be between 1 and 65535");
        l.address = h;
        l.port = static_cast<std::uint16_t>(*p);
        return l;
    }

    /// A list of listeners: a YAML list, or one comma-separated string as in
    /// kong.conf. `off` (alone) gives an empty list when `allow_off`.
    std::optional<std::vector<listen_address>> listen(const source& s, bool allow_off)
    {
        std::vector<std::pair<const source*, std::string>> entries;
        auto split = [&](const source& from) {
            std::string_view text = from.text;
            for (;;) {
                auto comma = text.find(',');
                entries.emplace_back(&from, std::string(trim(text.substr(0, comma))));
                if (comma == std::string_view::npos)
                    break;
                text.remove_prefix(comma + 1);
            }
        };
        if (s.list) {
            for (const auto& item : s.items)
                split(item);
        } else {
            split(s);
        }
        if (entries.size() == 1 && lower(entries.front().second) == "off") {
            if (allow_off)
                return std::vector<listen_address>{};
            error(s, "cannot be off: at least one proxy listener is required");
            return std::nullopt;
        }
        std::vector<listen_address> out;
        bool ok = true;
        for (const auto& [from, entry] : entries) {
            if (entry.empty()) {
                error(*from, "empty listen address");
                ok = false;
            } else if (auto l = listen_entry(*from, entry)) {
                out.push_back(std::move(*l));
            } else {
                ok = false;
            }
        }
        if (!ok)
            return std::nullopt;
        if (out.empty()) {
            error(s, "expected at least one listen address");
            return std::nullopt;
        }
        return out;
    }

private:
    node_config& node_;
    reader& in_;
    std::map<std::string, source> origin_;
};

using setter = void (*)(settings&, const source&);

struct setting {
    std::string_view name;
    bool list_ok;  ///< may be written as a YAML list
    setter set;
};

template <class T>
void assign(T& field, std::optional<T> v)
{
    if (v)
        field = std::move(*v);
}

void set_size(std::size_t& field, std::optional<std::uint64_t> v)
{
    if (v)
        field = static_cast<std::size_t>(*v);
}

// The settings, in the order of node_config.
const setting table[] = {
    {"proxy_listen", true, [](settings& s, const source& v) { assign(s.node().proxy_listen, s.listen(v, false)); }},
    {"admin_listen", true, [](settings& s, const source& v) { assign(s.node().admin_listen, s.listen(v, true)); }},
    {"workers", false,
     [](settings& s, const source& v) {
         if (lower(trim(v.text)) == "auto")
             s.node().workers = std::max(1u, std::thread::hardware_concurrency());
         else if (auto n = s.count(v, 1, 1024))
             s.node().workers = static_cast<unsigned>(*n);
     }},
    {"data_dir", false, [](settings& s, const source& v) { assign(s.node().data_dir, s.text(v, false)); }},
    {"log_level", false,
     [](settings& s, const source& v) {
         static const std::map<std::string, std::string> levels = {
             {"trace", "trace"}, {"debug", "debug"},       {"info", "info"},         {"notice", "info"},
             {"warn", "warn"},   {"warning", "warn"},      {"error", "error"},       {"crit", "critical"},
             {"alert", "critical"}, {"emerg", "critical"}, {"critical", "critical"}, {"off", "off"}};
         auto it = levels.find(lower(trim(v.text)));
         if (it == levels.end())
             s.error(v, "must be one of: trace, debug, info, warn, error, critical, off");
         else
             s.node().log_level = it->second;
     }},
    {"access_log", false, [](settings& s, const source& v) { assign(s.node().access_log, s.text(v, false)); }},
    {"access_log_json", false, [](settings& s, const source& v) { assign(s.node().access_log_json, s.flag(v)); }},
    {"error_log", false, [](settings& s, const source& v) { assign(s.node().error_log, s.text(v, false)); }},
    {"ssl_cert", false, [](settings& s, const source& v) { assign(s.node().ssl_cert, s.text(v, true)); }},
    {"ssl_cert_key", false, [](settings& s, const source& v) { assign(s.node().ssl_cert_key, s.text(v, true)); }},
    {"admin_ssl_cert", false, [](settings& s, const source& v) { assign(s.node().admin_ssl_cert, s.text(v, true)); }},
    {"admin_ssl_cert_key", false,
     [](settings& s, const source& v) { assign(s.node().admin_ssl_cert_key, s.text(v, true)); }},
    {"public_jwks_path", false,
     [](settings& s, const source& v) {
         auto p = s.text(v, false);
         if (!p)
             return;
         if (p->front() != '/' || p->back() != '/')
             s.error(v, "must start and end with \"/\"");
         else if (p->find_first_of(" \t?#") != std::string::npos)
             s.error(v, "must not contain spaces, \"?\" or \"#\"");
         else
             s.node().public_jwks_path = *p;
     }},
    {"max_header_bytes", false,
     [](settings& s, const source& v) { set_size(s.node().max_header_bytes, s.size(v, 1024, 16 * 1024 * 1024)); }},
    {"max_body_bytes", false,
     [](settings& s, const source& v) {
         set_size(s.node().max_body_bytes, s.size(v, 0, std::uint64_t(1) << 50));
     }},
    {"client_header_timeout", false,
     [](settings& s, const source& v) { assign(s.node().client_header_timeout, s.duration(v, 1)); }},
    {"client_body_timeout", false,
     [](settings& s, const source& v) { assign(s.node().client_body_timeout, s.duration(v, 1)); }},
    {"keepalive_timeout", false,
     [](settings& s, const source& v) { assign(s.node().keepalive_timeout, s.duration(v, 0)); }},
    {"keepalive_requests", false,
     [](settings& s, const source& v) { set_size(s.node().keepalive_requests, s.count(v, 1, max_int32)); }},
    {"max_connections", false,
     [](settings& s, const source& v) { set_size(s.node().max_connections, s.count(v, 1, max_int32)); }},
    {"upstream_keepalive_pool_size", false,
     [](settings& s, const source& v) { set_size(s.node().upstream_keepalive_pool_size, s.count(v, 0, max_int32)); }},
    {"upstream_keepalive_idle_timeout", false,
     [](settings& s, const source& v) { assign(s.node().upstream_keepalive_idle_timeout, s.duration(v, 1)); }},
    {"upstream_keepalive_max_requests", false,
     [](settings& s, const source& v) {
         set_size(s.node().upstream_keepalive_max_requests, s.count(v, 1, max_int32));
     }},
    {"shutdown_timeout", false,
     [](settings& s, const source& v) { assign(s.node().shutdown_timeout, s.duration(v, 0)); }},
    {"trust_forwarded_headers", false,
     [](settings& s, const source& v) { assign(s.node().trust_forwarded_headers, s.flag(v)); }},
    {"jwks_refetch_throttle", false,
     [](settings& s, const source& v) { assign(s.node().jwks_refetch_throttle, s.duration(v, 0)); }},
    {"token_cache_size", false,
     [](settings& s, const source& v) { set_size(s.node().token_cache_size, s.count(v, 0, 16'777'216)); }},
};

std::string env_name(std::string_view name)
{
    std::string out = "COUNTERSIGN_";
    for (char c : name)
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

//------------------------------------------------------------------------------
// Cross-setting checks

int no_password(char*, int, int, void*) { return -1; }  // never prompt on a terminal

struct bio_deleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_deleter {
    void operator()(X509* x) const { X509_free(x); }
};
struct pkey_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

/// Where to report a setting that is missing: under its name in the
/// `countersign:` section, on the line of the setting that needs it.
source missing_setting(std::string_view name, const source* needed_by)
{
    return source{"countersign." + std::string(name), needed_by ? needed_by->line : 0, {}, false, {}};
}

/// Checks a certificate/key pair of PEM files; each problem is reported at
/// the setting that named the file. `ssl_listener` is the first listener that
/// needs the pair ("" when none does).
void check_key_pair(settings& s, std::string_view cert_name, const std::string& cert, std::string_view key_name,
                    const std::string& key, std::string_view listen_name, const std::string& ssl_listener)
{
    const source* cert_src = s.origin(cert_name);
    const source* key_src = s.origin(key_name);
    if (cert.empty() && key.empty()) {
        if (!ssl_listener.empty()) {
            const std::string why = "required by the ssl listener \"" + ssl_listener + "\"";
            s.error(missing_setting(cert_name, s.origin(listen_name)), why);
            s.error(missing_setting(key_name, s.origin(listen_name)), why);
        }
        return;
    }
    if (key.empty()) {
        s.error(missing_setting(key_name, cert_src), "required when " + std::string(cert_name) + " is set");
        return;
    }
    if (cert.empty()) {
        s.error(missing_setting(cert_name, key_src), "required when " + std::string(key_name) + " is set");
        return;
    }
    bool readable = true;
    if (auto why = unreadable_file(cert)) {
        s.error(*cert_src, *why);
        readable = false;
    }
    if (auto why = unreadable_file(key)) {
        s.error(*key_src, *why);
        readable = false;
    }
    if (!readable)
        return;

    std::unique_ptr<BIO, bio_deleter> cert_bio(BIO_new_file(cert.c_str(), "r"));
    std::unique_ptr<X509, x509_deleter> x509(
        cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, no_password, nullptr) : nullptr);
    std::unique_ptr<BIO, bio_deleter> key_bio(BIO_new_file(key.c_str(), "r"));
    std::unique_ptr<EVP_PKEY, pkey_deleter> pkey(
        key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_password, nullptr) : nullptr);
    if (!x509)
        s.error(*cert_src, "\"" + cert + "\" holds no PEM certificate");
    if (!pkey)
        s.error(*key_src, "\"" + key + "\" holds no unencrypted PEM private key");
    if (x509 && pkey && X509_check_private_key(x509.get(), pkey.get()) != 1)
        s.error(*key_src, "the key in \"" + key + "\" does not match the certificate in \"" + cert + "\"");
    ERR_clear_error();
}

void check_together(settings& s)
{
    const node_config& node = s.node();
    auto first_ssl = [](const std::vector<listen_address>& ls) {
        auto it = std::find_if(ls.begin(), ls.end(), [](const listen_address& l) { return l.ssl; });
        return it == ls.end() ? std::string() : it->text;
    };
    check_key_pair(s, "ssl_cert", node.ssl_cert, "ssl_cert_key", node.ssl_cert_key, "proxy_listen",
                   first_ssl(node.proxy_listen));
    check_key_pair(s, "admin_ssl_cert", node.admin_ssl_cert, "admin_ssl_cert_key", node.admin_ssl_cert_key,
                   "admin_listen", first_ssl(node.admin_listen));

    // One socket per address: the same ADDRESS:PORT twice cannot be bound.
    std::map<std::pair<std::string, std::uint16_t>, std::string> bound;
    auto claim = [&](const std::vector<listen_address>& ls, std::string_view name) {
        for (const auto& l : ls) {
            auto [it, fresh] = bound.emplace(std::make_pair(l.address, l.port), std::string(name));
            if (fresh)
                continue;
            const source* at = s.origin(name) ? s.origin(name) : s.origin(it->second);
            if (at)
                s.error(*at, it->second == name
                                 ? "\"" + l.text + "\" is listed twice"
                                 : "\"" + l.text + "\" is used by both " + it->second + " and " + std::string(name));
        }
    };
    claim(node.proxy_listen, "proxy_listen");
    claim(node.admin_listen, "admin_listen");
}

}  // namespace

void load_node_settings(const YAML::Node& section, const env_lookup& env, node_config& node, reader& in)
{
    node.proxy_listen = {listen_address{"0.0.0.0", 8000, false, "0.0.0.0:8000"}};
    node.admin_listen = {listen_address{"127.0.0.1", 8001, false, "127.0.0.1:8001"}};

    settings s(node, in);
    auto find = [](std::string_view name) {
        return std::find_if(std::begin(table), std::end(table), [&](const setting& st) { return st.name == name; });
    };

    if (section.IsDefined() && !is_absent(section)) {
        const std::string base = "countersign";
        if (!section.IsMap()) {
            in.error(base, "expected a map");
        } else {
            std::set<std::string> seen;
            for (auto it = section.begin(); it != section.end(); ++it) {
                const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
                const std::string path = child_path(base, key);
                const int line = line_of(it->first);
                auto st = find(key);
                if (st == std::end(table)) {
                    in.error_at_line(path, "unknown field", line);
                    continue;
                }
                if (!seen.insert(key).second)
                    continue;  // a repeated key, reported with the others
                const YAML::Node value = it->second;  // a copy: `it->` yields a temporary
                if (is_absent(value))
                    continue;
                source src{path, line, {}, false, {}};
                if (value.IsSequence() && st->list_ok) {
                    src.list = true;
                    std::size_t i = 0;
                    bool ok = true;
                    for (auto item = value.begin(); item != value.end(); ++item, ++i) {
                        std::string item_p = item_path(path, i);
                        if (!item->IsScalar() || is_absent(*item)) {
                            in.error(item_p, "expected a string");
                            ok = false;
                            continue;
                        }
                        src.items.push_back({item_p, in.lines().nearest(item_p), item->Scalar(), false, {}});
                    }
                    if (!ok)
                        continue;
                } else if (!value.IsScalar()) {
                    in.error_at_line(path, st->list_ok ? "expected a list or a string" : "expected a single value",
                                     line);
                    continue;
                } else {
                    src.text = value.Scalar();
                }
                st->set(s, src);
                s.set_origin(key, src);
            }
        }
    }

    // The environment beats the file.
    for (const setting* st = std::begin(table); st != std::end(table); ++st) {
        std::string name = env_name(st->name);
        auto value = env ? env(name) : std::nullopt;
        if (!value || trim(*value).empty())
            continue;
        source src{"env " + name, 0, *value, false, {}};
        st->set(s, src);
        s.set_origin(st->name, src);
    }

    check_together(s);
}

}  // namespace countersign::config::detail
