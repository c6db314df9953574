#include "countersign/jwt_signer/token_extractor.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace countersign::jwt_signer;
using json = nlohmann::json;

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// A header getter over a small map with case-insensitive names.
struct fake_headers {
    std::map<std::string, std::string> values;  // lower-case names

    fake_headers& set(std::string_view name, std::string value)
    {
        values[lower(name)] = std::move(value);
        return *this;
    }
    header_getter getter() const
    {
        return [this](std::string_view name) -> std::optional<std::string_view> {
            auto it = values.find(lower(name));
            if (it == values.end())
                return std::nullopt;
            return std::string_view(it->second);
        };
    }
};

token_extractor make(std::string_view header, token_kind kind = token_kind::access,
                     bool optional = false)
{
    auto loc = parse_token_location(header);
    REQUIRE(loc);
    extractor_options o;
    o.kind = kind;
    o.optional = optional;
    return token_extractor(*loc, o);
}

}  // namespace

TEST_CASE("parsing <t>_request_header", "[jwt_signer][token_extractor]")
{
    auto a = parse_token_location("Authorization:Bearer");
    REQUIRE(a);
    CHECK(a->header_name == "Authorization");
    CHECK(a->scheme == auth_scheme::bearer);

    auto b = parse_token_location("authorization:basic");
    REQUIRE(b);
    CHECK(b->header_name == "authorization");
    CHECK(b->scheme == auth_scheme::basic);

    auto c = parse_token_location("X-JWT-channel-client");
    REQUIRE(c);
    CHECK(c->header_name == "X-JWT-channel-client");
    CHECK(c->scheme == auth_scheme::none);
    CHECK(c->configured());

    auto d = parse_token_location("");
    REQUIRE(d);
    CHECK_FALSE(d->configured());

    std::string err;
    CHECK_FALSE(parse_token_location("Authorization:Digest", &err));
    CHECK_THAT(err, Catch::Contains("Digest"));
    CHECK_FALSE(parse_token_location("Bad Header", &err));
    CHECK_FALSE(parse_token_location(":Bearer", &err));
    CHECK_FALSE(parse_token_location("X-Token\r\n", &err));
}

TEST_CASE("Bearer scheme is stripped case-insensitively and trimmed",
          "[jwt_signer][token_extractor]")
{
    auto ex = make("Authorization:Bearer");
    fake_headers h;
    for (const char* v : {"Bearer abc.def.ghi", "bearer abc.def.ghi", "BEARER abc.def.ghi",
                          "Bearer   abc.def.ghi  ", "  Bearer\tabc.def.ghi", "abc.def.ghi"}) {
        CAPTURE(v);
        h.set("authorization", v);
        auto r = ex.extract(h.getter());
        CHECK(r.status.ok());
        CHECK(r.present);
        CHECK(r.token == "abc.def.ghi");
    }
}

TEST_CASE("Basic scheme is stripped, not decoded (Kong)", "[jwt_signer][token_extractor]")
{
    auto ex = make("Authorization:Basic");
    auto r = ex.extract_value("Basic dXNlcjp0b2tlbg==");
    CHECK(r.status.ok());
    CHECK(r.token == "dXNlcjp0b2tlbg==");
    // The suffix is ignored on input: a Bearer value works too.
    r = ex.extract_value("Bearer opaque-token");
    CHECK(r.status.ok());
    CHECK(r.token == "opaque-token");
}

TEST_CASE("plain header name for the channel token", "[jwt_signer][token_extractor]")
{
    auto ex = make("X-JWT-channel-client", token_kind::channel);
    fake_headers h;
    h.set("x-jwt-channel-client", "eyJ.x.y");
    auto r = ex.extract(h.getter());
    CHECK(r.status.ok());
    CHECK(r.token == "eyJ.x.y");
}

TEST_CASE("missing versus malformed", "[jwt_signer][token_extractor]")
{
    auto ex = make("Authorization:Bearer");

    SECTION("absent header")
    {
        auto r = ex.extract(fake_headers{}.getter());
        CHECK(r.status.code == auth_errc::missing);
        CHECK_FALSE(r.present);
    }
    SECTION("empty or blank header")
    {
        CHECK(ex.extract_value("").status.code == auth_errc::missing);
        CHECK(ex.extract_value("   \t").status.code == auth_errc::missing);
    }
    SECTION("scheme without token")
    {
        CHECK(ex.extract_value("Bearer").status.code == auth_errc::malformed);
        CHECK(ex.extract_value("Bearer   ").status.code == auth_errc::malformed);
        CHECK(ex.extract_value("basic").status.code == auth_errc::malformed);
    }
    SECTION("another scheme")
    {
        auto r = ex.extract_value("Digest username=x");
        CHECK(r.status.code == auth_errc::malformed);
        CHECK_FALSE(r.present);
        CHECK(ex.extract_value("Negotiate abc").status.code == auth_errc::malformed);
    }
    SECTION("details never carry raw control characters")
    {
        CHECK(sanitize_detail("a\r\nb\x01") == "a??b?");
        CHECK(sanitize_detail(std::string(200, 'x'), 10) == "xxxxxxxxxx...");
    }
    SECTION("whitespace or control characters inside the token")
    {
        CHECK(ex.extract_value("Bearer a b").status.code == auth_errc::malformed);
        CHECK(ex.extract_value(std::string_view("Bearer a\0b", 10)).status.code ==
              auth_errc::malformed);
        CHECK(ex.extract_value("Bearer a\x7f").status.code == auth_errc::malformed);
        CHECK(ex.extract_value("Bearer caf\xc3\xa9").status.code == auth_errc::malformed);
    }
    SECTION("a scheme-like prefix glued to the token is part of the token")
    {
        // No separator after "Bearer": a bare token, kept intact (Kong would
        // blindly drop 7 characters and use "bc").
        auto r = ex.extract_value("Bearerabc");
        CHECK(r.status.ok());
        CHECK(r.token == "Bearerabc");
    }
}

TEST_CASE("optional tokens", "[jwt_signer][token_extractor]")
{
    auto ex = make("Authorization", token_kind::access, true);
    auto r = ex.extract(fake_headers{}.getter());
    CHECK(r.status.ok());
    CHECK_FALSE(r.present);
    CHECK(ex.extract_value("").status.ok());
    // A present but unusable token still fails.
    CHECK(ex.extract_value("Bearer").status.code == auth_errc::malformed);
    CHECK(ex.extract_value("Bearer tok").present);
}

TEST_CASE("no header configured", "[jwt_signer][token_extractor]")
{
    SECTION("channel token: not looked for, even when not optional")
    {
        token_extractor ex(token_location{}, extractor_options{token_kind::channel, false});
        auto r = ex.extract(fake_headers{}.set("Authorization", "x").getter());
        CHECK(r.status.ok());
        CHECK_FALSE(r.present);
    }
    SECTION("access token, not optional: 500 as Kong")
    {
        token_extractor ex(token_location{}, extractor_options{token_kind::access, false});
        auto r = ex.extract(fake_headers{}.getter());
        CHECK(r.status.code == auth_errc::header_not_configured);
    }
    SECTION("access token, optional")
    {
        token_extractor ex(token_location{}, extractor_options{token_kind::access, true});
        CHECK(ex.extract(fake_headers{}.getter()).status.ok());
    }
}

TEST_CASE("size limit", "[jwt_signer][token_extractor]")
{
    auto ex = make("Authorization");
    CHECK(ex.options().max_token_bytes == 8192);
    std::string at_limit(8192, 'a');
    std::string over(8193, 'a');
    CHECK(ex.extract_value("Bearer " + at_limit).status.ok());
    auto r = ex.extract_value("Bearer " + over);
    CHECK(r.status.code == auth_errc::too_large);
    CHECK_FALSE(r.present);

    extractor_options o;
    o.max_token_bytes = 10;
    token_extractor small(*parse_token_location("Authorization"), o);
    CHECK(small.extract_value("0123456789").status.ok());
    CHECK(small.extract_value("0123456789a").status.code == auth_errc::too_large);
}

TEST_CASE("strict scheme (countersign option)", "[jwt_signer][token_extractor]")
{
    extractor_options o;
    o.strict_scheme = true;
    token_extractor ex(*parse_token_location("Authorization:Bearer"), o);
    CHECK(ex.extract_value("Bearer tok").status.ok());
    CHECK(ex.extract_value("Basic tok").status.code == auth_errc::malformed);
    CHECK(ex.extract_value("tok").status.code == auth_errc::malformed);

    token_extractor plain(*parse_token_location("X-Token"), o);
    CHECK(plain.extract_value("tok").status.ok());
}

TEST_CASE("built from the plugin config under Kong's names", "[jwt_signer][token_extractor]")
{
    countersign::config::error_list errors;
    SECTION("defaults")
    {
        auto a = token_extractor::from_plugin_config(json::object(), token_kind::access, &errors);
        CHECK(a.location().header_name == "Authorization");
        CHECK_FALSE(a.options().optional);
        auto c = token_extractor::from_plugin_config(json::object(), token_kind::channel, &errors);
        CHECK_FALSE(c.location().configured());
        CHECK(errors.empty());
    }
    SECTION("explicit values")
    {
        json cfg = {{"access_token_request_header", "Authorization:Bearer"},
                    {"access_token_optional", true},
                    {"channel_token_request_header", "X-JWT-channel-client"},
                    {"channel_token_optional", false}};
        auto a = token_extractor::from_plugin_config(cfg, token_kind::access, &errors);
        CHECK(a.location().scheme == auth_scheme::bearer);
        CHECK(a.options().optional);
        auto c = token_extractor::from_plugin_config(cfg, token_kind::channel, &errors);
        CHECK(c.location().header_name == "X-JWT-channel-client");
        CHECK(c.options().kind == token_kind::channel);
        CHECK(errors.empty());
    }
    SECTION("null header = not configured")
    {
        json cfg = {{"access_token_request_header", nullptr}};
        auto a = token_extractor::from_plugin_config(cfg, token_kind::access, &errors);
        CHECK_FALSE(a.location().configured());
        CHECK(a.extract_value("x").status.code == auth_errc::header_not_configured);
    }
    SECTION("bad values are reported")
    {
        json cfg = {{"access_token_request_header", "Authorization:Digest"},
                    {"access_token_optional", "yes"}};
        auto a = token_extractor::from_plugin_config(cfg, token_kind::access, &errors);
        CHECK(errors.size() == 2);
        CHECK(errors.errors()[0].path == "config.access_token_request_header");
        CHECK_FALSE(a.location().configured());
    }
}
