// Internal helpers of the config loader: YAML paths and lines, scalar typing
// as Kong (YAML 1.1) reads it, typed field readers that report into an
// error_list, and stable entity ids. Not part of the public API.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/config/loader.hpp>

namespace countersign::config::detail {

/// The largest value of Kong's 32-bit integer fields (timeouts, priorities).
constexpr std::int64_t max_int32 = 2147483647;

/// ASCII lower case.
std::string lower(std::string_view s);

//------------------------------------------------------------------------------
// Paths and lines

/// "base.key", or "key" at the top level.
std::string child_path(std::string_view base, std::string_view key);
/// "base[i]".
std::string item_path(std::string_view base, std::size_t i);
/// The path one level up: "a.b[2]" -> "a.b", "a.b" -> "a", "a" -> "".
std::string parent_path(std::string_view path);

/// 1-based line of every node of a document, by YAML path. A map entry is
/// found at its key's line (which is where a reader looks for it); a list
/// item at its own line.
class line_index {
public:
    void build(const YAML::Node& root);
    /// The line of `path`, or 0 when the document has no node there.
    int at(const std::string& path) const;
    /// The line of `path` or of its nearest ancestor that exists.
    int nearest(std::string path) const;

    /// Keys written twice in one map, anywhere in the document: path and
    /// line of each repetition. Lookups see the first.
    const std::vector<std::pair<std::string, int>>& repeated_keys() const { return repeated_; }

private:
    void walk(const YAML::Node& node, const std::string& path, int line);
    std::unordered_map<std::string, int> lines_;
    std::vector<std::pair<std::string, int>> repeated_;
};

/// 1-based line of a node, 0 when it has no mark.
int line_of(const YAML::Node& node);

//------------------------------------------------------------------------------
// Scalars, typed as a YAML 1.1 reader (Kong's lyaml) types them

enum class scalar_kind { null, boolean, integer, number, string };

/// The type of a scalar: quoted scalars are strings; plain ones are null
/// (`~`, `null`, empty), booleans (`true`/`false`/`yes`/`no`/`on`/`off`),
/// integers, numbers or strings. Undefined and null nodes are `null`.
scalar_kind kind_of(const YAML::Node& node);

/// true/false/yes/no/on/off in any of YAML's spellings.
std::optional<bool> yaml_bool(std::string_view text);

/// A YAML node as JSON, scalars typed by kind_of().
nlohmann::json to_json(const YAML::Node& node);

/// The value of `key` in `map` (the first, if repeated), or an undefined node
/// when `map` has no such key or is not a map. Unlike `map[key]`, the result
/// is always safe to inspect.
YAML::Node member(const YAML::Node& map, std::string_view key);

/// Absent, `~`/`null`, or empty: Kong treats all of these as "not set".
bool is_absent(const YAML::Node& node);

//------------------------------------------------------------------------------
// Typed readers

/// Reads fields of YAML maps, adding an error (with path and line) for each
/// problem and returning nothing for a field that is absent or wrong.
class reader {
public:
    reader(error_list& errors, const line_index& lines) : errors_(errors), lines_(lines) {}

    /// Adds an error at `path`, on the line of `path` or its nearest ancestor.
    void error(const std::string& path, std::string message);
    void error_at_line(const std::string& path, std::string message, int line);

    /// False (with an error) when `node` is not a map. Reports keys that are
    /// not in `known` as "unknown field" (repeated keys are reported once,
    /// for the whole document, from the line_index).
    bool check_map(const YAML::Node& node, const std::string& path,
                   std::initializer_list<std::string_view> known,
                   std::span<const std::string_view> also_known = {});

    /// When `key` holds anything but null or an empty list/map, reports
    /// `message` at it: for Kong fields whose non-default values would change
    /// behaviour countersign does not have.
    void reject_if_set(const YAML::Node& map, const std::string& path, std::string_view key,
                       std::string_view message);

    /// Any scalar, as written (Kong would coerce numbers here too). `empty_ok`
    /// accepts "".
    std::optional<std::string> string(const YAML::Node& map, const std::string& path, std::string_view key,
                                      bool empty_ok = false);
    std::optional<std::int64_t> integer(const YAML::Node& map, const std::string& path, std::string_view key,
                                        std::int64_t min, std::int64_t max);
    std::optional<bool> boolean(const YAML::Node& map, const std::string& path, std::string_view key);
    /// A list of scalars (each non-empty).
    std::optional<std::vector<std::string>> strings(const YAML::Node& map, const std::string& path,
                                                    std::string_view key);
    /// A list of tags (Kong's rules: no "," or "/", printable).
    std::vector<std::string> tags(const YAML::Node& map, const std::string& path);

    /// Scalar readers on a value node itself.
    std::optional<std::string> string_value(const YAML::Node& node, const std::string& path, bool empty_ok = false);
    std::optional<std::int64_t> integer_value(const YAML::Node& node, const std::string& path,
                                              std::int64_t min, std::int64_t max);

    error_list& errors() { return errors_; }
    const line_index& lines() const { return lines_; }

private:
    error_list& errors_;
    const line_index& lines_;
};

//------------------------------------------------------------------------------
// Ids

/// A name-based UUID (RFC 4122 version 5, SHA-1) in countersign's namespace:
/// the same (kind, key) always gives the same id.
std::string stable_uuid(std::string_view kind, std::string_view key);

/// 8-4-4-4-12 hex digits.
bool is_uuid(std::string_view text);

/// Why the file at `path` cannot be read ("cannot read \"x\": No such file
/// or directory"), or nothing when it can.
std::optional<std::string> unreadable_file(const std::string& path);

//------------------------------------------------------------------------------
// Node settings (node_settings.cpp)

/// Reads the `countersign:` section (`section` may be undefined), then the
/// COUNTERSIGN_* environment, then checks the settings together.
void load_node_settings(const YAML::Node& section, const env_lookup& env, node_config& node, reader& in);

/// "0.0.0.0:8000 ssl" form of a listener.
std::string to_string(const listen_address& l);

}  // namespace countersign::config::detail
