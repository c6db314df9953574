// High-level compact JWS: verify_jws (policy + signature) and sign_compact.

#include "countersign/jose/base64url.hpp"
#include "countersign/jose/json_strict.hpp"
#include "countersign/jose/jws.hpp"
#include "ossl.hpp"

#include <algorithm>

namespace countersign::jose {

using boost::system::error_code;
using boost::system::result;
using json = nlohmann::json;

error_code verify_jws(const jws& token, const jwk& key, std::span<const alg> allowed)
{
    const std::string_view name = token.alg_name();
    if (name.empty())
        return token.header.contains("alg") ? error::bad_header : error::missing_alg;
    auto a = alg_from_string(name);
    if (!a)
        return a.error();  // alg_none for every spelling of "none"
    if (std::find(allowed.begin(), allowed.end(), *a) == allowed.end())
        return make_error_code(error::alg_not_allowed);
    if (!key.permits_verify())
        return make_error_code(error::key_use_mismatch);
    if (key.algorithm() && *key.algorithm() != *a)
        return make_error_code(error::alg_key_mismatch);
    return verify(*a, key, token.signing_input, token.signature);
}

result<std::string> sign_compact(const json& header, std::string_view payload, alg a, const jwk& key)
{
    if (!header.is_object())
        return make_error_code(error::bad_header);
    if (!key.permits_sign())
        return make_error_code(error::key_use_mismatch);
    const json& h = header;
    const auto alg_it = h.find("alg");
    if (alg_it != h.end() && (!alg_it->is_string() || alg_it->get_ref<const std::string&>() != to_string(a)))
        return make_error_code(error::bad_header);
    if (h.contains("zip"))
        return make_error_code(error::zip_unsupported);
    bool unencoded = false;
    if (auto it = h.find("crit"); it != h.end()) {
        if (*it != json::array({"b64"}))
            return make_error_code(error::unknown_crit);
        auto b = h.find("b64");
        if (b == h.end() || !b->is_boolean())
            return make_error_code(error::bad_header);
        unencoded = !b->get<bool>();
    } else if (h.contains("b64")) {
        return make_error_code(error::b64_unsupported);
    }
    if (unencoded && payload.find('.') != std::string_view::npos)
        return make_error_code(error::malformed_token);  // RFC 7797 §5.2

    // The caller's header, with "alg" put first when it lacks one; no copy
    // of the JSON object on this per-request path.
    thread_local std::string header_text;
    header_text.clear();
    if (alg_it == h.end()) {
        header_text.append("{\"alg\":\"");
        header_text.append(to_string(a));
        header_text.push_back('"');
        const std::size_t at = header_text.size();
        if (serialize_json(h, header_text))
            return make_error_code(error::bad_header);
        // `h` was written as "{...}" after the alg member: drop its "{",
        // or the whole "{}" of an empty header, and join the two.
        if (header_text.size() - at == 2) {
            header_text.resize(at);
            header_text.push_back('}');
        } else {
            header_text[at] = ',';
        }
    } else if (serialize_json(h, header_text)) {
        return make_error_code(error::bad_header);
    }
    std::string out;
    out.reserve(base64url_encoded_size(header_text.size()) + base64url_encoded_size(payload.size()) + 700);
    base64url_encode_append(header_text, out);
    out.push_back('.');
    if (unencoded)
        out.append(payload);
    else
        base64url_encode_append(payload, out);
    auto sig = sign(a, key, out);
    if (!sig)
        return sig.error();
    out.push_back('.');
    base64url_encode_append(*sig, out);
    return out;
}

} // namespace countersign::jose
