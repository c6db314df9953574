#include <countersign/jwt_signer/jwks_fetcher.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace countersign::jwt_signer {

namespace {

class jwks_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "countersign.jwks"; }
    std::string message(int ev) const override
    {
        switch (static_cast<jwks_error>(ev)) {
        case jwks_error::bad_status: return "JWKS endpoint answered with a non-200 status";
        case jwks_error::bad_json: return "JWKS answer is not JSON";
        case jwks_error::not_a_jwks: return "JWKS answer is not an object with a keys array";
        case jwks_error::bad_discovery: return "openid-configuration has no usable jwks_uri";
        case jwks_error::key_not_found: return "suitable jwk was not found";
        case jwks_error::unavailable: return "JWKS unavailable (last fetch failed, retry backed off)";
        }
        return "unknown jwks error";
    }
};

std::string_view path_of(std::string_view uri)
{
    auto parsed = boost::urls::parse_uri(uri);
    return parsed ? std::string_view(parsed->encoded_path()) : std::string_view{};
}

bool is_https(std::string_view uri)
{
    auto parsed = boost::urls::parse_uri(uri);
    if (!parsed)
        return false;
    std::string s(parsed->scheme());
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s == "https";
}

// GET `url`, retried once on a connection failure; 200 and a JSON object required.
net::awaitable<result<std::pair<nlohmann::json, http_client::response>>> get_json(http_client::client& client,
                                                                                 const std::string& url,
                                                                                 const jwks_source_options& o)
{
    http_client::request_options req;
    req.url = url;
    req.headers.emplace_back("Accept", "application/json");
    req.connect_timeout = o.connect_timeout;
    req.read_timeout = o.read_timeout;
    req.max_response_bytes = o.max_bytes;
    req.tls = o.tls;
    req.basic = o.basic;
    auto ex = co_await net::this_coro::executor;
    auto res = co_await client.request(ex, req);
    if (!res && http_client::is_connection_failure(res.error()))
        res = co_await client.request(ex, req);
    if (!res)
        co_return res.error();
    if (res->status != 200)
        co_return make_error_code(jwks_error::bad_status);
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (j.is_discarded())
        co_return make_error_code(jwks_error::bad_json);
    co_return std::make_pair(std::move(j), std::move(*res));
}

}  // namespace

const boost::system::error_category& jwks_category() noexcept
{
    static const jwks_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(jwks_error e) noexcept { return {static_cast<int>(e), jwks_category()}; }

bool is_discovery_uri(std::string_view uri) noexcept
{
    constexpr std::string_view suffix = "/.well-known/openid-configuration";
    auto path = path_of(uri);
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
}

std::optional<std::chrono::seconds> parse_max_age(std::string_view cc) noexcept
{
    std::optional<std::chrono::seconds> out;
    while (!cc.empty()) {
        auto comma = cc.find(',');
        auto token = cc.substr(0, comma);
        cc = comma == std::string_view::npos ? std::string_view{} : cc.substr(comma + 1);
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front())))
            token.remove_prefix(1);
        while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
            token.remove_suffix(1);
        std::string t(token);
        std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
        if (t == "no-store" || t == "no-cache")
            return std::chrono::seconds(0);
        if (t.rfind("max-age=", 0) == 0) {
            std::string_view v(t);
            v.remove_prefix(8);
            if (!v.empty() && v.front() == '"' && v.back() == '"' && v.size() >= 2)
                v = v.substr(1, v.size() - 2);
            long long n = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec == std::errc{} && p == v.data() + v.size() && n >= 0)
                out = std::chrono::seconds(n);
        }
    }
    return out;
}

net::awaitable<result<jwks_document>> http_jwks_fetcher::fetch(std::string uri, jwks_source_options options)
{
    std::string jwks_uri = uri;
    if (is_discovery_uri(uri)) {
        auto doc = co_await get_json(client_, uri, options);
        if (!doc)
            co_return doc.error();
        const auto& j = doc->first;
        if (!j.is_object() || !j.contains("jwks_uri") || !j["jwks_uri"].is_string())
            co_return make_error_code(jwks_error::bad_discovery);
        jwks_uri = j["jwks_uri"].get<std::string>();
        auto parsed = boost::urls::parse_uri(jwks_uri);
        if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https"))
            co_return make_error_code(jwks_error::bad_discovery);
        // Do not let an https discovery document downgrade the key download.
        if (is_https(uri) && !is_https(jwks_uri))
            co_return make_error_code(jwks_error::bad_discovery);
    }
    auto got = co_await get_json(client_, jwks_uri, options);
    if (!got)
        co_return got.error();
    auto& [j, res] = *got;
    if (!j.is_object() || !j.contains("keys") || !j["keys"].is_array())
        co_return make_error_code(jwks_error::not_a_jwks);
    jwks_document out;
    out.jwks = std::move(j);
    out.jwks_uri = std::move(jwks_uri);
    if (auto* cc = res.header("cache-control"))
        out.max_age = parse_max_age(*cc);
    co_return out;
}

}  // namespace countersign::jwt_signer
