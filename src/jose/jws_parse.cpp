// Strict compact-JWS parsing: segment framing, base64url, header JSON and the
// header parameters this layer must police (alg/kid types, crit, b64, zip).

#include "countersign/jose/base64url.hpp"
#include "countersign/jose/json_strict.hpp"
#include "countersign/jose/jws.hpp"

#include <algorithm>
#include <array>
#include <optional>

namespace countersign::jose {

using boost::system::error_code;
using boost::system::result;
using json = nlohmann::json;

std::string_view jws::alg_name() const noexcept
{
    if (!header.is_object())
        return {};
    auto it = header.find("alg");
    if (it == header.end() || !it->is_string())
        return {};
    return it->get_ref<const std::string&>();
}

std::string jws::kid() const
{
    if (!header.is_object())
        return {};
    auto it = header.find("kid");
    if (it == header.end() || !it->is_string())
        return {};
    return it->get<std::string>();
}

namespace {

// Header parameter names registered by RFC 7515/7516/7518; they may not be
// listed in "crit" (RFC 7515 §4.1.11).
constexpr std::array<std::string_view, 21> registered_names{
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
    "enc", "zip", "epk", "apu", "apv", "iv",  "tag", "p2s",      "p2c", "url"};

// The only extension this layer understands.
constexpr std::string_view b64_name = "b64";

// Sets `unencoded` when the payload is unencoded (RFC 7797 b64:false).
error_code check_header(const json& h, const parse_limits& limits, bool& unencoded)
{
    unencoded = false;
    // One pass over the members for the parameters this layer polices.
    const json* crit = nullptr;
    const json* b64 = nullptr;
    using namespace std::string_view_literals;
    for (const auto& [key, value] : h.get_ref<const json::object_t&>()) {
        const std::string_view name = key;  // compares length first, no strlen
        if (name == "alg"sv || name == "kid"sv) {
            if (!value.is_string())
                return make_error_code(error::bad_header);
        } else if (name == "zip"sv) {
            return make_error_code(error::zip_unsupported);
        } else if (name == "crit"sv) {
            crit = &value;
        } else if (name == b64_name) {
            b64 = &value;
        }
    }
    bool b64_critical = false;
    if (crit) {
        if (!crit->is_array() || crit->empty())
            return make_error_code(error::bad_header);
        std::vector<std::string_view> seen;
        for (const auto& entry : *crit) {
            if (!entry.is_string())
                return make_error_code(error::bad_header);
            const std::string_view name = entry.get_ref<const std::string&>();
            if (std::find(registered_names.begin(), registered_names.end(), name) != registered_names.end())
                return make_error_code(error::bad_header);
            if (std::find(seen.begin(), seen.end(), name) != seen.end())
                return make_error_code(error::bad_header);
            seen.push_back(name);
            if (name != b64_name)
                return make_error_code(error::unknown_crit);
            if (!b64)
                return make_error_code(error::bad_header);  // listed but absent
            b64_critical = true;
        }
    }
    if (b64) {
        if (!b64->is_boolean())
            return make_error_code(error::bad_header);
        if (!b64_critical)
            return make_error_code(error::b64_unsupported);  // RFC 7797 §6: b64 must be critical
        unencoded = !b64->get<bool>();
        if (unencoded && !limits.allow_unencoded_payload)
            return make_error_code(error::b64_unsupported);
    }
    return {};
}

result<jws> parse_impl(std::string_view token, const parse_limits& limits, std::optional<std::string_view> detached)
{
    if (token.size() > limits.max_token_bytes)
        return make_error_code(error::too_large);
    const std::size_t d1 = token.find('.');
    if (d1 == std::string_view::npos)
        return make_error_code(error::malformed_token);
    const std::size_t d2 = token.find('.', d1 + 1);
    if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
        return make_error_code(error::malformed_token);
    const std::string_view h64 = token.substr(0, d1);
    const std::string_view p64 = token.substr(d1 + 1, d2 - d1 - 1);
    const std::string_view s64 = token.substr(d2 + 1);
    if (h64.empty())
        return make_error_code(error::malformed_token);
    if (h64.size() > base64url_encoded_size(limits.max_header_bytes))
        return make_error_code(error::too_large);

    jws out;
    // The decoded header is only read by the JSON parser: a per-thread
    // buffer keeps its allocation across calls.
    thread_local std::string header_text;
    if (auto ec = base64url_decode_into(h64, header_text))
        return ec;
    auto header = parse_json_strict(header_text, limits.max_depth);
    if (!header)
        return header.error();
    if (!header->is_object())
        return make_error_code(error::bad_json);
    bool unencoded_flag = false;
    if (auto ec = check_header(*header, limits, unencoded_flag))
        return ec;
    const bool* unencoded = &unencoded_flag;
    out.header = std::move(*header);

    if (detached) {
        if (!p64.empty())
            return make_error_code(error::malformed_token);
        out.payload.assign(detached->data(), detached->size());
        out.signing_input.reserve(h64.size() + 1 + base64url_encoded_size(detached->size()));
        out.signing_input.append(h64);
        out.signing_input.push_back('.');
        if (*unencoded) {
            if (detached->find('.') != std::string_view::npos)
                return make_error_code(error::malformed_token);
            out.signing_input.append(*detached);
        } else {
            base64url_encode_append(*detached, out.signing_input);
        }
    } else {
        if (*unencoded)
            out.payload.assign(p64.data(), p64.size());
        else if (auto ec = base64url_decode_into(p64, out.payload))
            return ec;
        out.signing_input.assign(token.data(), d2);
    }
    if (auto ec = base64url_decode_into(s64, out.signature))
        return ec;
    return out;
}

} // namespace

result<jws> parse_compact(std::string_view token, const parse_limits& limits)
{
    return parse_impl(token, limits, std::nullopt);
}

result<jws> parse_compact_detached(std::string_view token, std::string_view payload, const parse_limits& limits)
{
    return parse_impl(token, limits, payload);
}

} // namespace countersign::jose
