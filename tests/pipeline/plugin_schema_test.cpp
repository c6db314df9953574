#include <catch2/catch.hpp>

#include <map>

#include <countersign/pipeline/plugin_schema.hpp>

using namespace countersign;
using namespace countersign::pipeline;
using json = nlohmann::json;

namespace {

/// Lines for a few known paths, as the loader's line_lookup would give them.
config::line_lookup lines(std::map<std::string, int> m)
{
    return [m = std::move(m)](const std::string& path) {
        auto it = m.find(path);
        return it == m.end() ? 0 : it->second;
    };
}

std::vector<std::string> messages(const config::error_list& errors)
{
    std::vector<std::string> out;
    for (const auto& e : errors.errors()) out.push_back(e.to_string());
    return out;
}

plugin_schema sample()
{
    plugin_schema s{{
        integer_field("status_code").default_value(503).between(100, 599),
        string_field("message"),
        string_field("mode").default_value("a").one_of({"a", "b"}),
        boolean_field("flag").default_value(false),
        number_field("ratio").at_least(0),
        string_field("url").url(),
        string_field("name").required(),
        string_field("password").secret(),
        string_field("code").match("^[a-z]+$", "lower-case letters"),
        array_field("list", string_field("").len_min(1)).default_value(json::array()),
        set_field("set", string_field("")),
        map_field("claims", string_field("")).default_value(json::object()),
        record_field("nested", {integer_field("n").default_value(1), string_field("token").secret()}),
    }};
    s.add_check("message and name differ", [](const json& c, check_reporter& r) {
        if (c["message"] == c["name"]) r.error_at("message", "must differ from name");
    });
    return s;
}

}  // namespace

TEST_CASE("schema fills defaults and absent fields")
{
    config::error_list errors;
    auto out = sample().validate(json{{"name", "x"}}, "plugins[0].config", lines({}), errors);
    INFO(errors.to_string());
    REQUIRE(errors.empty());
    CHECK(out["status_code"] == 503);
    CHECK(out["mode"] == "a");
    CHECK(out["flag"] == false);
    CHECK(out["message"].is_null());
    CHECK(out["list"] == json::array());
    CHECK(out["claims"] == json::object());
    CHECK(out["nested"] == json{{"n", 1}, {"token", nullptr}});
    CHECK(out["name"] == "x");
}

TEST_CASE("schema error messages carry the YAML path and line")
{
    auto line_of = lines({{"plugins[0].config", 5}, {"plugins[0].config.status_code", 7}, {"plugins[0].config.bogus", 9},
                          {"plugins[0].config.list[1]", 12}});
    config::error_list errors;
    sample().validate(json{{"status_code", 42},
                           {"bogus", 1},
                           {"mode", "c"},
                           {"flag", "yes"},
                           {"ratio", -1},
                           {"url", "ftp://x"},
                           {"code", "AB"},
                           {"list", json::array({"ok", ""})},
                           {"set", json::array({"a", "a"})},
                           {"claims", json{{"k", 1}}},
                           {"nested", json{{"n", "x"}}}},
                      "plugins[0].config", line_of, errors);
    auto m = messages(errors);
    std::vector<std::string> expected = {
        "plugins[0].config.status_code: value must be between 100 and 599 (line 7)",
        "plugins[0].config.mode: expected one of: a, b (line 5)",
        "plugins[0].config.flag: expected a boolean (line 5)",
        "plugins[0].config.ratio: value must be at least 0 (line 5)",
        "plugins[0].config.url: must be an absolute http or https URL (line 5)",
        "plugins[0].config.name: required field missing (line 5)",
        "plugins[0].config.code: invalid value: AB (must match lower-case letters) (line 5)",
        "plugins[0].config.list[1]: length must be at least 1 (line 12)",
        "plugins[0].config.set[1]: duplicate set element (line 5)",
        "plugins[0].config.claims.k: expected a string (line 5)",
        "plugins[0].config.nested.n: expected an integer (line 5)",
        "plugins[0].config.bogus: unknown field (line 9)",
    };
    CHECK(m == expected);
}

TEST_CASE("schema accepts scalar strings for typed fields and coerces them")
{
    config::error_list errors;
    auto out = sample().validate(json{{"name", "x"}, {"status_code", "404"}, {"flag", "true"}, {"ratio", "0.5"}},
                                 "c", lines({}), errors);
    REQUIRE(errors.empty());
    CHECK(out["status_code"] == 404);
    CHECK(out["flag"] == true);
    CHECK(out["ratio"] == 0.5);
}

TEST_CASE("schema rejects wrong container types")
{
    config::error_list errors;
    sample().validate(json{{"name", 3}, {"list", "a"}, {"claims", json::array()}, {"nested", 1}}, "c", lines({}), errors);
    std::vector<std::string> expected = {"c.name: expected a string", "c.list: expected an array",
                                         "c.claims: expected a map", "c.nested: expected a record"};
    CHECK(messages(errors) == expected);
}

TEST_CASE("cross-field checks run only on otherwise valid records")
{
    config::error_list errors;
    sample().validate(json{{"name", "x"}, {"message", "x"}}, "c", lines({}), errors);
    CHECK(messages(errors) == std::vector<std::string>{"c.message: must differ from name"});

    config::error_list errors2;
    sample().validate(json{{"name", "x"}, {"message", "x"}, {"status_code", 1}}, "c", lines({}), errors2);
    CHECK(messages(errors2) == std::vector<std::string>{"c.status_code: value must be between 100 and 599"});
}

TEST_CASE("null config validates as an empty record")
{
    config::error_list errors;
    sample().validate(nullptr, "c", lines({}), errors);
    CHECK(messages(errors) == std::vector<std::string>{"c.name: required field missing"});
}

TEST_CASE("ready-made entity checks")
{
    plugin_schema s{{string_field("a"), string_field("b"), string_field("c"), string_field("d")}};
    s.add_check("x", mutually_exclusive({"a", "b"}));
    s.add_check("y", mutually_required({"c", "d"}));
    config::error_list errors;
    s.validate(json{{"a", "1"}, {"b", "2"}, {"c", "3"}}, "c", lines({}), errors);
    std::vector<std::string> expected = {"c: only one of these fields can be set: 'a', 'b'",
                                         "c: all or none of these fields must be set: 'c', 'd'"};
    CHECK(messages(errors) == expected);

    plugin_schema t{{string_field("h1"), string_field("h2"), string_field("mode"), string_field("x")}};
    t.add_check("distinct", distinct({"h1", "h2"}));
    t.add_check("cond", conditional_required("mode", "on", "x"));
    t.add_check("one", at_least_one_of({"h1", "x"}));
    config::error_list e2;
    t.validate(json{{"h1", "Authorization"}, {"h2", "authorization"}, {"mode", "on"}}, "c", lines({}), e2);
    std::vector<std::string> expected2 = {"c.h2: must differ from 'h1'", "c.x: required when 'mode' is on"};
    CHECK(messages(e2) == expected2);
    config::error_list e3;
    t.validate(json::object(), "c", lines({}), e3);
    CHECK(messages(e3) == std::vector<std::string>{"c: at least one of these fields must be non-empty: 'h1', 'x'"});
    config::error_list e4;
    plugin_schema u{{string_field("a"), string_field("b")}};
    u.add_check("only", only_one_of({"a", "b"}));
    u.validate(json::object(), "c", lines({}), e4);
    CHECK(messages(e4) == std::vector<std::string>{"c: exactly one of these fields must be non-empty: 'a', 'b'"});
}

TEST_CASE("redact replaces secrets, including nested ones")
{
    auto s = sample();
    config::error_list errors;
    auto out = s.validate(json{{"name", "x"}, {"password", "hunter2"}, {"nested", {{"token", "t"}}}}, "c", lines({}), errors);
    REQUIRE(errors.empty());
    auto r = s.redact(out);
    CHECK(r["password"] == "<redacted>");
    CHECK(r["nested"]["token"] == "<redacted>");
    CHECK(r["name"] == "x");
    CHECK(out["password"] == "hunter2");
}

TEST_CASE("schema JSON has Kong's shape")
{
    auto j = to_json(sample());
    REQUIRE(j["fields"].is_array());
    REQUIRE(j["fields"].size() == 2);
    CHECK(j["fields"][0].contains("protocols"));
    const auto& config = j["fields"][1]["config"];
    CHECK(config["type"] == "record");
    CHECK(config["required"] == true);
    const auto& f = config["fields"];
    CHECK(f[0] == json{{"status_code", {{"type", "integer"}, {"default", 503}, {"between", {100, 599}}}}});
    CHECK(f[2]["mode"]["one_of"] == json::array({"a", "b"}));
    CHECK(f[7]["password"]["encrypted"] == true);
    CHECK(f[9]["list"]["elements"]["type"] == "string");
    CHECK(f[11]["claims"]["values"]["type"] == "string");
    CHECK(f[12]["nested"]["fields"][0]["n"]["default"] == 1);
    CHECK(config["entity_checks"][0]["custom_entity_check"]["description"] == "message and name differ");
}
