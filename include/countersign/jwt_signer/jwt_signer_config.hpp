#pragma once
// The typed, immutable configuration of one jwt-signer plugin instance,
// built once at load from the validated JSON config (defaults filled in by
// jwt_signer_schema). Nothing here is parsed per request.

#include <countersign/config/config_error.hpp>
#include <countersign/config/gateway_config.hpp>
#include <countersign/jose/alg.hpp>
#include <countersign/jwt_signer/claims_transform.hpp>
#include <countersign/jwt_signer/claims_verifier.hpp>
#include <countersign/jwt_signer/consumer_mapper.hpp>
#include <countersign/jwt_signer/jwt_signer_services.hpp>
#include <countersign/jwt_signer/keyset.hpp>
#include <countersign/jwt_signer/token_extractor.hpp>
#include <countersign/jwt_signer/token_verifier.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace countersign::jwt_signer {

/// `<t>_introspection_*`, `cache_<t>_introspection`, `trust_<t>_introspection`.
struct introspection_settings {
    bool enabled = true;                       ///< enable_<t>_introspection
    std::string endpoint;                      ///< "" = not configured (500 on an opaque token)
    std::string authorization;                 ///< verbatim Authorization header
    std::vector<std::pair<std::string, std::string>> body_args;
    std::string hint;                          ///< token_type_hint; "" = not sent
    std::chrono::milliseconds timeout{10000};
    claim_path jwt_claim;                      ///< <t>_introspection_jwt_claim; empty = none
    bool trust = true;                         ///< trust_<t>_introspection
    bool cache = true;                         ///< cache_<t>_introspection
    std::chrono::seconds cache_max_ttl{3600};  ///< countersign extension
    std::chrono::seconds cache_inactive_ttl{5};///< countersign extension
    http_client::tls_options tls;
};

/// Re-signing (§1.7, §1.8).
struct signing_settings {
    bool enabled = false;                      ///< <t>_signing AND <t>_upstream_header set
    jose::alg algorithm = jose::alg::rs256;    ///< <t>_signing_algorithm
    std::string keyset = "kong";               ///< <t>_keyset (name or URL)
    bool keyset_is_url = false;
    keyset_fetch_options keyset_fetch;         ///< <t>_keyset_client_*, ssl verify
    std::chrono::seconds keyset_rotate_period{0};
    token_location upstream_header;            ///< <t>_upstream_header (name + scheme)
    std::string original_upstream_header;      ///< original_<t>_upstream_header; "" = none
    claims_transform_config transform;
};

/// Everything about one token slot.
struct token_slot_config {
    token_kind kind;
    token_extractor extractor;
    verifier_settings verifier;
    introspection_settings introspection;
    claims_config payload_claims;
    claims_config introspection_claims;
    consumer_mapping_config payload_consumer;
    consumer_mapping_config introspection_consumer;
    signing_settings signing;
};

struct jwt_signer_config {
    std::optional<std::string> realm;          ///< realm; unset/"" = the request Host
    bool enable_instrumentation = false;
    bool enable_hs_signatures = false;
    std::size_t max_token_bytes = 8192;        ///< countersign extension
    keyset_options keyset_generation;          ///< keyset_rsa_bits, keyset_include_ed448
    token_slot_config access;
    token_slot_config channel;

    const token_slot_config& slot(token_kind k) const noexcept { return k == token_kind::access ? access : channel; }

    /// Builds the typed config from a validated config object. Problems that
    /// the schema cannot see (unreadable CA file, bad body args) are added
    /// to `errors` under `path` ("plugins[0].config"); the result is still
    /// returned so every problem is reported in one load.
    static jwt_signer_config from_json(const nlohmann::json& cfg, config::error_list* errors = nullptr,
                                       const std::string& path = "config");
};

}  // namespace countersign::jwt_signer
