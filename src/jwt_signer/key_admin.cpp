// Key admin API and public JWKS of the jwt-signer plugin.
#include <countersign/jwt_signer/key_admin.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace countersign::jwt_signer {

namespace {

using nlohmann::json;

constexpr std::string_view jwk_set_type = "application/jwk-set+json";
constexpr std::size_t default_page_size = 100;
constexpr std::size_t max_page_size = 1000;

admin::response jwk_set(unsigned status, const json& doc)
{
    auto r = admin::response::json(status, doc);
    r.content_type = std::string(jwk_set_type);
    return r;
}

json row_of(const keyset& ks)
{
    const auto& a = ks.admin_jwks();
    return json{{"id", ks.id()},
                {"name", ks.name()},
                {"created_at", ks.created_at()},
                {"updated_at", ks.updated_at()},
                {"keys", a.value("keys", json::array())},
                {"previous", a.value("previous", json::array())}};
}

/// One query parameter (decoded), or "".
std::string query_param(std::string_view query, std::string_view name)
{
    while (!query.empty()) {
        auto amp = query.find('&');
        auto part = query.substr(0, amp);
        auto eq = part.find('=');
        if (admin::percent_decode(part.substr(0, eq)) == name)
            return eq == std::string_view::npos ? std::string() : admin::percent_decode(part.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

std::optional<std::size_t> parse_size(const std::string& s)
{
    std::size_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

admin::response list_keysets(const keyset_manager& keysets, std::string_view query)
{
    std::size_t size = default_page_size;
    if (auto s = query_param(query, "size"); !s.empty()) {
        auto v = parse_size(s);
        if (!v || *v < 1 || *v > max_page_size)
            return admin::response::json(400, json{{"message", "size must be an integer between 1 and 1000"},
                                                   {"name", "invalid size"},
                                                   {"code", 9}});
        size = *v;
    }
    std::size_t offset = 0;
    if (auto o = query_param(query, "offset"); !o.empty()) {
        auto v = parse_size(o);
        if (!v)
            return admin::response::json(400, json{{"message", "invalid offset"}, {"name", "invalid offset"},
                                                   {"code", 8}});
        offset = *v;
    }
    auto all = keysets.list();
    json data = json::array();
    for (std::size_t i = offset; i < all.size() && data.size() < size; ++i) data.push_back(row_of(*all[i]));
    json out{{"data", std::move(data)}};
    const std::size_t next = offset + size;
    if (next < all.size()) {
        out["offset"] = std::to_string(next);
        out["next"] = "/jwt-signer/jwks?offset=" + std::to_string(next) + "&size=" + std::to_string(size);
    } else {
        out["next"] = nullptr;
    }
    return admin::response::json(200, out);
}

admin::response get_keyset(const keyset_manager& keysets, std::string_view id_or_name)
{
    auto ks = keysets.find(id_or_name);
    if (!ks) return admin::response::not_found();
    return jwk_set(200, ks->admin_jwks());
}

admin::response delete_keyset(keyset_manager& keysets, std::string_view id_or_name)
{
    auto removed = keysets.remove(id_or_name);
    if (!removed) {
        spdlog::error("jwt-signer: delete of keyset failed: {}", removed.error().message);
        return admin::response::message(500, "An unexpected error occurred");
    }
    if (!*removed) return admin::response::not_found();
    admin::response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

admin::response rotate_keyset(jwt_signer_services& services, std::string_view id_or_name, std::string_view body)
{
    auto ks = services.keysets().find(id_or_name);
    if (!ks) return admin::response::not_found();

    if (!ks->is_url()) {
        auto rotated = services.keysets().rotate(ks->name());
        if (!rotated) {
            spdlog::error("jwt-signer: rotation of keyset '{}' failed: {}", ks->name(), rotated.error().message);
            return admin::response::message(500, "An unexpected error occurred");
        }
        spdlog::info("jwt-signer: keyset '{}' rotated (generation {})", ks->name(), (*rotated)->generation());
        return jwk_set(200, (*rotated)->admin_jwks());
    }

    // URL keyset: refetch, with the body's credentials or the last known ones.
    keyset_fetch_options opts = services.known_fetch_options(ks->name()).value_or(keyset_fetch_options{});
    if (!body.empty()) {
        auto doc = json::parse(body, nullptr, false);
        if (doc.is_discarded() || !doc.is_object())
            return admin::response::message(400, "the body must be a JSON object");
        auto s = [&](const char* k) { return doc.contains(k) && doc[k].is_string() ? doc[k].get<std::string>() : std::string(); };
        if (doc.contains("client_username") || doc.contains("client_password"))
            opts.basic = http_client::basic_credentials{s("client_username"), s("client_password")};
        if (doc.contains("client_certificate") && doc["client_certificate"].is_object()) {
            const auto& c = doc["client_certificate"];
            if (c.contains("cert") && c["cert"].is_string()) opts.tls.client_cert_file = c["cert"].get<std::string>();
            if (c.contains("key") && c["key"].is_string()) opts.tls.client_key_file = c["key"].get<std::string>();
        }
    }
    net::io_context ioc;
    std::optional<keys_result<keyset_ptr>> out;
    std::string name = ks->name();
    net::co_spawn(
        ioc,
        [&]() -> net::awaitable<void> { out.emplace(co_await services.url_keyset(name, opts, true)); },
        net::detached);
    ioc.run();
    if (!out || !*out) {
        spdlog::error("jwt-signer: rotation of keyset '{}' failed: {}", name,
                      out ? out->error().message : std::string("not run"));
        return admin::response::message(500, "An unexpected error occurred");
    }
    return jwk_set(200, (**out)->admin_jwks());
}

void add_key_admin_routes(admin::router& r, std::shared_ptr<jwt_signer_services> services)
{
    r.add("GET", "/jwt-signer/jwks", [services](const admin::request& req, const admin::path_params&) {
        return list_keysets(services->keysets(), req.query);
    });
    r.add("GET", "/jwt-signer/jwks/{keyset}", [services](const admin::request&, const admin::path_params& p) {
        return get_keyset(services->keysets(), p.get("keyset"));
    });
    r.add("DELETE", "/jwt-signer/jwks/{keyset}", [services](const admin::request&, const admin::path_params& p) {
        return delete_keyset(services->keysets(), p.get("keyset"));
    });
    r.add("POST", "/jwt-signer/jwks/{keyset}/rotate", [services](const admin::request& req, const admin::path_params& p) {
        return rotate_keyset(*services, p.get("keyset"), req.body);
    });
}

std::optional<admin::response> serve_public_jwks(const keyset_manager& keysets, std::string_view public_jwks_path,
                                                 std::string_view method, std::string_view path,
                                                 std::string_view if_none_match)
{
    if (public_jwks_path.empty() || path.substr(0, public_jwks_path.size()) != public_jwks_path) return std::nullopt;
    if (method != "GET" && method != "HEAD") {
        auto r = admin::response::message(405, "Method not allowed");
        r.headers.emplace_back("Allow", "GET, HEAD");
        return r;
    }
    auto rest = path.substr(public_jwks_path.size());
    constexpr std::string_view suffix = ".json";
    if (rest.size() <= suffix.size() || rest.substr(rest.size() - suffix.size()) != suffix)
        return admin::response::not_found();
    const std::string name = admin::percent_decode(rest.substr(0, rest.size() - suffix.size()));
    auto ks = keysets.find(name);
    if (!ks || ks->id() == name) return admin::response::not_found();  // by name only

    const auto& etag = ks->etag(true);
    admin::response r;
    r.headers.emplace_back("ETag", etag);
    r.headers.emplace_back("Cache-Control", std::string(public_jwks_cache_control));
    r.content_type = std::string(jwk_set_type);
    if (!if_none_match.empty() && (if_none_match == etag || if_none_match == "*")) {
        r.status = 304;
        return r;
    }
    r.status = 200;
    r.body = ks->public_jwks_text(true);
    return r;
}

}  // namespace countersign::jwt_signer
