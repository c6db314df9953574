#include "countersign/jwt_signer/consumer_mapper.hpp"

#include <catch2/catch.hpp>

using namespace countersign::jwt_signer;
using countersign::config::consumer_config;
using countersign::config::gateway_config;
using json = nlohmann::json;

namespace {

constexpr const char* alice_id = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
constexpr const char* bob_id = "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3";

std::shared_ptr<const consumer_table> make_table()
{
    auto cfg = std::make_shared<gateway_config>();
    cfg->consumers.push_back(consumer_config{alice_id, "alice", "cust-1", {}});
    cfg->consumers.push_back(consumer_config{bob_id, "bob", "", {}});
    // A consumer whose username equals another's custom_id: order matters.
    cfg->consumers.push_back(consumer_config{"11111111-2222-4333-8444-555555555555", "cust-1", "", {}});
    return std::make_shared<const consumer_table>(cfg);
}

consumer_mapper mapper(claim_path claim, std::vector<consumer_field> by)
{
    consumer_mapping_config c;
    c.consumer_claim = std::move(claim);
    c.consumer_by = std::move(by);
    return consumer_mapper(c, make_table());
}

}  // namespace

TEST_CASE("consumer table lookups", "[jwt_signer][consumer]")
{
    auto t = make_table();
    CHECK(t->size() == 3);
    REQUIRE(t->find(consumer_field::username, "alice"));
    CHECK(t->find(consumer_field::username, "alice")->id == alice_id);
    CHECK(t->find(consumer_field::custom_id, "cust-1")->username == "alice");
    CHECK(t->find(consumer_field::id, bob_id)->username == "bob");
    // UUIDs compare case-insensitively.
    CHECK(t->find(consumer_field::id, "0A1B2C3D-4E5F-4A6B-8C7D-8E9FA0B1C2D3")->username == "bob");
    CHECK(t->find(consumer_field::username, "Alice") == nullptr);
    // Empty values never match consumers without a custom_id.
    CHECK(t->find(consumer_field::custom_id, "") == nullptr);
    CHECK(t->find(consumer_field::id, "not-a-uuid") == nullptr);
}

TEST_CASE("mapping by each field", "[jwt_signer][consumer]")
{
    SECTION("username")
    {
        auto m = mapper(claim_path{"preferred_username"}, {consumer_field::username});
        auto r = m.map({{"preferred_username", "bob"}});
        REQUIRE(r.status.ok());
        REQUIRE(r.consumer);
        CHECK(r.consumer->id == bob_id);
    }
    SECTION("custom_id")
    {
        auto m = mapper(claim_path{"cid"}, {consumer_field::custom_id});
        auto r = m.map({{"cid", "cust-1"}});
        REQUIRE(r.consumer);
        CHECK(r.consumer->username == "alice");
    }
    SECTION("id, nested claim")
    {
        auto m = mapper(claim_path{"kong", "consumer"}, {consumer_field::id});
        auto r = m.map({{"kong", {{"consumer", alice_id}}}});
        REQUIRE(r.consumer);
        CHECK(r.consumer->username == "alice");
    }
}

TEST_CASE("consumer_by order: first hit wins", "[jwt_signer][consumer]")
{
    const json token = {{"sub", "cust-1"}};
    auto by_user_first = mapper(claim_path{"sub"}, {consumer_field::username, consumer_field::custom_id});
    REQUIRE(by_user_first.map(token).consumer);
    CHECK(by_user_first.map(token).consumer->username == "cust-1");

    auto by_custom_first = mapper(claim_path{"sub"}, {consumer_field::custom_id, consumer_field::username});
    REQUIRE(by_custom_first.map(token).consumer);
    CHECK(by_custom_first.map(token).consumer->username == "alice");
}

TEST_CASE("403 and 500 paths", "[jwt_signer][consumer]")
{
    auto m = mapper(claim_path{"sub"}, {consumer_field::username, consumer_field::custom_id});
    SECTION("claim missing")
    {
        auto r = m.map({{"other", "alice"}});
        CHECK(r.status.code == auth_errc::consumer_claim_missing);
        CHECK(r.consumer == nullptr);
    }
    SECTION("claim of the wrong type")
    {
        CHECK(m.map({{"sub", {{"a", 1}}}}).status.code == auth_errc::consumer_claim_missing);
    }
    SECTION("no such consumer")
    {
        auto r = m.map({{"sub", "mallory"}});
        CHECK(r.status.code == auth_errc::consumer);
        CHECK_THAT(r.status.detail, Catch::Contains("mallory"));
        CHECK(r.consumer == nullptr);
    }
    SECTION("array claim is joined with spaces (and so does not match)")
    {
        CHECK(m.map({{"sub", json::array({"alice", "bob"})}}).status.code == auth_errc::consumer);
        CHECK(m.map({{"sub", json::array({"alice"})}}).consumer != nullptr);
    }
    SECTION("empty consumer_by: 500")
    {
        auto e = mapper(claim_path{"sub"}, {});
        CHECK(e.map({{"sub", "alice"}}).status.code == auth_errc::consumer_by_not_configured);
    }
    SECTION("no claim configured: nothing to map")
    {
        auto off = mapper(claim_path{}, {consumer_field::username});
        CHECK_FALSE(off.enabled());
        auto r = off.map({{"sub", "alice"}});
        CHECK(r.status.ok());
        CHECK(r.consumer == nullptr);
    }
}

TEST_CASE("consumer mapping config from Kong's field names", "[jwt_signer][consumer]")
{
    countersign::config::error_list errors;
    SECTION("defaults")
    {
        auto c = consumer_mapping_config::from_plugin_config(json::object(), token_kind::access,
                                                             claim_source::payload, &errors);
        CHECK(c.consumer_claim.empty());
        CHECK(c.consumer_by ==
              std::vector<consumer_field>{consumer_field::username, consumer_field::custom_id});
    }
    SECTION("payload and introspection fields")
    {
        json cfg = {{"channel_token_consumer_claim", {"sub"}},
                    {"channel_token_consumer_by", {"id"}},
                    {"channel_token_introspection_consumer_claim", {"client_id"}},
                    {"channel_token_introspection_consumer_by", {"custom_id", "username"}}};
        auto p = consumer_mapping_config::from_plugin_config(cfg, token_kind::channel,
                                                             claim_source::payload, &errors);
        CHECK(p.consumer_claim == claim_path{"sub"});
        CHECK(p.consumer_by == std::vector<consumer_field>{consumer_field::id});
        auto i = consumer_mapping_config::from_plugin_config(cfg, token_kind::channel,
                                                             claim_source::introspection, &errors);
        CHECK(i.consumer_claim == claim_path{"client_id"});
        CHECK(i.consumer_by ==
              std::vector<consumer_field>{consumer_field::custom_id, consumer_field::username});
        CHECK(errors.empty());
    }
    SECTION("empty or bad values")
    {
        json cfg = {{"access_token_consumer_by", json::array()},
                    {"access_token_introspection_consumer_by", {"email", "id"}}};
        auto p = consumer_mapping_config::from_plugin_config(cfg, token_kind::access,
                                                             claim_source::payload, &errors);
        CHECK(p.consumer_by.empty());
        auto i = consumer_mapping_config::from_plugin_config(cfg, token_kind::access,
                                                             claim_source::introspection, &errors);
        CHECK(i.consumer_by == std::vector<consumer_field>{consumer_field::id});
        CHECK(errors.size() == 1);
    }
}
