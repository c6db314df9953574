#include "countersign/jose/error.hpp"

#include <string>

namespace countersign::jose {
namespace {

class category_impl final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "countersign.jose"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::malformed_token: return "malformed compact JWS";
        case error::bad_base64: return "invalid base64url encoding";
        case error::bad_json: return "invalid JSON";
        case error::duplicate_member: return "duplicate JSON member name";
        case error::too_large: return "input too large";
        case error::too_deep: return "JSON nested too deeply";
        case error::bad_header: return "invalid JOSE header member";
        case error::missing_alg: return "JOSE header has no alg";
        case error::unsupported_alg: return "unsupported algorithm";
        case error::alg_none: return "alg none is never accepted";
        case error::alg_not_allowed: return "algorithm not allowed";
        case error::alg_key_mismatch: return "algorithm does not match the key";
        case error::unknown_crit: return "unknown critical header extension";
        case error::b64_unsupported: return "unsupported use of the b64 header parameter";
        case error::zip_unsupported: return "zip is not allowed on a JWS";
        case error::bad_signature: return "signature verification failed";
        case error::bad_signature_length: return "signature has the wrong length";
        case error::weak_key: return "key is too weak";
        case error::key_too_large: return "key is too large";
        case error::bad_key: return "malformed or inconsistent key";
        case error::missing_member: return "required JWK member missing";
        case error::not_on_curve: return "EC point is not on the curve";
        case error::unsupported_key_type: return "unsupported key type";
        case error::unsupported_curve: return "unsupported curve";
        case error::key_use_mismatch: return "key use or key_ops forbid this operation";
        case error::private_key_required: return "a private key is required";
        case error::symmetric_key_not_exportable: return "symmetric keys have no public form";
        case error::symmetric_key_not_allowed: return "symmetric keys are not allowed here";
        case error::private_key_not_allowed: return "private key material is not allowed here";
        case error::crypto_failure: return "cryptographic library failure";
        }
        return "unknown countersign.jose error";
    }
};

} // namespace

const boost::system::error_category& jose_category() noexcept
{
    static const category_impl instance;
    return instance;
}

boost::system::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), jose_category()};
}

} // namespace countersign::jose
