#include <countersign/core/clock.hpp>

#include <time.h>

namespace countersign {

namespace {
class system_clock_impl final : public clock {
public:
    std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
    std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
};

// libstdc++'s steady_clock is CLOCK_MONOTONIC; the coarse clock counts from
// the same origin. Where it is missing, the precise clock stands in.
std::chrono::steady_clock::duration to_duration(const timespec& ts)
{
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                            std::chrono::nanoseconds(ts.tv_nsec));
}
}  // namespace

std::chrono::steady_clock::time_point coarse_steady_now() noexcept
{
#ifdef CLOCK_MONOTONIC_COARSE
    timespec ts;
    if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return std::chrono::steady_clock::time_point(to_duration(ts));
#endif
    return std::chrono::steady_clock::now();
}

const clock& clock::system()
{
    static const system_clock_impl instance;
    return instance;
}

}  // namespace countersign
