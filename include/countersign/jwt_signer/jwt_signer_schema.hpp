#pragma once
// The config schema of the jwt-signer plugin: all 153 fields of Kong 3.15
// (reference §1, Appendix A) under Kong's names, types and defaults, the
// §1.11 validation rules, and the countersign extensions (documented in
// docs/jwt-signer.md, each field description starts with "countersign
// extension"). Validation runs at config load only.

#include <countersign/pipeline/plugin_schema.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

/// The plugin's schema (fields, defaults, entity checks).
pipeline::plugin_schema jwt_signer_schema();

/// Names of Kong's 153 config fields (Appendix A), sorted. For tests and docs.
std::vector<std::string> kong_field_names();

/// Names of the countersign extension fields, sorted.
std::vector<std::string> extension_field_names();

/// The signing algorithm enum of `<t>_signing_algorithm` (12 values, no RS384).
const std::vector<std::string>& signing_algorithm_names();

/// The header name of an upstream/request header value without a
/// `:Bearer` / `:Basic` suffix, lower-cased ("Authorization:Bearer" ->
/// "authorization"). "" for an empty value.
std::string header_name_of(std::string_view configured);

}  // namespace countersign::jwt_signer
