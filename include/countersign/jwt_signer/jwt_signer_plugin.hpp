#pragma once
// The jwt-signer plugin (Kong priority 1020): for the access token, then the
// channel token — locate (and remove) the incoming header, authenticate
// (token_authenticator), map a consumer once per request, re-sign with the
// gateway's keys into `<t>_upstream_header`, and forward the original token
// in `original_<t>_upstream_header`. Every failure ends the request with
// Kong's answer (auth_response.hpp); the detailed reason goes to the log.

#include <countersign/jwt_signer/consumer_mapper.hpp>
#include <countersign/jwt_signer/jwt_signer_config.hpp>
#include <countersign/jwt_signer/jwt_signer_services.hpp>
#include <countersign/jwt_signer/token_authenticator.hpp>
#include <countersign/jwt_signer/token_cache.hpp>
#include <countersign/observability/metrics.hpp>
#include <countersign/pipeline/plugin.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace countersign::jwt_signer {

class jwt_signer_plugin final : public pipeline::plugin {
public:
    static constexpr std::string_view plugin_name = "jwt-signer";
    static constexpr int plugin_priority = 1020;

    static pipeline::plugin_descriptor descriptor();

    /// `services` is node-wide and must outlive the plugin.
    /// `token_cache_size`: entries of the verified-token and minted-token
    /// caches per token slot (node setting; 0 turns both off).
    jwt_signer_plugin(jwt_signer_config cfg, std::shared_ptr<jwt_signer_services> services,
                      const clock& clk = clock::system(), std::size_t token_cache_size = 16384);

    std::string_view name() const override { return plugin_name; }
    int priority() const override { return plugin_priority; }
    net::awaitable<void> access(pipeline::request_context& ctx) const override;

    const jwt_signer_config& config() const noexcept { return cfg_; }

    /// Entries cached for a slot (tests): verified-token, minted-token.
    std::pair<std::size_t, std::size_t> cache_sizes(token_kind k) const;

private:
    struct slot_runtime {
        const token_slot_config* cfg = nullptr;
        std::unique_ptr<token_authenticator> authenticator;
        std::unique_ptr<claims_transform> transform;
        std::unique_ptr<minted_token_cache> minted;
        observability::counter* signings = nullptr;  ///< countersign_signings_total{keyset, alg}
    };
    struct consumer_mappers {
        std::shared_ptr<const consumer_table> table;
        /// [slot][0 = introspection, 1 = payload], in Kong's order.
        std::unique_ptr<consumer_mapper> by_slot[2][2];
    };

    /// The consumer mappers of the config this instance belongs to (built
    /// once, on the first request, from ctx.config).
    const consumer_mappers& mappers(const pipeline::request_context& ctx) const;

    /// The signing keyset: fetched from a URL (keyset_is_url), or a named
    /// keyset of the node, made again if it was deleted.
    net::awaitable<result<keyset_ptr>> url_signing_keyset(const signing_settings& s, int slot, std::string& why) const;
    result<keyset_ptr> named_signing_keyset(const signing_settings& s, int slot, std::string& why) const;
    /// Whether this request checks keyset_rotate_period: at most once a
    /// second per slot, since the check takes the node-wide rotation lock.
    bool rotation_check_due(int slot, std::chrono::seconds period) const;
    void reject(pipeline::request_context& ctx, token_kind kind, const auth_status& st, claim_source source,
                step_timer& timer) const;

    jwt_signer_config cfg_;
    std::shared_ptr<jwt_signer_services> services_;
    const clock& clock_;
    slot_runtime access_;
    slot_runtime channel_;
    /// Per slot: the steady time (ns) before which no request checks
    /// keyset_rotate_period.
    mutable std::atomic<std::int64_t> rotation_check_after_[2]{};
    mutable std::once_flag mappers_once_;
    mutable consumer_mappers mappers_;
};

}  // namespace countersign::jwt_signer
