// Injectable clock. Production code takes a `const clock&`; tests pass a
// manual_clock and move time by hand.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace countersign {

class clock {
public:
    virtual ~clock() = default;
    /// Wall-clock time, for JWT `exp`/`nbf`/`iat` (seconds since the epoch).
    virtual std::chrono::system_clock::time_point now() const = 0;
    /// Monotonic time, for cache expiry and throttles.
    virtual std::chrono::steady_clock::time_point steady_now() const = 0;

    std::int64_t unix_seconds() const
    {
        return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
    }

    /// The process-wide real clock.
    static const clock& system();
};

/// steady_clock::now() from the kernel's coarse monotonic clock: a few ns
/// instead of a TSC read, but only good to a few ms (measured on a 2-vCPU VM
/// with 4 ms ticks: from about 1 ms ahead to 7 ms behind). For idle ages of
/// pooled connections, never for deadlines or latencies.
std::chrono::steady_clock::time_point coarse_steady_now() noexcept;

/// A clock that only moves when told to. Thread-safe.
class manual_clock final : public clock {
public:
    explicit manual_clock(std::int64_t unix_seconds = 1'700'000'000) : millis_(unix_seconds * 1000) {}

    std::chrono::system_clock::time_point now() const override
    {
        return std::chrono::system_clock::time_point(std::chrono::milliseconds(millis_.load()));
    }
    std::chrono::steady_clock::time_point steady_now() const override
    {
        return std::chrono::steady_clock::time_point(std::chrono::milliseconds(millis_.load()));
    }
    void advance(std::chrono::milliseconds d) { millis_ += d.count(); }
    void set_unix_seconds(std::int64_t s) { millis_ = s * 1000; }

private:
    std::atomic<std::int64_t> millis_;
};

}  // namespace countersign
