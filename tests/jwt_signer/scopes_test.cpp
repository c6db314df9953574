#include "countersign/jwt_signer/scopes.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jwt_signer;
using json = nlohmann::json;

TEST_CASE("claim paths walk nested objects", "[jwt_signer][claim_path]")
{
    const json doc = json::parse(R"({
        "employee": {"favourites": {"beverage": "coffee"}},
        "realm_access": {"roles": ["a", "b"]},
        "list": [{"x": 1}],
        "nul": null,
        "f": false
    })");
    claim_path p{"employee", "favourites", "beverage"};
    REQUIRE(p.lookup(doc));
    CHECK(*p.lookup(doc) == "coffee");
    CHECK(p.to_string() == "employee.favourites.beverage");

    CHECK(claim_path{"employee", "nope"}.lookup(doc) == nullptr);
    CHECK(claim_path{"employee", "favourites", "beverage", "deeper"}.lookup(doc) == nullptr);
    CHECK(claim_path{"list", "x"}.lookup(doc) == nullptr);  // arrays are not traversed
    CHECK(claim_path{"nul"}.lookup(doc) == nullptr);        // null = absent
    CHECK(claim_path{"f"}.lookup(doc) != nullptr);          // false is a value
    CHECK(claim_path{}.lookup(doc) == nullptr);
    CHECK(claim_path{"x"}.lookup(json("not an object")) == nullptr);
}

TEST_CASE("claim paths from config values", "[jwt_signer][claim_path]")
{
    CHECK(claim_path::from_json(json::array({"realm_access", "roles"}))->keys() ==
          std::vector<std::string>{"realm_access", "roles"});
    CHECK(claim_path::from_json(json("realm_access,roles"))->keys() ==
          std::vector<std::string>{"realm_access", "roles"});
    CHECK(claim_path::from_json(json("scope"))->keys() == std::vector<std::string>{"scope"});
    CHECK(claim_path::from_json(json(nullptr))->empty());
    CHECK(claim_path::from_json(json(""))->empty());
    CHECK(claim_path::from_json(json::array())->empty());
    CHECK_FALSE(claim_path::from_json(json(5)));
    CHECK_FALSE(claim_path::from_json(json::array({"a", 1})));
}

TEST_CASE("claim values as text", "[jwt_signer][claim_path]")
{
    CHECK(*claim_to_string(json("a b")) == "a b");
    CHECK(*claim_to_string(json::array({"a", "b"})) == "a b");
    CHECK(*claim_to_string(json(42)) == "42");
    CHECK(*claim_to_string(json(42.0)) == "42");
    CHECK(*claim_to_string(json(1.5)) == "1.5");
    CHECK(*claim_to_string(json(true)) == "true");
    // Nested arrays and objects inside an array are skipped.
    CHECK(*claim_to_string(json::parse(R"(["a", ["b"], {"c":1}, 7])")) == "a 7");
    CHECK_FALSE(claim_to_string(json::object()));
    CHECK_FALSE(claim_to_string(json(nullptr)));
}

TEST_CASE("scope sets", "[jwt_signer][scopes]")
{
    auto s = scope_set::parse("  openid  profile\temail\nopenid ");
    CHECK(s.size() == 3);
    CHECK(s.contains("openid"));
    CHECK(s.contains("email"));
    CHECK_FALSE(s.contains("Email"));  // case-sensitive
    CHECK_FALSE(s.contains("open"));

    auto a = scope_set::from_claim(json::array({"read write", "admin"}));
    REQUIRE(a);
    CHECK(a->size() == 3);
    CHECK(a->contains("write"));
    CHECK_FALSE(scope_set::from_claim(json::object()));
}

TEST_CASE("required scopes: OR across entries, AND within an entry", "[jwt_signer][scopes]")
{
    scope_requirement req({"a b", "c"});
    REQUIRE(req.groups().size() == 2);
    CHECK(req.satisfied_by(scope_set::parse("a b")));
    CHECK(req.satisfied_by(scope_set::parse("b x a")));
    CHECK(req.satisfied_by(scope_set::parse("c")));
    CHECK(req.satisfied_by(scope_set::parse("a c")));
    CHECK_FALSE(req.satisfied_by(scope_set::parse("a")));
    CHECK_FALSE(req.satisfied_by(scope_set::parse("b")));
    CHECK_FALSE(req.satisfied_by(scope_set::parse("")));
    CHECK_FALSE(req.satisfied_by(scope_set::parse("ab")));
    CHECK(req.to_string() == R"("a b" or "c")");

    scope_requirement kong_example({"employee demo-service", "superadmin"});
    CHECK(kong_example.satisfied_by(scope_set::parse("employee demo-service")));
    CHECK(kong_example.satisfied_by(scope_set::parse("superadmin")));
    CHECK_FALSE(kong_example.satisfied_by(scope_set::parse("employee")));

    // Blank entries demand nothing and are dropped.
    CHECK(scope_requirement({"", "  "}).empty());
    CHECK(scope_requirement(std::vector<std::string>{}).empty());
}

TEST_CASE("check_scopes on a nested claim (issue 5 case)", "[jwt_signer][scopes]")
{
    const json token = json::parse(R"({"employee":{"favourites":{"beverage":"coffee"}}})");
    const claim_path path{"employee", "favourites", "beverage"};

    CHECK(check_scopes(token, path, scope_requirement({"coffee"})).ok());
    auto tea = check_scopes(token, path, scope_requirement({"tea"}));
    CHECK(tea.code == auth_errc::scope);
    CHECK_THAT(tea.detail, Catch::Contains("tea"));
    CHECK(check_scopes(token, path, scope_requirement({"tea", "coffee"})).ok());
    CHECK(check_scopes(token, path, scope_requirement({"tea coffee"})).code == auth_errc::scope);
}

TEST_CASE("check_scopes edge cases", "[jwt_signer][scopes]")
{
    const json token = json::parse(R"({"scope":"a b","roles":["c","d"],"obj":{"x":1}})");
    SECTION("nothing required: always ok, even without a claim")
    {
        CHECK(check_scopes(token, claim_path{}, scope_requirement{}).ok());
        CHECK(check_scopes(json::object(), claim_path{"scope"}, scope_requirement{}).ok());
    }
    SECTION("claim unset while scopes are required: 500")
    {
        CHECK(check_scopes(token, claim_path{}, scope_requirement({"a"})).code ==
              auth_errc::scopes_claim_not_configured);
    }
    SECTION("claim missing: 403")
    {
        CHECK(check_scopes(token, claim_path{"nope"}, scope_requirement({"a"})).code ==
              auth_errc::scope);
    }
    SECTION("claim of the wrong type: 403")
    {
        CHECK(check_scopes(token, claim_path{"obj"}, scope_requirement({"a"})).code ==
              auth_errc::scope);
    }
    SECTION("array claim joined with spaces")
    {
        CHECK(check_scopes(token, claim_path{"roles"}, scope_requirement({"c d"})).ok());
        CHECK(check_scopes(token, claim_path{"roles"}, scope_requirement({"c e", "x"})).code ==
              auth_errc::scope);
    }
    SECTION("string claim")
    {
        CHECK(check_scopes(token, claim_path{"scope"}, scope_requirement({"a b", "c"})).ok());
    }
}
