// A TCP stream with one deadline, checked by one timer per connection.
//
// beast::tcp_stream arms a timer for every read and every write and cancels
// it when the operation completes: a timer-queue insert, a removal, and a
// cancelled handler run through the scheduler, for each of the four or more
// transfers of a proxied request. Here the deadline is a time point in the
// stream; setting it costs a clock read. A single watchdog wait sleeps until
// the earliest deadline it has been asked about, and when it wakes early (the
// deadline moved later meanwhile) it sleeps again until the current one. The
// timer is touched only when a deadline moves earlier than the watchdog's
// wake-up, which with the usual settings (all timeouts 60 s, keep-alive 75 s)
// happens about once per connection phase, not per transfer.
//
// Semantics follow beast::tcp_stream where the server relies on them:
// - a deadline applies to the operations in flight when it passes: they
//   fail with beast::error::timeout and the socket is closed;
// - a deadline that passes while nothing is in flight makes the next
//   operation fail with beast::error::timeout at once, until a new deadline
//   is set;
// - expires_never() removes the deadline.
// Reads and writes share the deadline (the server never runs both at once
// on one stream). Not thread-safe: use it from its executor only.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/append.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

#include <countersign/core/net.hpp>

namespace countersign {

class deadline_stream {
    using clock = std::chrono::steady_clock;

    struct state {
        explicit state(net::ip::tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

        net::ip::tcp::socket socket;
        net::steady_timer timer;
        clock::time_point deadline = clock::time_point::max();  ///< current deadline
        clock::time_point wake = clock::time_point::max();      ///< when the watchdog wakes; max: not waiting
        unsigned in_flight = 0;                                  ///< reads, writes and connects pending
        bool timed_out = false;                                  ///< the watchdog closed the socket
        bool lapsed = false;                                     ///< the deadline passed with nothing in flight
        unsigned generation = 0;  ///< of the current watchdog wait; older waits are stale

        /// Counts an operation in; false (nothing counted) when the deadline
        /// has already passed and the operation must fail at once.
        bool start() noexcept
        {
            if (lapsed || timed_out)
                return false;
            ++in_flight;
            return true;
        }
        /// Counts an operation out; an abort by the watchdog becomes a timeout.
        error_code finish(error_code ec) noexcept
        {
            --in_flight;
            if (ec && timed_out)
                ec = boost::beast::error::timeout;
            return ec;
        }
    };

    struct watchdog {
        std::shared_ptr<state> s;
        unsigned generation;
        void operator()(error_code ec) const;
    };
    static void arm(const std::shared_ptr<state>& s, clock::time_point t);

public:
    using executor_type = net::any_io_executor;
    using socket_type = net::ip::tcp::socket;
    using lowest_layer_type = deadline_stream;
    using duration = clock::duration;
    using time_point = clock::time_point;

    explicit deadline_stream(const executor_type& ex) : s_(std::make_shared<state>(socket_type(ex))) {}
    explicit deadline_stream(socket_type socket) : s_(std::make_shared<state>(std::move(socket))) {}
    deadline_stream(deadline_stream&&) noexcept = default;
    deadline_stream& operator=(deadline_stream&& other) noexcept;
    deadline_stream(const deadline_stream&) = delete;
    deadline_stream& operator=(const deadline_stream&) = delete;
    ~deadline_stream() { shut(); }

    executor_type get_executor() noexcept { return s_->socket.get_executor(); }
    socket_type& socket() noexcept { return s_->socket; }
    const socket_type& socket() const noexcept { return s_->socket; }
    deadline_stream& lowest_layer() noexcept { return *this; }

    /// Sets the deadline of the operations started from now on (and of those
    /// in flight). Clears a passed deadline.
    void expires_at(time_point t);
    void expires_after(duration d) { expires_at(clock::now() + d); }
    void expires_never() { expires_at(time_point::max()); }
    /// The current deadline (time_point::max() for none).
    time_point expiry() const noexcept { return s_->deadline; }

    /// True once the watchdog closed the socket for a passed deadline.
    bool timed_out() const noexcept { return s_->timed_out; }

    /// Closes the socket (operations in flight fail) and stops the watchdog.
    void close() noexcept;

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token)
    {
        return net::async_initiate<ReadToken, void(error_code, std::size_t)>(initiate_transfer<false>{&s_}, token,
                                                                             buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token)
    {
        return net::async_initiate<WriteToken, void(error_code, std::size_t)>(initiate_transfer<true>{&s_},
                                                                              token, buffers);
    }

    /// Completion handler wrapper: counts the operation out and reports an
    /// abort caused by the watchdog as beast::error::timeout. Carries the
    /// wrapped handler's executor, allocator and cancellation slot.
    template <class Handler>
    struct completion {
        Handler handler_;
        std::shared_ptr<state> s_;

        template <class... Args>
        void operator()(error_code ec, Args&&... args)
        {
            std::move(handler_)(s_->finish(ec), std::forward<Args>(args)...);
        }
    };

    /// For an operation started on socket() directly (for example
    /// net::async_connect), so that the deadline applies to it: call begin()
    /// before starting it and end() with its result. begin() returns false,
    /// and the operation must not be started, when the deadline has already
    /// passed; end() maps an abort by the watchdog to beast::error::timeout.
    bool begin() noexcept { return s_->start(); }
    error_code end(error_code ec) noexcept { return s_->finish(ec); }

private:
    template <bool Write>
    struct initiate_transfer {
        const std::shared_ptr<state>* sp;

        template <class Handler, class Buffers>
        void operator()(Handler&& handler, const Buffers& buffers) const
        {
            state* s = sp->get();
            if (!s->start()) {
                error_code ec = boost::beast::error::timeout;
                net::post(s->socket.get_executor(),
                          net::append(std::forward<Handler>(handler), ec, std::size_t{0}));
                return;
            }
            // The handler keeps the state alive: the socket's operation may
            // complete (aborted) after the stream object is gone.
            completion<std::decay_t<Handler>> c{std::forward<Handler>(handler), *sp};
            if constexpr (Write)
                s->socket.async_write_some(buffers, std::move(c));
            else
                s->socket.async_read_some(buffers, std::move(c));
        }
    };

    void shut() noexcept;

    std::shared_ptr<state> s_;
};

}  // namespace countersign

// The wrapper is transparent to Asio: the wrapped handler's associated
// executor, allocator and cancellation slot are the wrapper's.
template <template <typename, typename> class Associator, typename Handler, typename DefaultCandidate>
struct boost::asio::associator<Associator, countersign::deadline_stream::completion<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
    static typename Associator<Handler, DefaultCandidate>::type get(
        const countersign::deadline_stream::completion<Handler>& h) noexcept
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler_);
    }
    static auto get(const countersign::deadline_stream::completion<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler_, c))
    {
        return Associator<Handler, DefaultCandidate>::get(h.handler_, c);
    }
};
