#include <countersign/core/deadline_stream.hpp>

namespace countersign {

void deadline_stream::arm(const std::shared_ptr<state>& s, clock::time_point t)
{
    s->wake = t;
    s->timer.expires_at(t);  // cancels the previous wait, which is stale from now on
    s->timer.async_wait(watchdog{s, ++s->generation});
}

void deadline_stream::watchdog::operator()(error_code ec) const
{
    state& st = *s;
    if (ec || generation != st.generation)
        return;  // cancelled, or superseded by a wait armed after this one fired
    st.wake = clock::time_point::max();
    if (st.deadline == clock::time_point::max())
        return;
    if (clock::now() < st.deadline) {
        arm(s, st.deadline);  // the deadline moved later while we slept
        return;
    }
    if (st.in_flight == 0) {
        st.lapsed = true;
        return;
    }
    st.timed_out = true;
    error_code ignored;
    st.socket.close(ignored);
}

deadline_stream& deadline_stream::operator=(deadline_stream&& other) noexcept
{
    if (this != &other) {
        shut();
        s_ = std::move(other.s_);
    }
    return *this;
}

void deadline_stream::expires_at(time_point t)
{
    state& st = *s_;
    st.deadline = t;
    st.lapsed = false;
    if (t < st.wake)
        arm(s_, t);
}

void deadline_stream::close() noexcept
{
    state& st = *s_;
    error_code ignored;
    st.socket.close(ignored);
    if (st.wake != clock::time_point::max()) {
        st.wake = clock::time_point::max();
        ++st.generation;
        st.timer.cancel();
    }
}

void deadline_stream::shut() noexcept
{
    if (s_)
        close();
}

}  // namespace countersign
