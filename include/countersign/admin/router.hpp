// The admin API's request router: method + path pattern -> handler.
//
// Patterns are literal segments and `{name}` parameters, e.g.
// "/services/{service}/routes". A parameter matches one non-empty segment and
// is handed to the handler percent-decoded. A trailing slash is ignored.
// No Beast here: the listener converts to and from these plain structs, so
// handlers and their unit tests never see the wire format.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace countersign::admin {

/// One admin request, already read completely.
struct request {
    std::string method;  ///< upper case, as sent
    std::string target;  ///< raw request target
    std::string path;    ///< target without the query, not decoded
    std::string query;   ///< after '?', not decoded; "" when none
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string body;

    /// Splits a raw target into path and query.
    static request from_target(std::string method, std::string target);
    /// First value of header `name` (lower case); "" when absent.
    std::string header(std::string_view name) const;
};

/// What a handler answers. JSON by default.
struct response {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/json; charset=utf-8";
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers

    /// `value` serialized as the body (invalid UTF-8 replaced).
    static response json(unsigned status, const nlohmann::json& value);
    /// Kong's error shape: {"message": "..."}.
    static response message(unsigned status, std::string_view text);
    static response not_found() { return message(404, "Not found"); }
};

/// Path parameters of a matched pattern, percent-decoded.
class path_params {
public:
    void set(std::string name, std::string value) { values_[std::move(name)] = std::move(value); }
    /// The value of `{name}`; "" when the pattern has no such parameter.
    const std::string& get(std::string_view name) const;
    std::size_t size() const { return values_.size(); }

private:
    std::map<std::string, std::string, std::less<>> values_;
};

using handler = std::function<response(const request&, const path_params&)>;

class router {
public:
    /// Registers `h` for `method` (e.g. "GET") on `pattern`. A later route
    /// with the same method and pattern replaces the earlier one. Literal
    /// segments win over parameters at the same position, so
    /// "/plugins/enabled" and "/plugins/{plugin}" can coexist.
    void add(std::string method, std::string_view pattern, handler h);

    /// Runs the handler for `req`. No pattern matches: 404 {"message":"Not found"}.
    /// A pattern matches but not for this method: 405 {"message":"Method not
    /// allowed"} with an Allow header. HEAD runs the GET handler (the
    /// listener drops the body). Exceptions from handlers become 500.
    response dispatch(const request& req) const;

    /// Every registered "METHOD pattern", in registration order.
    std::vector<std::string> routes() const;

private:
    struct entry {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;  // "{x}" marks a parameter
        handler fn;
    };

    /// Whether the entry's segments match `path`; fills `params` when they do.
    static bool match(const entry& e, const std::vector<std::string_view>& path, path_params& params);

    std::vector<entry> entries_;
};

/// Decodes %XX escapes (and leaves malformed ones as they are).
std::string percent_decode(std::string_view s);

}  // namespace countersign::admin
