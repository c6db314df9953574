#include <countersign/core/clock.hpp>

namespace countersign {

namespace {
class system_clock_impl final : public clock {
public:
    std::chrono::system_clock::time_point now() const override { return std::chrono::system_clock::now(); }
    std::chrono::steady_clock::time_point steady_now() const override { return std::chrono::steady_clock::now(); }
};
}  // namespace

const clock& clock::system()
{
    static const system_clock_impl instance;
    return instance;
}

}  // namespace countersign
