// One slot's token authentication: classify, verify / introspect, claims.
#include <countersign/jwt_signer/token_authenticator.hpp>

#include <countersign/jwt_signer/introspection_client.hpp>
#include <countersign/jwt_signer/jwks_cache.hpp>
#include <countersign/jwt_signer/jwt_signer_metrics.hpp>

#include <cstdio>

namespace countersign::jwt_signer {

namespace {

slot_outcome failed(auth_errc code, std::string detail, claim_source source = claim_source::payload)
{
    slot_outcome o;
    o.status = auth_fail(code, std::move(detail));
    o.failed_source = source;
    return o;
}

}  // namespace

void step_timer::add_line(std::string step)
{
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "[elapsed: %.3fs] ", s);
    lines_.push_back(buf + std::move(step));
}

token_authenticator::token_authenticator(const token_slot_config& slot, std::shared_ptr<jwks_cache> jwks,
                                         std::shared_ptr<introspection_cache> introspection, const clock& clk,
                                         std::size_t verified_cache_size)
    : slot_(slot),
      verifier_(slot.verifier, jwks),
      payload_checks_(slot.payload_claims),
      introspection_checks_(slot.introspection_claims),
      introspection_(std::move(introspection)),
      jwks_(std::move(jwks)),
      verified_(verified_cache_size > 0 ? std::make_unique<verified_token_cache>(verified_cache_size) : nullptr),
      clock_(clk)
{
}

std::optional<slot_outcome> token_authenticator::authenticate_cached(const token_digest& digest,
                                                                     step_timer& timer) const
{
    // Only JWS tokens that verified are stored, so a hit needs no
    // classification (which decodes and parses the header) either.
    if (!verified_) return std::nullopt;
    const std::uint64_t jwks_change = jwks_ ? jwks_->change_count() : 0;
    const std::int64_t now = clock_.unix_seconds();
    auto hit = verified_->find(digest, now, jwks_change);
    if (!hit) return std::nullopt;

    jwt_signer_metrics::get().verified_hits.inc();
    const auto name = token_display_name(slot_.kind);
    timer.mark(name, " is ", to_string(token_type::jws));
    timer.mark(name, " verified claims from the cache");
    std::optional<slot_outcome> o(std::in_place);
    o->type = token_type::jws;
    o->payload_source = claims_source::jws_payload;
    // The same order as claims_verifier::verify: time checks first.
    if (auto st = payload_checks_.verify_time(*hit->payload, now); !st.ok()) {
        o->status = std::move(st);
        return o;
    }
    if (!hit->static_claims.ok()) {
        o->status = std::move(hit->static_claims);
        return o;
    }
    o->payload = std::move(hit->payload);
    timer.mark(name, " claims verified");
    return o;
}

net::awaitable<slot_outcome> token_authenticator::authenticate_uncached(std::string token, step_timer& timer,
                                                                        const token_digest* digest) const
{
    const auto name = std::string(token_display_name(slot_.kind));
    const bool cached = verified_ && digest;
    // Read before verifying: a JWKS change after this point makes the
    // entry stored below stale.
    const std::uint64_t jwks_change = cached && jwks_ ? jwks_->change_count() : 0;
    const token_type type = classify_token(token);
    timer.mark(name, " is ", to_string(type));

    if (type == token_type::jwe) co_return failed(auth_errc::unsupported_token, "jwe tokens are not supported");
    if (type == token_type::opaque) co_return co_await introspect(std::move(token), timer);

    slot_outcome o;
    o.type = type;
    o.payload_source = claims_source::jws_payload;
    if (cached) jwt_signer_metrics::get().verified_misses.inc();
    auto v = co_await verifier_.verify(std::move(token));
    timer.mark(name, slot_.verifier.verify_signature ? " signature verification" : " decoded (verification off)");
    if (!v.status.ok()) {
        o.status = std::move(v.status);
        co_return o;
    }
    std::optional<std::int64_t> exp_limit;
    if (auto it = v.payload.find("exp"); it != v.payload.end() && it->is_number())
        exp_limit = static_cast<std::int64_t>(it->get<double>()) +
                    static_cast<std::int64_t>(std::max(0.0, slot_.payload_claims.leeway)) + 1;
    o.payload = std::make_shared<const nlohmann::json>(std::move(v.payload));
    const std::int64_t now = clock_.unix_seconds();
    auth_status st = payload_checks_.verify_time(*o.payload, now);
    auth_status static_claims = payload_checks_.verify_static(*o.payload);
    if (st.ok()) st = static_claims;
    if (cached) verified_->store(*digest, o.payload, jwks_change, now, exp_limit, std::move(static_claims));
    if (!st.ok()) {
        o.status = std::move(st);
        o.payload = nullptr;
        co_return o;
    }
    timer.mark(name, " claims verified");
    co_return o;
}

net::awaitable<slot_outcome> token_authenticator::introspect(std::string token, step_timer& timer) const
{
    const auto name = std::string(token_display_name(slot_.kind));
    const auto& in = slot_.introspection;
    if (!in.enabled) co_return failed(auth_errc::unsupported_token, "opaque token and introspection is disabled");
    if (in.endpoint.empty() || !introspection_)
        co_return failed(auth_errc::introspection_not_configured, "opaque token and no introspection endpoint");

    introspection_request req;
    req.endpoint = in.endpoint;
    req.token = std::move(token);
    req.hint = in.hint;
    req.authorization = in.authorization;
    req.body_args = in.body_args;
    req.timeout = in.timeout;
    req.tls = in.tls;
    auto answer = co_await introspection_->introspect(std::move(req), in.cache);
    timer.mark(name, " introspected");
    if (!answer) {
        if (answer.error() == introspection_error::inactive)
            co_return failed(auth_errc::inactive, "introspection: token is not active", claim_source::introspection);
        co_return failed(auth_errc::introspection_failed, "introspection failed: " + answer.error().message(),
                         claim_source::introspection);
    }
    const auto& doc = **answer;
    if (auto st = introspection_checks_.verify(doc, clock_); !st.ok()) {
        slot_outcome o;
        o.status = std::move(st);
        o.failed_source = claim_source::introspection;
        co_return o;
    }

    slot_outcome o;
    o.introspection = *answer;
    o.type = token_type::opaque;
    if (!in.jwt_claim.empty()) {
        const auto* jwt = in.jwt_claim.lookup(doc);
        if (!jwt || !jwt->is_string())
            co_return failed(auth_errc::introspection_jwt_claim,
                             "introspection: no JWT at " + in.jwt_claim.to_string(), claim_source::introspection);
        auto decoded = decode_jws_unverified(jwt->get<std::string>(), slot_.verifier.max_token_bytes);
        if (!decoded.status.ok())
            co_return failed(auth_errc::introspection_jwt_claim,
                             "introspection: " + in.jwt_claim.to_string() + " is not a JWT: " + decoded.status.detail,
                             claim_source::introspection);
        o.payload = std::make_shared<const nlohmann::json>(std::move(decoded.payload));
        o.payload_source = claims_source::jws_payload;
    } else {
        o.payload = *answer;
        o.payload_source = claims_source::introspection;
    }
    if (!in.trust) {
        if (auto st = payload_checks_.verify(*o.payload, clock_); !st.ok()) {
            o.status = std::move(st);
            o.failed_source = claim_source::payload;
            co_return o;
        }
    }
    timer.mark(name, " claims verified");
    co_return o;
}

}  // namespace countersign::jwt_signer
