#include "countersign/jwt_signer/consumer_mapper.hpp"

namespace countersign::jwt_signer {

namespace {

bool is_hex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// 8-4-4-4-12 hex digits.
bool is_uuid_shaped(std::string_view s) noexcept
{
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

std::string_view to_string(consumer_field f) noexcept
{
    switch (f) {
    case consumer_field::id: return "id";
    case consumer_field::username: return "username";
    case consumer_field::custom_id: return "custom_id";
    }
    return "";
}

std::optional<consumer_field> consumer_field_from_string(std::string_view s) noexcept
{
    if (s == "id")
        return consumer_field::id;
    if (s == "username")
        return consumer_field::username;
    if (s == "custom_id")
        return consumer_field::custom_id;
    return std::nullopt;
}

consumer_table::consumer_table(config::gateway_config_ptr cfg) : cfg_(std::move(cfg))
{
    if (!cfg_)
        return;
    for (const auto& c : cfg_->consumers) {
        // First one wins on duplicates (the loader should reject them anyway).
        if (!c.id.empty())
            by_id_.try_emplace(is_uuid_shaped(c.id) ? lower(c.id) : c.id, &c);
        if (!c.username.empty())
            by_username_.try_emplace(c.username, &c);
        if (!c.custom_id.empty())
            by_custom_id_.try_emplace(c.custom_id, &c);
    }
}

std::size_t consumer_table::size() const noexcept
{
    return cfg_ ? cfg_->consumers.size() : 0;
}

const config::consumer_config* consumer_table::find(consumer_field field,
                                                    std::string_view value) const
{
    if (value.empty())
        return nullptr;
    const index* idx = nullptr;
    std::string key;
    switch (field) {
    case consumer_field::id:
        idx = &by_id_;
        if (is_uuid_shaped(value)) {
            key = lower(value);
            value = key;
        }
        break;
    case consumer_field::username: idx = &by_username_; break;
    case consumer_field::custom_id: idx = &by_custom_id_; break;
    }
    auto it = idx->find(value);
    return it == idx->end() ? nullptr : it->second;
}

consumer_mapping_config consumer_mapping_config::from_plugin_config(
    const nlohmann::json& plugin_config, token_kind kind, claim_source source,
    config::error_list* errors)
{
    consumer_mapping_config c;
    c.kind = kind;
    c.source = source;
    std::string p(token_field_prefix(kind));
    if (source == claim_source::introspection)
        p += "_introspection";
    const std::string claim_field = p + "_consumer_claim";
    const std::string by_field = p + "_consumer_by";
    auto report = [&](const std::string& field, std::string msg) {
        if (errors)
            errors->add("config." + field, std::move(msg));
    };
    if (!plugin_config.is_object())
        return c;

    if (auto it = plugin_config.find(claim_field); it != plugin_config.end()) {
        if (auto path = claim_path::from_json(*it))
            c.consumer_claim = std::move(*path);
        else
            report(claim_field, "must be an array of strings");
    }
    if (auto it = plugin_config.find(by_field); it != plugin_config.end()) {
        c.consumer_by.clear();
        if (it->is_array()) {
            for (const auto& e : *it) {
                auto f = e.is_string() ? consumer_field_from_string(e.get_ref<const std::string&>())
                                       : std::nullopt;
                if (f)
                    c.consumer_by.push_back(*f);
                else
                    report(by_field, "elements must be one of: id, username, custom_id");
            }
        } else if (!it->is_null()) {
            report(by_field, "must be an array");
        }
    }
    return c;
}

consumer_mapper::consumer_mapper(consumer_mapping_config cfg,
                                 std::shared_ptr<const consumer_table> table)
    : cfg_(std::move(cfg)), table_(std::move(table))
{
}

consumer_match consumer_mapper::map(const nlohmann::json& doc) const
{
    consumer_match m;
    if (!enabled())
        return m;
    if (cfg_.consumer_by.empty()) {
        m.status = auth_fail(auth_errc::consumer_by_not_configured,
                             "consumer claim configured but the consumer search order is empty");
        return m;
    }
    const std::string claim = "'" + cfg_.consumer_claim.to_string() + "'";
    const nlohmann::json* v = cfg_.consumer_claim.lookup(doc);
    std::optional<std::string> value;
    if (v)
        value = claim_to_string(*v);
    if (!value) {
        m.status = auth_fail(auth_errc::consumer_claim_missing,
                             "consumer claim " + claim + (v ? " is not a string" : " is missing"));
        return m;
    }
    if (table_) {
        for (auto field : cfg_.consumer_by) {
            if (const auto* c = table_->find(field, *value)) {
                m.consumer = c;
                return m;
            }
        }
    }
    std::string fields;
    for (auto field : cfg_.consumer_by) {
        if (!fields.empty())
            fields += ", ";
        fields += to_string(field);
    }
    m.status = auth_fail(auth_errc::consumer, "no consumer with " + fields + " equal to '" +
                                                  sanitize_detail(*value) + "' (claim " + claim + ")");
    return m;
}

}  // namespace countersign::jwt_signer
