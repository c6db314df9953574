#include "yaml_support.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <openssl/evp.h>

namespace countersign::config::detail {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

//------------------------------------------------------------------------------
// Paths and lines

std::string child_path(std::string_view base, std::string_view key)
{
    if (base.empty())
        return std::string(key);
    std::string p;
    p.reserve(base.size() + 1 + key.size());
    p.append(base).append(".").append(key);
    return p;
}

std::string item_path(std::string_view base, std::size_t i)
{
    std::string p(base);
    p += '[';
    p += std::to_string(i);
    p += ']';
    return p;
}

std::string parent_path(std::string_view path)
{
    if (!path.empty() && path.back() == ']') {
        auto open = path.rfind('[');
        return open == std::string_view::npos ? std::string() : std::string(path.substr(0, open));
    }
    auto dot = path.rfind('.');
    return dot == std::string_view::npos ? std::string() : std::string(path.substr(0, dot));
}

int line_of(const YAML::Node& node)
{
    if (!node.IsDefined())
        return 0;
    auto m = node.Mark();
    return m.is_null() ? 0 : m.line + 1;
}

void line_index::build(const YAML::Node& root)
{
    lines_.clear();
    repeated_.clear();
    int line = line_of(root);
    walk(root, "", line > 0 ? line : 1);
}

void line_index::walk(const YAML::Node& node, const std::string& path, int line)
{
    lines_.emplace(path, line);
    if (node.IsMap()) {
        std::set<std::string> keys;
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (!it->first.IsScalar())
                continue;
            int key_line = line_of(it->first);
            std::string p = child_path(path, it->first.Scalar());
            if (!keys.insert(it->first.Scalar()).second) {
                repeated_.emplace_back(std::move(p), key_line);  // lookups see the first
                continue;
            }
            walk(it->second, p, key_line > 0 ? key_line : line);
        }
    } else if (node.IsSequence()) {
        std::size_t i = 0;
        for (auto it = node.begin(); it != node.end(); ++it, ++i) {
            // A null item has no mark of its own (yaml-cpp points at the next token).
            int item_line = it->IsNull() ? 0 : line_of(*it);
            walk(*it, item_path(path, i), item_line > 0 ? item_line : line);
        }
    }
}

int line_index::at(const std::string& path) const
{
    auto it = lines_.find(path);
    return it == lines_.end() ? 0 : it->second;
}

int line_index::nearest(std::string path) const
{
    for (;;) {
        if (int line = at(path); line > 0)
            return line;
        if (path.empty())
            return 0;
        path = parent_path(path);
    }
}

//------------------------------------------------------------------------------
// Scalars

namespace {

bool is_plain_integer(std::string_view s)
{
    if (!s.empty() && (s.front() == '-' || s.front() == '+'))
        s.remove_prefix(1);
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// YAML 1.1 floats: [-+]?(.digits|digits[.digits])([eE][-+]?digits)?, .inf, .nan.
bool is_plain_number(std::string_view s)
{
    auto digits = [&](std::size_t& i) {
        std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9')
            ++i;
        return i > start;
    };
    std::size_t i = 0;
    if (i < s.size() && (s[i] == '-' || s[i] == '+'))
        ++i;
    auto rest = s.substr(i);
    if (rest == ".inf" || rest == ".Inf" || rest == ".INF")
        return true;
    if (i == 0 && (s == ".nan" || s == ".NaN" || s == ".NAN"))
        return true;
    bool int_part = digits(i);
    bool frac_part = false;
    if (i < s.size() && s[i] == '.') {
        ++i;
        frac_part = digits(i);
    }
    if (!int_part && !frac_part)
        return false;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '-' || s[i] == '+'))
            ++i;
        if (!digits(i))
            return false;
    }
    return i == s.size();
}

bool is_null_word(std::string_view s)
{
    return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

double to_double(const std::string& s)
{
    std::string_view v = s;
    bool negative = !v.empty() && v.front() == '-';
    if (!v.empty() && (v.front() == '-' || v.front() == '+'))
        v.remove_prefix(1);
    if (v.size() == 4 && v.front() == '.' && (v[1] == 'i' || v[1] == 'I'))
        return negative ? -HUGE_VAL : HUGE_VAL;
    if (v.size() == 4 && v.front() == '.' && (v[1] == 'n' || v[1] == 'N'))
        return std::nan("");
    return std::strtod(s.c_str(), nullptr);
}

const std::string yaml_str_tag = "tag:yaml.org,2002:str";

}  // namespace

std::optional<bool> yaml_bool(std::string_view s)
{
    static constexpr std::array<std::string_view, 9> yes = {"true", "True", "TRUE", "yes", "Yes",
                                                             "YES",  "on",   "On",   "ON"};
    static constexpr std::array<std::string_view, 9> no = {"false", "False", "FALSE", "no", "No",
                                                            "NO",    "off",   "Off",   "OFF"};
    if (std::find(yes.begin(), yes.end(), s) != yes.end())
        return true;
    if (std::find(no.begin(), no.end(), s) != no.end())
        return false;
    return std::nullopt;
}

scalar_kind kind_of(const YAML::Node& node)
{
    if (!node.IsDefined() || node.IsNull())
        return scalar_kind::null;
    if (!node.IsScalar())
        return scalar_kind::string;  // callers check IsScalar() first
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == yaml_str_tag)
        return scalar_kind::string;
    const std::string& s = node.Scalar();
    if (is_null_word(s))
        return scalar_kind::null;
    if (yaml_bool(s))
        return scalar_kind::boolean;
    if (is_plain_integer(s))
        return scalar_kind::integer;
    if (is_plain_number(s))
        return scalar_kind::number;
    return scalar_kind::string;
}

YAML::Node member(const YAML::Node& map, std::string_view key)
{
    if (map.IsMap())
        for (auto it = map.begin(); it != map.end(); ++it)
            if (it->first.IsScalar() && it->first.Scalar() == key)
                return it->second;
    return YAML::Node(YAML::NodeType::Undefined);
}

bool is_absent(const YAML::Node& node)
{
    return !node.IsDefined() || node.IsNull() || (node.IsScalar() && kind_of(node) == scalar_kind::null);
}

nlohmann::json to_json(const YAML::Node& node)
{
    if (node.IsMap()) {
        auto out = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
            const std::string key = it->first.Scalar();
            if (!out.contains(key))  // the first of repeated keys wins
                out[key] = to_json(it->second);
        }
        return out;
    }
    if (node.IsSequence()) {
        auto out = nlohmann::json::array();
        for (auto it = node.begin(); it != node.end(); ++it)
            out.push_back(to_json(*it));
        return out;
    }
    const std::string& s = node.IsScalar() ? node.Scalar() : std::string();
    switch (kind_of(node)) {
    case scalar_kind::null:
        return nullptr;
    case scalar_kind::boolean:
        return *yaml_bool(s);
    case scalar_kind::integer: {
        std::string_view v = s;
        if (!v.empty() && v.front() == '+')
            v.remove_prefix(1);
        std::int64_t i = 0;
        if (auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), i); ec == std::errc())
            return i;
        std::uint64_t u = 0;
        if (auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), u); ec == std::errc())
            return u;
        return to_double(s);
    }
    case scalar_kind::number:
        return to_double(s);
    case scalar_kind::string:
        break;
    }
    return s;
}

//------------------------------------------------------------------------------
// Typed readers

void reader::error(const std::string& path, std::string message)
{
    errors_.add(path, std::move(message), lines_.nearest(path));
}

void reader::error_at_line(const std::string& path, std::string message, int line)
{
    errors_.add(path, std::move(message), line);
}

bool reader::check_map(const YAML::Node& node, const std::string& path,
                       std::initializer_list<std::string_view> known, std::span<const std::string_view> also_known)
{
    if (!node.IsMap()) {
        error(path, "expected a map");
        return false;
    }
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
        int line = line_of(it->first);
        if (!it->first.IsScalar()) {
            error_at_line(path, "keys must be strings", line);
            continue;
        }
        const std::string key = it->first.Scalar();
        if (!seen.insert(key).second || std::find(known.begin(), known.end(), key) != known.end() ||
            std::find(also_known.begin(), also_known.end(), key) != also_known.end())
            continue;
        error_at_line(child_path(path, key),
                      key == "<<" && it->first.Tag() == "?" ? "YAML merge keys (<<) are not supported" : "unknown field",
                      line);
    }
    return true;
}

void reader::reject_if_set(const YAML::Node& map, const std::string& path, std::string_view key,
                           std::string_view message)
{
    YAML::Node v = member(map, key);
    if (is_absent(v) || ((v.IsSequence() || v.IsMap()) && v.size() == 0))
        return;
    error(child_path(path, key), std::string(message));
}

std::optional<std::string> reader::string_value(const YAML::Node& v, const std::string& path, bool empty_ok)
{
    if (is_absent(v))
        return std::nullopt;
    if (!v.IsScalar()) {
        error(path, "expected a string");
        return std::nullopt;
    }
    if (v.Scalar().empty() && !empty_ok) {
        error(path, "must not be empty");
        return std::nullopt;
    }
    return v.Scalar();
}

std::optional<std::string> reader::string(const YAML::Node& map, const std::string& path, std::string_view key,
                                          bool empty_ok)
{
    return string_value(member(map, key), child_path(path, key), empty_ok);
}

std::optional<std::int64_t> reader::integer_value(const YAML::Node& v, const std::string& path,
                                                  std::int64_t min, std::int64_t max)
{
    if (is_absent(v))
        return std::nullopt;
    auto j = v.IsScalar() ? to_json(v) : nlohmann::json();
    std::optional<std::int64_t> value;
    if (j.is_number_integer() && !j.is_number_unsigned())
        value = j.get<std::int64_t>();
    else if (j.is_number_unsigned())
        value = std::numeric_limits<std::int64_t>::max();  // out of every range we use
    else if (j.is_number_float() && std::isfinite(j.get<double>()) &&
             std::floor(j.get<double>()) == j.get<double>() && std::fabs(j.get<double>()) < 9.0e18)
        value = static_cast<std::int64_t>(j.get<double>());  // JSON writers may emit 60000.0
    if (!value) {
        error(path, "expected an integer");
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        error(path, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return std::nullopt;
    }
    return value;
}

std::optional<std::int64_t> reader::integer(const YAML::Node& map, const std::string& path,
                                            std::string_view key, std::int64_t min, std::int64_t max)
{
    return integer_value(member(map, key), child_path(path, key), min, max);
}

std::optional<bool> reader::boolean(const YAML::Node& map, const std::string& path, std::string_view key)
{
    YAML::Node v = member(map, key);
    if (is_absent(v))
        return std::nullopt;
    if (!v.IsScalar() || kind_of(v) != scalar_kind::boolean) {
        error(child_path(path, key), "expected a boolean");
        return std::nullopt;
    }
    return yaml_bool(v.Scalar());
}

std::optional<std::vector<std::string>> reader::strings(const YAML::Node& map, const std::string& path,
                                                        std::string_view key)
{
    YAML::Node v = member(map, key);
    std::string p = child_path(path, key);
    if (is_absent(v))
        return std::nullopt;
    if (!v.IsSequence()) {
        error(p, "expected a list");
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    std::size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        std::string ip = item_path(p, i);
        if (is_absent(*it)) {
            error(ip, "expected a string");
            ok = false;
        } else if (auto s = string_value(*it, ip)) {
            out.push_back(std::move(*s));
        } else {
            ok = false;
        }
    }
    if (!ok)
        return std::nullopt;
    return out;
}

std::vector<std::string> reader::tags(const YAML::Node& map, const std::string& path)
{
    auto tags = strings(map, path, "tags");
    if (!tags)
        return {};
    for (std::size_t i = 0; i < tags->size(); ++i) {
        const std::string& t = (*tags)[i];
        bool bad = std::any_of(t.begin(), t.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return c == ',' || c == '/' || u < 0x20 || u == 0x7f;
        });
        if (bad)
            error(item_path(child_path(path, "tags"), i),
                  "invalid tag \"" + t + "\": \",\", \"/\" and control characters are not allowed");
    }
    return *tags;
}

//------------------------------------------------------------------------------
// Ids

std::string stable_uuid(std::string_view kind, std::string_view key)
{
    // countersign's own namespace UUID: 813c5ed1-4469-417e-8869-e8e10344fa9c.
    static constexpr unsigned char ns[16] = {0x81, 0x3c, 0x5e, 0xd1, 0x44, 0x69, 0x41, 0x7e,
                                             0x88, 0x69, 0xe8, 0xe1, 0x03, 0x44, 0xfa, 0x9c};
    std::string name;
    name.reserve(kind.size() + 1 + key.size());
    name.append(kind).append(":").append(key);

    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
    EVP_DigestUpdate(ctx, ns, sizeof ns);
    EVP_DigestUpdate(ctx, name.data(), name.size());
    EVP_DigestFinal_ex(ctx, digest, &len);
    EVP_MD_CTX_free(ctx);

    digest[6] = static_cast<unsigned char>((digest[6] & 0x0f) | 0x50);  // version 5
    digest[8] = static_cast<unsigned char>((digest[8] & 0x3f) | 0x80);  // RFC 4122 variant
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out += '-';
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0x0f];
    }
    return out;
}

std::optional<std::string> unreadable_file(const std::string& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        return "cannot read \"" + path + "\": is a directory";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return "cannot read \"" + path + "\": " + std::strerror(errno);
    std::fclose(f);
    return std::nullopt;
}

bool is_uuid(std::string_view s)
{
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    return true;
}

}  // namespace countersign::config::detail
