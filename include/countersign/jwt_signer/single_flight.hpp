// Coalesces concurrent asynchronous calls for one key into one call.
//
// The first caller for a key starts the producer (as its own coroutine, on
// the caller's executor); every caller for that key, including the first, is
// suspended until the producer finishes and then gets a copy of its result,
// resumed on its *own* executor. Nobody blocks a thread. Used by the JWKS
// cache (one fetch per URI) and the introspection cache (one call per token).
#pragma once

#include <countersign/core/net.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/errc.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace countersign::jwt_signer {

/// @tparam Value the success type; callers receive `result<Value>` (so copy
/// it cheaply: a shared_ptr is typical).
///
/// @par Thread safety
/// `run` may be called from any thread and executor. The single_flight must
/// outlive every producer it started (make it a member of a long-lived cache).
template <class Value>
class single_flight {
public:
    using result_type = result<Value>;

    explicit single_flight(std::size_t shards = 16) : shard_count_(shards ? shards : 1), shards_(new shard[shard_count_]) {}

    single_flight(const single_flight&) = delete;
    single_flight& operator=(const single_flight&) = delete;

    /// Returns the result of `make()` for `key`, calling `make` only if no
    /// call for `key` is already in flight.
    /// @param make a callable returning `net::awaitable<result<Value>>`. It
    ///   runs in a separate coroutine, so it must own (capture by value)
    ///   everything it uses. An exception escaping it becomes
    ///   `errc::operation_canceled` for every waiter. Pass a named lambda
    ///   (`std::move(producer)`), not a temporary written inside the
    ///   `co_await` expression: GCC 12 mis-destroys capturing lambda
    ///   temporaries there (GCC PR 101367).
    template <class Make>
    net::awaitable<result_type> run(std::string key, Make make)
    {
        auto ex = co_await net::this_coro::executor;
        shard& sh = shard_for(key);
        co_return co_await net::async_initiate<const net::use_awaitable_t<>&, void(result_type)>(
            [this, &sh, &key, &make, ex](auto handler) {
                bool leader = false;
                {
                    std::lock_guard lock(sh.mutex);
                    auto& f = sh.flights[key];
                    if (!f) {
                        f = std::make_shared<flight>();
                        leader = true;
                    }
                    f->waiters.push_back(std::make_unique<waiter<decltype(handler)>>(std::move(handler)));
                }
                if (leader)
                    net::co_spawn(ex, produce(&sh, std::move(key), std::move(make)), net::detached);
            },
            net::use_awaitable);
    }

    /// Keys with a call in flight (for tests and metrics).
    std::size_t in_flight() const
    {
        std::size_t n = 0;
        for (std::size_t i = 0; i < shard_count_; ++i) {
            std::lock_guard lock(shards_[i].mutex);
            n += shards_[i].flights.size();
        }
        return n;
    }

private:
    struct waiter_base {
        virtual ~waiter_base() = default;
        virtual void complete(const result_type& r) = 0;
    };

    template <class Handler>
    struct waiter final : waiter_base {
        explicit waiter(Handler h) : handler(std::move(h)) {}
        void complete(const result_type& r) override
        {
            // Resume each waiter on its own executor, never inline on the producer's.
            auto ex = net::get_associated_executor(handler);
            net::post(ex, [h = std::move(handler), r]() mutable { std::move(h)(std::move(r)); });
        }
        Handler handler;
    };

    struct flight {
        std::vector<std::unique_ptr<waiter_base>> waiters;
    };

    struct shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, std::shared_ptr<flight>> flights;
    };

    shard& shard_for(const std::string& key) { return shards_[std::hash<std::string>{}(key) % shard_count_]; }

    template <class Make>
    net::awaitable<void> produce(shard* sh, std::string key, Make make)
    {
        result_type r = make_error_code(boost::system::errc::operation_canceled);
        try {
            r = co_await make();
        } catch (...) {
        }
        std::shared_ptr<flight> f;
        {
            std::lock_guard lock(sh->mutex);
            auto it = sh->flights.find(key);
            f = std::move(it->second);
            sh->flights.erase(it);
        }
        for (auto& w : f->waiters)
            w->complete(r);
    }

    std::size_t shard_count_;
    std::unique_ptr<shard[]> shards_;
};

}  // namespace countersign::jwt_signer
