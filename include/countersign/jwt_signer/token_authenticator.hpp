#pragma once
// Authenticates one extracted token of one slot (reference §3.1 steps 3-5):
// classify, verify the JWS or introspect the opaque token (with the cache,
// `introspection_jwt_claim`, `trust_<t>_introspection`), then the claim
// checks. Consumer mapping and re-signing are the plugin's (they span both
// slots). No I/O outside co_await; no exceptions for expected failures.

#include <countersign/core/clock.hpp>
#include <countersign/core/net.hpp>
#include <countersign/jwt_signer/claims_transform.hpp>
#include <countersign/jwt_signer/claims_verifier.hpp>
#include <countersign/jwt_signer/introspection_cache.hpp>
#include <countersign/jwt_signer/jwt_signer_config.hpp>
#include <countersign/jwt_signer/token_cache.hpp>
#include <countersign/jwt_signer/token_verifier.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

/// Step timings for `enable_instrumentation`.
class step_timer {
public:
    explicit step_timer(bool enabled)
        : enabled_(enabled), start_(enabled ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{})
    {
    }
    bool enabled() const noexcept { return enabled_; }
    /// Records the concatenated parts as one step, with the elapsed time
    /// since the start. Nothing is built when the timer is off (the
    /// per-request case).
    template <class... Parts>
    void mark(const Parts&... parts)
    {
        if (!enabled_) return;
        std::string step;
        (step.append(std::string_view(parts)), ...);
        add_line(std::move(step));
    }
    /// "[elapsed: 0.001s] access token present; [elapsed: 0.004s] ..." lines.
    const std::vector<std::string>& lines() const noexcept { return lines_; }

private:
    void add_line(std::string step);

    bool enabled_;
    std::chrono::steady_clock::time_point start_;
    std::vector<std::string> lines_;
};

/// What authenticating one token produced.
struct slot_outcome {
    auth_status status;
    /// Where a failed claim check looked (for Kong's expiry wordings).
    claim_source failed_source = claim_source::payload;
    token_type type = token_type::opaque;
    /// The claims to re-sign: JWS payload, introspection JSON, or the payload
    /// of the JWT at `introspection_jwt_claim`. Shared, not copied, with the
    /// verified-token cache and the introspection cache. Null on failure.
    std::shared_ptr<const nlohmann::json> payload;
    claims_source payload_source = claims_source::jws_payload;
    /// The introspection answer when the token was introspected.
    std::shared_ptr<const nlohmann::json> introspection;
};

class token_authenticator {
public:
    /// `introspection` may be null when the slot cannot introspect.
    /// `verified_cache_size` 0 turns the verified-token cache off.
    token_authenticator(const token_slot_config& slot, std::shared_ptr<jwks_cache> jwks,
                        std::shared_ptr<introspection_cache> introspection, const clock& clk,
                        std::size_t verified_cache_size = 0);

    /// The warm path, without a coroutine: the outcome for a token found in
    /// the verified-token cache (its claims, the cached result of the static
    /// claim checks, and the time checks run now), or nullopt on a miss or
    /// when the cache is off.
    std::optional<slot_outcome> authenticate_cached(const token_digest& digest, step_timer& timer) const;

    /// The cold path: classify, verify or introspect, check claims, and
    /// remember a verified JWS (when `digest`, digest_token(token), is
    /// given; null skips the cache). Does not look the token up in the
    /// cache: call authenticate_cached() first.
    net::awaitable<slot_outcome> authenticate_uncached(std::string token, step_timer& timer,
                                                       const token_digest* digest) const;

    bool verified_cache_enabled() const noexcept { return verified_ != nullptr; }
    /// Entries in the verified-token cache (tests).
    std::size_t verified_cache_size() const { return verified_ ? verified_->size() : 0; }

    const token_verifier& verifier() const noexcept { return verifier_; }

private:
    net::awaitable<slot_outcome> introspect(std::string token, step_timer& timer) const;

    const token_slot_config& slot_;
    token_verifier verifier_;
    claims_verifier payload_checks_;
    claims_verifier introspection_checks_;
    std::shared_ptr<introspection_cache> introspection_;
    std::shared_ptr<jwks_cache> jwks_;
    std::unique_ptr<verified_token_cache> verified_;
    const clock& clock_;
};

}  // namespace countersign::jwt_signer
