#pragma once
// Strict JSON parsing for JOSE headers and JWT claims: RFC 8259 grammar only
// (no comments, no trailing commas, no NaN, valid UTF-8, no lone surrogates,
// no BOM), duplicate member names rejected (nlohmann_json alone keeps the last
// one silently), and a nesting-depth limit enforced while parsing. Never throws.

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string_view>

namespace countersign::jose {

boost::system::result<nlohmann::json> parse_json_strict(std::string_view text, std::size_t max_depth = 16);

// Compact JSON text of `value`, appended to `out`: the same text as
// nlohmann's dump() for strings, integers, booleans, null and containers
// (members in the object's order), floats in their shortest round-trip form
// (an integral value keeps a ".0"), NaN and infinities as null. A string
// that is not valid UTF-8 is an error (error::bad_json) and `out` is then
// left unspecified. Unlike dump() it never throws and needs no scratch
// allocation beyond `out`.
boost::system::error_code serialize_json(const nlohmann::json& value, std::string& out);

} // namespace countersign::jose
