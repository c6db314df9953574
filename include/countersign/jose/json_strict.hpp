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

} // namespace countersign::jose
