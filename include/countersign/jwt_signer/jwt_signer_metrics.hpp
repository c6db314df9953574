#pragma once
// The jwt-signer's metrics. Hot-path counters are resolved once (here, or
// per plugin instance) so a request only does relaxed atomic adds; the rest
// (JWKS fetches, introspection, key age) is read from the node-wide caches
// and keysets when /metrics is scraped.

#include <countersign/jwt_signer/error.hpp>
#include <countersign/observability/metrics.hpp>

#include <functional>
#include <memory>

namespace countersign::jwt_signer {

class jwt_signer_services;

struct jwt_signer_metrics {
    /// countersign_jwt_signer_results_total{token, result}: one child per
    /// token kind and auth_errc ("ok" for a token that passed).
    observability::counter& result(token_kind kind, auth_errc e) noexcept;

    observability::counter& verified_hits;
    observability::counter& verified_misses;
    observability::counter& minted_hits;
    observability::counter& minted_misses;
    /// countersign_signings_total{keyset, alg}
    observability::counter_family& signings;

    static jwt_signer_metrics& get();

private:
    jwt_signer_metrics();
    observability::counter* results_[2][static_cast<int>(auth_errc::signing_failed) + 1];
};

/// Registers the scrape-time collector (JWKS fetches by URI and result,
/// introspection calls and cache hits/misses, key generation age by
/// keyset). `services` is asked on every scrape (null: nothing to report).
void register_jwt_signer_metrics(std::function<std::shared_ptr<jwt_signer_services>()> services);

}  // namespace countersign::jwt_signer
