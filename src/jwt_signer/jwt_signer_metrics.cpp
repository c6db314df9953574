#include <countersign/jwt_signer/jwt_signer_metrics.hpp>

#include <countersign/jwt_signer/jwt_signer_services.hpp>

#include <ctime>
#include <mutex>

namespace countersign::jwt_signer {

namespace {
observability::registry& reg() { return observability::metrics(); }
}  // namespace

jwt_signer_metrics::jwt_signer_metrics()
    : verified_hits(reg().single_counter("countersign_verified_token_cache_hits_total",
                                         "Incoming JWTs whose verified claims came from the verified-token cache.")),
      verified_misses(reg().single_counter("countersign_verified_token_cache_misses_total",
                                           "Incoming JWTs verified with a public-key operation.")),
      minted_hits(reg().single_counter("countersign_minted_token_cache_hits_total",
                                       "Re-signed tokens reused from the minted-token cache.")),
      minted_misses(reg().single_counter("countersign_minted_token_cache_misses_total",
                                         "Re-signed tokens that had to be signed.")),
      signings(reg().counters("countersign_signings_total", "Tokens signed by the gateway, by keyset and algorithm.",
                              {"keyset", "alg"}))
{
    auto& fam = reg().counters("countersign_jwt_signer_results_total",
                               "jwt-signer outcomes by token and result (ok, or the rejection reason).",
                               {"token", "result"});
    for (int k = 0; k < 2; ++k) {
        const std::string token = k == 0 ? "access" : "channel";
        for (int e = 0; e <= static_cast<int>(auth_errc::signing_failed); ++e)
            results_[k][e] = &fam.with({token, std::string(to_metric_label(static_cast<auth_errc>(e)))});
    }
}

observability::counter& jwt_signer_metrics::result(token_kind kind, auth_errc e) noexcept
{
    int i = static_cast<int>(e);
    if (i < 0 || i > static_cast<int>(auth_errc::signing_failed)) i = 0;
    return *results_[kind == token_kind::access ? 0 : 1][i];
}

jwt_signer_metrics& jwt_signer_metrics::get()
{
    static jwt_signer_metrics m;
    return m;
}

void register_jwt_signer_metrics(std::function<std::shared_ptr<jwt_signer_services>()> services)
{
    jwt_signer_metrics::get();  // the hot-path families exist (with zeros) from the start
    reg().add_collector([services = std::move(services)](std::string& out) {
        using observability::write_header;
        using observability::write_sample;
        auto svc = services ? services() : nullptr;

        write_header(out, "countersign_jwks_fetches_total", "JWKS fetches by URI and result.", "counter");
        if (svc && svc->jwks()) {
            for (const auto& s : svc->jwks()->stats()) {
                write_sample(out, "countersign_jwks_fetches_total", {{"uri", s.uri}, {"result", "ok"}},
                             static_cast<double>(s.fetch_ok));
                write_sample(out, "countersign_jwks_fetches_total", {{"uri", s.uri}, {"result", "error"}},
                             static_cast<double>(s.fetch_failed));
            }
        }
        std::uint64_t calls = 0, hits = 0, misses = 0;
        if (svc)
            for (const auto& c : svc->introspection_caches()) {
                const auto st = c->stats();
                calls += st.calls;
                hits += st.hits;
                misses += st.misses;
            }
        write_header(out, "countersign_introspection_requests_total",
                     "Introspection requests sent to authorization servers.", "counter");
        write_sample(out, "countersign_introspection_requests_total", {}, static_cast<double>(calls));
        write_header(out, "countersign_introspection_cache_hits_total", "Introspection answers served from the cache.",
                     "counter");
        write_sample(out, "countersign_introspection_cache_hits_total", {}, static_cast<double>(hits));
        write_header(out, "countersign_introspection_cache_misses_total",
                     "Introspections that were not in the cache.", "counter");
        write_sample(out, "countersign_introspection_cache_misses_total", {}, static_cast<double>(misses));

        write_header(out, "countersign_keyset_generation_age_seconds",
                     "Seconds since the current key generation of each keyset was installed.", "gauge");
        if (svc) {
            const auto now = svc->clk().unix_seconds();
            for (const auto& ks : svc->keysets().list())
                write_sample(out, "countersign_keyset_generation_age_seconds", {{"keyset", ks->name()}},
                             static_cast<double>(std::max<std::int64_t>(0, now - ks->updated_at())));
        }
    });
}

}  // namespace countersign::jwt_signer
