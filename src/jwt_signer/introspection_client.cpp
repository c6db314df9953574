#include <countersign/jwt_signer/introspection_client.hpp>

#include <countersign/core/percent.hpp>

#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <cctype>

namespace countersign::jwt_signer {

namespace {

class introspection_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "countersign.introspection"; }
    std::string message(int ev) const override
    {
        switch (static_cast<introspection_error>(ev)) {
        case introspection_error::bad_status: return "introspection endpoint answered with a non-200 status";
        case introspection_error::bad_json: return "introspection answer is not a JSON object";
        case introspection_error::inactive: return "token is not active";
        case introspection_error::bad_body_args: return "malformed introspection body args";
        }
        return "unknown introspection error";
    }
};

result<std::string> form_decode(std::string_view s)
{
    auto decoded = percent_decode_strict(s, true);
    if (!decoded)
        return make_error_code(introspection_error::bad_body_args);
    return std::move(*decoded);
}

void form_encode(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
}

}  // namespace

const boost::system::error_category& introspection_category() noexcept
{
    static const introspection_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(introspection_error e) noexcept
{
    return {static_cast<int>(e), introspection_category()};
}

result<std::vector<std::pair<std::string, std::string>>> parse_body_args(std::string_view s)
{
    std::vector<std::pair<std::string, std::string>> out;
    while (!s.empty()) {
        auto amp = s.find('&');
        auto pair = s.substr(0, amp);
        s = amp == std::string_view::npos ? std::string_view{} : s.substr(amp + 1);
        if (pair.empty())
            continue;
        auto eq = pair.find('=');
        auto name = form_decode(pair.substr(0, eq));
        auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value || name->empty())
            return make_error_code(introspection_error::bad_body_args);
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

std::string introspection_form(const introspection_request& req)
{
    std::string body = "token=";
    form_encode(body, req.token);
    if (!req.hint.empty()) {
        body += "&token_type_hint=";
        form_encode(body, req.hint);
    }
    for (const auto& [name, value] : req.body_args) {
        body += '&';
        form_encode(body, name);
        body += '=';
        form_encode(body, value);
    }
    return body;
}

net::awaitable<result<std::shared_ptr<const nlohmann::json>>> http_introspection_client::introspect(
    introspection_request req)
{
    http_client::request_options o;
    o.method = "POST";
    o.url = req.endpoint;
    o.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
    o.headers.emplace_back("Accept", "application/json");
    if (!req.authorization.empty())
        o.headers.emplace_back("Authorization", req.authorization);
    o.body = introspection_form(req);
    o.connect_timeout = req.timeout;
    o.read_timeout = req.timeout;
    o.max_response_bytes = req.max_response_bytes;
    o.tls = req.tls;

    auto ex = co_await net::this_coro::executor;
    auto res = co_await client_.request(ex, o);
    if (!res && http_client::is_connection_failure(res.error())) {
        spdlog::debug("introspection: {} failed ({}), retrying once", req.endpoint, res.error().message());
        res = co_await client_.request(ex, o);
    }
    if (!res)
        co_return res.error();
    if (res->status != 200) {
        spdlog::info("introspection: {} answered {}", req.endpoint, res->status);
        co_return make_error_code(introspection_error::bad_status);
    }
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        co_return make_error_code(introspection_error::bad_json);
    auto active = j.find("active");
    if (active == j.end() || !active->is_boolean() || !active->get<bool>()) {
        auto text = [&](const char* name) {
            auto it = j.find(name);
            return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
        };
        auto err = text("error");
        auto desc = text("error_description");
        spdlog::info("introspection: token not active{}{}", err.empty() ? "" : ": " + err,
                     desc.empty() ? "" : " (" + desc + ")");
        co_return make_error_code(introspection_error::inactive);
    }
    co_return std::make_shared<const nlohmann::json>(std::move(j));
}

}  // namespace countersign::jwt_signer
