#pragma once
// The node-wide state of the jwt-signer plugin, shared by every worker and
// every config generation: the JWKS cache, the introspection caches, the
// signing keysets (file keystore under `<data_dir>/keys`) and the fetching
// of URL keysets. One instance per process, held in
// pipeline::plugin_services::jwt_signer; created by the first jwt-signer
// plugin built when main() did not create it.

#include <countersign/core/clock.hpp>
#include <countersign/core/net.hpp>
#include <countersign/http_client/client.hpp>
#include <countersign/jwt_signer/introspection_cache.hpp>
#include <countersign/jwt_signer/jwks_cache.hpp>
#include <countersign/jwt_signer/keyset_manager.hpp>
#include <countersign/jwt_signer/single_flight.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace countersign::jwt_signer {

/// How to fetch a URL keyset (`<t>_keyset_client_*`, `<t>_endpoints_ssl_verify`).
struct keyset_fetch_options {
    http_client::tls_options tls;
    std::optional<http_client::basic_credentials> basic;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds read_timeout{10000};
};

class jwt_signer_services {
public:
    /// Opens the keystore under `<data_dir>/keys` and loads every keyset.
    /// A corrupt or unreadable key file fails with a message naming it;
    /// keys are never regenerated silently.
    static keys_result<std::shared_ptr<jwt_signer_services>> open(const std::filesystem::path& data_dir,
                                                                  const clock& clk = clock::system(),
                                                                  std::chrono::seconds jwks_refetch_throttle =
                                                                      std::chrono::seconds(300));

    /// With an explicit keystore (tests, a future database backend).
    jwt_signer_services(std::shared_ptr<keystore> store, const clock& clk,
                        std::chrono::seconds jwks_refetch_throttle = std::chrono::seconds(300));

    const std::shared_ptr<jwks_cache>& jwks() const noexcept { return jwks_; }
    keyset_manager& keysets() noexcept { return *keysets_; }
    const std::shared_ptr<keyset_manager>& keyset_manager_ptr() const noexcept { return keysets_; }

    /// The node-wide introspection cache for one (max TTL, inactive TTL)
    /// policy; configs that agree share one cache.
    std::shared_ptr<introspection_cache> introspection(std::chrono::seconds max_ttl, std::chrono::seconds inactive_ttl);

    /// Every introspection cache created so far (metrics).
    std::vector<std::shared_ptr<introspection_cache>> introspection_caches() const;

    /// A URL keyset: the installed one, or fetched (one fetch for concurrent
    /// callers) and installed when absent or `force`d.
    net::awaitable<keys_result<keyset_ptr>> url_keyset(std::string url, keyset_fetch_options options, bool force);

    /// Fetches a private JWKS document (no install).
    net::awaitable<keys_result<nlohmann::json>> fetch_private_jwks(std::string url, keyset_fetch_options options);

    /// The options last used to fetch `url` (for periodic rotation and the
    /// admin rotate without a body).
    std::optional<keyset_fetch_options> known_fetch_options(std::string_view url) const;

    /// Periodic rotation (`<t>_keyset_rotate_period`): when the keyset is due,
    /// starts one rotation in the background (generation runs on its own
    /// thread, URL keysets are refetched) and returns at once. Failures are
    /// retried with Kong's backoff (30 s, 60 s, ... capped at the period).
    void maybe_rotate(const std::string& name, std::chrono::seconds period, const keyset_fetch_options* url_options,
                      net::any_io_executor ex);

    const clock& clk() const noexcept { return clock_; }

    /// A new config generation is running (hot reload): drops the
    /// verified-token and minted-token caches. Keys, the JWKS cache and the
    /// introspection caches are kept. Thread-safe.
    void config_reloaded();

private:
    const clock& clock_;
    std::shared_ptr<jwks_cache> jwks_;
    std::shared_ptr<keyset_manager> keysets_;
    mutable std::mutex mutex_;
    std::map<std::pair<long, long>, std::shared_ptr<introspection_cache>> introspection_;
    std::map<std::string, keyset_fetch_options, std::less<>> fetch_options_;
    struct rotation_state {
        bool running = false;
        std::chrono::steady_clock::time_point not_before{};
        int failures = 0;
    };
    std::map<std::string, rotation_state, std::less<>> rotations_;
    single_flight<keyset_ptr> keyset_flights_;
};

}  // namespace countersign::jwt_signer
