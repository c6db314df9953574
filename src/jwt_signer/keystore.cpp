#include "countersign/jwt_signer/keystore.hpp"

#include "countersign/jose/jwk.hpp"

#include <boost/throw_exception.hpp>

namespace countersign::jwt_signer {

namespace {

class keys_category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "countersign.keys"; }
    std::string message(int ev) const override
    {
        switch (static_cast<keys_errc>(ev)) {
        case keys_errc::io_error: return "key storage I/O error";
        case keys_errc::corrupt: return "stored keyset is corrupt";
        case keys_errc::insecure_permissions: return "key storage has insecure permissions";
        case keys_errc::not_found: return "keyset not found";
        case keys_errc::invalid_name: return "invalid keyset name";
        case keys_errc::invalid_keyset: return "invalid keyset";
        case keys_errc::no_key_for_alg: return "keyset has no key for the signing algorithm";
        case keys_errc::generation_failed: return "key generation failed";
        case keys_errc::unsupported_operation: return "operation not supported for this keyset";
        case keys_errc::invalid_claims: return "claims cannot be re-signed";
        case keys_errc::signing_failed: return "signing failed";
        }
        return "unknown keys error";
    }
};

const char* type_name(const nlohmann::json& j) { return j.type_name(); }

}  // namespace

const boost::system::error_category& keys_category() noexcept
{
    static const keys_category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(keys_errc e) noexcept
{
    return {static_cast<int>(e), keys_category()};
}

void throw_exception_from_error(const keys_failure& f, const boost::source_location& loc)
{
    boost::throw_exception(keys_exception(f), loc);
}

nlohmann::json record_to_json(const keyset_record& rec)
{
    nlohmann::json j = nlohmann::json::object();
    j["name"] = rec.name;
    j["id"] = rec.id;
    j["created_at"] = rec.created_at;
    j["updated_at"] = rec.updated_at;
    j["generation"] = rec.generation;
    j["keys"] = rec.current;
    j["previous"] = rec.previous;
    if (!rec.source_url.empty())
        j["source_url"] = rec.source_url;
    return j;
}

keys_result<keyset_record> record_from_json(const nlohmann::json& j, std::string origin)
{
    auto bad = [&](const std::string& why) {
        return make_failure(keys_errc::corrupt, "corrupt keyset record " + origin + ": " + why);
    };
    if (!j.is_object())
        return bad(std::string("expected a JSON object, found ") + type_name(j));

    keyset_record rec;
    rec.origin = origin;

    auto str = [&](const char* key, std::string& out, bool required) -> bool {
        auto it = j.find(key);
        if (it == j.end())
            return !required;
        if (!it->is_string())
            return false;
        out = it->get<std::string>();
        return true;
    };
    if (!str("name", rec.name, true) || rec.name.empty())
        return bad("missing or invalid \"name\"");
    if (!str("id", rec.id, true) || rec.id.empty())
        return bad("missing or invalid \"id\"");
    if (!str("source_url", rec.source_url, false))
        return bad("invalid \"source_url\"");

    for (const char* key : {"created_at", "updated_at"}) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_number_integer())
            return bad(std::string("missing or invalid \"") + key + "\"");
        (key[0] == 'c' ? rec.created_at : rec.updated_at) = it->get<std::int64_t>();
    }
    auto gen = j.find("generation");
    if (gen == j.end() || !gen->is_number_unsigned() || gen->get<std::uint64_t>() == 0)
        return bad("missing or invalid \"generation\"");
    rec.generation = gen->get<std::uint64_t>();

    for (const char* key : {"keys", "previous"}) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_array())
            return bad(std::string("missing or invalid \"") + key + "\" array");
        std::size_t index = 0;
        for (const auto& k : *it) {
            const std::string where = std::string("\"") + key + "\"[" + std::to_string(index++) + "]";
            auto imported = jose::jwk::from_json(k);
            if (!imported)
                return bad("key " + where + " does not import: " + imported.error().message());
            if (!imported->is_private())
                return bad("key " + where + " is not a private key");
            if (!imported->algorithm())
                return bad("key " + where + " has no \"alg\"");
        }
        (key[0] == 'k' ? rec.current : rec.previous) = *it;
    }
    if (rec.current.empty())
        return bad("\"keys\" is empty");
    return rec;
}

}  // namespace countersign::jwt_signer
