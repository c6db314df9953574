#pragma once
// Node-wide registry of signing keysets. Readers (every re-signing request)
// take a std::shared_ptr<const keyset> snapshot without locking a mutex: the
// name -> keyset map is itself an immutable object published through an
// atomic shared_ptr (RCU style). Writers (first use, rotation, removal) are
// serialised by one mutex, always persist through the keystore BEFORE
// publishing, and never block readers. A request that took a snapshot keeps
// signing with it, so a rotation never fails a request in flight.
//
// Key generation (slow: six RSA keys) runs outside the writer mutex.
//
// This class is synchronous and knows nothing about HTTP: fetching URL
// keysets, the admin endpoints and periodic timers call into it.

#include "countersign/core/clock.hpp"
#include "countersign/jwt_signer/keyset.hpp"
#include "countersign/jwt_signer/keystore.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::jwt_signer {

class keyset_manager {
public:
    /// `store` is shared (the manager keeps it alive); `clk` must outlive the
    /// manager. Call load_all() before serving.
    explicit keyset_manager(std::shared_ptr<keystore> store, const clock& clk = clock::system());

    keyset_manager(const keyset_manager&) = delete;
    keyset_manager& operator=(const keyset_manager&) = delete;

    /// Start-up: loads every stored keyset and replaces the in-memory map.
    /// Any unreadable/corrupt record is a hard error (keys_errc::corrupt /
    /// io_error / insecure_permissions, message names the file); keys are
    /// never regenerated silently. Returns the number of keysets loaded.
    keys_result<std::size_t> load_all();

    /// Snapshot of a keyset by name or id; nullptr when unknown. Lock-free.
    keyset_ptr find(std::string_view name_or_id) const;

    /// The named keyset, generating, persisting and then publishing it on
    /// first use. Looks in the keystore before generating (another node may
    /// have created it). For a URL name this never generates: not_found
    /// until rotate_with() installs the fetched JWKS.
    /// Errors: invalid_name, generation_failed, io_error, corrupt.
    keys_result<keyset_ptr> get_or_create(std::string_view name, const keyset_options& options = {});

    /// New generation for a generated keyset: current -> previous, the old
    /// previous is dropped, persisted atomically, then published. Options
    /// default to those inferred from the current keys (RSA size, Ed448).
    /// Errors: not_found, unsupported_operation (URL keyset), generation_failed, io_error.
    /// On error the old keyset stays in place (in memory and on disk).
    keys_result<keyset_ptr> rotate(std::string_view name_or_id, std::optional<keyset_options> options = {});

    /// Installs a freshly fetched private JWKS (`{"keys":[...]}`) for a URL
    /// keyset as the new current generation (current -> previous). Creates the
    /// keyset if it does not exist yet (first fetch; previous empty). The JWKS
    /// is validated with keyset::validate_private_jwks.
    /// Errors: invalid_keyset, invalid_name, io_error.
    keys_result<keyset_ptr> rotate_with(std::string_view name_or_id, const nlohmann::json& private_jwks);

    /// Forgets a keyset (store first, then memory). false when unknown.
    keys_result<bool> remove(std::string_view name_or_id);

    /// All keysets, sorted by name. Lock-free.
    std::vector<keyset_ptr> list() const;

    /// True when `name` exists and its current generation is at least
    /// `period` old at `now` (period <= 0: never).
    bool due_for_rotation(std::string_view name_or_id, std::chrono::seconds period,
                          std::chrono::system_clock::time_point now) const;

    /// Age of the current generation (now - updated_at); empty when unknown.
    std::optional<std::chrono::seconds> generation_age(std::string_view name_or_id) const;

    const keystore& store() const noexcept { return *store_; }

private:
    struct registry {
        std::map<std::string, keyset_ptr, std::less<>> by_name;
        std::map<std::string, keyset_ptr, std::less<>> by_id;
    };
    using registry_ptr = std::shared_ptr<const registry>;

    registry_ptr snapshot() const { return registry_.load(std::memory_order_acquire); }
    // Callers hold write_mutex_.
    void publish(const keyset_ptr& ks, const keyset_ptr& replaced);
    void unpublish(const keyset_ptr& ks);
    keys_result<keyset_ptr> persist_and_publish(keyset_record rec, const keyset_ptr& replaced);
    keys_result<keyset_ptr> install_generation(std::string_view name_or_id, const nlohmann::json& keys,
                                               bool create_if_missing);

    std::shared_ptr<keystore> store_;
    const clock& clock_;
    std::mutex write_mutex_;
    std::atomic<registry_ptr> registry_;
};

/// Pure: true when `period` > 0 and `now - updated_at >= period`.
bool due_for_rotation(std::int64_t updated_at_unix, std::chrono::seconds period,
                      std::chrono::system_clock::time_point now) noexcept;

/// Kong's periodic-rotation schedule (reference §2.5), as a small pure state
/// machine: the first run is immediate; after a success the next run is one
/// `period` later; after a failure retries follow 30 s, 60 s, 120 s, ...
/// each capped at `period`, at most 5 retries, then back to the normal period
/// (the failure count restarts).
class rotation_schedule {
public:
    explicit rotation_schedule(std::chrono::seconds period) noexcept : period_(period) {}

    /// Delay before the first run (always zero: Kong runs immediately).
    std::chrono::seconds first_delay() const noexcept { return std::chrono::seconds{0}; }
    /// Call after a successful run; returns the delay until the next run.
    std::chrono::seconds on_success() noexcept;
    /// Call after a failed run; returns the delay until the next run.
    std::chrono::seconds on_failure() noexcept;

    std::chrono::seconds period() const noexcept { return period_; }
    int consecutive_failures() const noexcept { return failures_; }

    static constexpr std::chrono::seconds base_backoff{30};
    static constexpr int max_retries = 5;

private:
    std::chrono::seconds period_;
    int failures_ = 0;
};

/// Pure: delay after the n-th consecutive failure (n >= 1):
/// min(30 s * 2^(n-1), period) for n <= 5, `period` beyond.
std::chrono::seconds rotation_backoff(int consecutive_failures, std::chrono::seconds period) noexcept;

/// A random RFC 4122 version-4 UUID (lowercase, hyphenated).
std::string make_uuid_v4();

}  // namespace countersign::jwt_signer
