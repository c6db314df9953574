// deadline_stream on real loopback sockets. The tests order events with
// timers (a deadline of 30 ms has passed once a 300 ms sleep is over); none
// depends on how fast the machine is. A guard stops each test's io_context
// after 20 s so that a deadline that never fires fails the test instead of
// hanging it.
#include <countersign/core/clock.hpp>
#include <countersign/core/deadline_stream.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

using namespace countersign;
using namespace std::chrono_literals;
using tcp = net::ip::tcp;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

/// A connected pair: `client` as a deadline_stream, `server` a plain socket.
struct pair_fixture {
    net::io_context ioc{1};
    std::optional<deadline_stream> client;
    tcp::socket server{ioc};

    pair_fixture()
    {
        tcp::acceptor acc(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
        tcp::socket c(ioc);
        c.connect(acc.local_endpoint());
        acc.accept(server);
        client.emplace(std::move(c));
    }

    net::awaitable<void> sleep(std::chrono::milliseconds d)
    {
        net::steady_timer t(ioc, d);
        co_await t.async_wait(use_tuple);
    }

    /// One read on the client; what it got goes to `data`.
    net::awaitable<error_code> read_once(std::string* data = nullptr)
    {
        std::array<char, 16> buf;
        auto [ec, n] = co_await client->async_read_some(net::buffer(buf), use_tuple);
        if (data)
            data->assign(buf.data(), ec ? 0 : n);
        co_return ec;
    }

    /// The server writes `text` after `delay`, while the test body waits.
    void write_later(std::chrono::milliseconds delay, std::string text)
    {
        net::co_spawn(ioc, [this, delay, text]() -> net::awaitable<void> {
            co_await sleep(delay);
            net::write(server, net::buffer(text));
        }, net::detached);
    }

    /// Runs `body` to completion, with a 20 s guard.
    template <class F>
    void run(F body)
    {
        bool done = false;
        net::co_spawn(ioc, [&]() -> net::awaitable<void> {
            co_await body();
            done = true;
        }, net::detached);
        net::steady_timer guard(ioc, 20s);
        guard.async_wait([&](error_code ec) {
            if (!ec)
                ioc.stop();
        });
        while (!done && !ioc.stopped())
            ioc.run_one();
        guard.cancel();
        REQUIRE(done);
    }
};

}  // namespace

TEST_CASE("deadline_stream: a read with nothing to read times out and closes the socket", "[core][deadline]")
{
    pair_fixture f;
    error_code got;
    f.run([&]() -> net::awaitable<void> {
        f.client->expires_after(30ms);
        got = co_await f.read_once();
    });
    CHECK(got == beast::error::timeout);
    CHECK(f.client->timed_out());
    CHECK_FALSE(f.client->socket().is_open());
}

TEST_CASE("deadline_stream: data that arrives in time is read, and the watchdog then leaves the stream alone",
          "[core][deadline]")
{
    pair_fixture f;
    std::string got;
    error_code later;
    f.run([&]() -> net::awaitable<void> {
        f.client->expires_after(200ms);
        net::write(f.server, net::buffer(std::string_view("hello")));
        co_await f.read_once(&got);
        // The 200 ms deadline passes while nothing is in flight...
        f.client->expires_after(1h);
        co_await f.sleep(400ms);
        // ...but it was replaced, so the socket is still open and usable.
        net::write(f.server, net::buffer(std::string_view("again")));
        later = co_await f.read_once();
    });
    CHECK(got == "hello");
    CHECK_FALSE(later);
    CHECK(f.client->socket().is_open());
}

TEST_CASE("deadline_stream: a deadline moved later is honoured after the earlier one has passed", "[core][deadline]")
{
    pair_fixture f;
    error_code got;
    f.run([&]() -> net::awaitable<void> {
        f.client->expires_after(30ms);
        f.client->expires_after(1h);
        f.write_later(300ms, "late");  // only after the first deadline has passed
        got = co_await f.read_once();
    });
    CHECK_FALSE(got);
    CHECK_FALSE(f.client->timed_out());
}

TEST_CASE("deadline_stream: a deadline moved earlier fires at the earlier time", "[core][deadline]")
{
    pair_fixture f;
    error_code got;
    f.run([&]() -> net::awaitable<void> {
        f.client->expires_after(1h);
        f.client->expires_after(30ms);
        got = co_await f.read_once();
    });
    CHECK(got == beast::error::timeout);  // without the re-arm the guard would stop the test after 20 s
}

TEST_CASE("deadline_stream: a deadline that passed while idle fails the next operation until it is reset",
          "[core][deadline]")
{
    pair_fixture f;
    error_code first, second;
    std::string data;
    f.run([&]() -> net::awaitable<void> {
        f.client->expires_after(30ms);
        co_await f.sleep(300ms);
        net::write(f.server, net::buffer(std::string_view("ready")));
        first = co_await f.read_once();
        f.client->expires_after(1h);
        second = co_await f.read_once(&data);
    });
    CHECK(first == beast::error::timeout);
    CHECK_FALSE(second);
    CHECK(data == "ready");  // nothing was lost: the socket stayed open while idle
}

TEST_CASE("deadline_stream: expires_never removes the deadline", "[core][deadline]")
{
    pair_fixture f;
    error_code got;
    f.run([&]() -> net::awaitable<void> {
        f.client->expires_after(30ms);
        f.client->expires_never();
        f.write_later(300ms, "x");
        got = co_await f.read_once();
    });
    CHECK_FALSE(got);
}

TEST_CASE("deadline_stream: a write blocked by a full peer times out", "[core][deadline]")
{
    pair_fixture f;
    error_code got;
    f.run([&]() -> net::awaitable<void> {
        // The server never reads: the socket buffers fill and the write stalls.
        std::string chunk(1 << 20, 'x');
        f.client->expires_after(200ms);
        for (int i = 0; i < 256 && !got; ++i) {
            auto [ec, n] = co_await net::async_write(*f.client, net::buffer(chunk), use_tuple);
            got = ec;
        }
    });
    CHECK(got == beast::error::timeout);
}

TEST_CASE("deadline_stream: Beast's HTTP operations run on it", "[core][deadline]")
{
    pair_fixture f;
    http::request<http::string_body> got;
    error_code rec;
    f.run([&]() -> net::awaitable<void> {
        net::write(f.server, net::buffer(std::string_view("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")));
        beast::flat_buffer buf;
        f.client->expires_after(1h);
        auto [ec, n] = co_await http::async_read(*f.client, buf, got, use_tuple);
        rec = ec;
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "ok";
        res.prepare_payload();
        co_await http::async_write(*f.client, res, use_tuple);
    });
    REQUIRE_FALSE(rec);
    CHECK(got.target() == "/x");
    CHECK(got.body() == "hi");
    std::array<char, 256> buf;
    auto n = f.server.read_some(net::buffer(buf));
    CHECK(std::string_view(buf.data(), n).starts_with("HTTP/1.1 200 OK\r\n"));
}

TEST_CASE("deadline_stream: destroying the stream with a read in flight is safe", "[core][deadline]")
{
    pair_fixture f;
    error_code got;
    bool completed = false;
    std::array<char, 16> buf;
    f.client->expires_after(1h);
    f.client->async_read_some(net::buffer(buf), [&](error_code ec, std::size_t) {
        got = ec;
        completed = true;
    });
    f.client.reset();  // closes the socket; the read completes aborted afterwards
    f.ioc.run_for(5s);
    CHECK(completed);
    CHECK(got == net::error::operation_aborted);
}

TEST_CASE("coarse clock: within a few ms of steady_clock", "[core][deadline]")
{
    // Its documented use (idle ages of pooled connections, timeouts of
    // seconds) tolerates ms; a clock from another origin would be off by far
    // more than 50 ms.
    for (int i = 0; i < 1000; ++i) {
        const auto precise = std::chrono::steady_clock::now();
        const auto coarse = coarse_steady_now();
        REQUIRE(coarse - precise < std::chrono::milliseconds(50));
        REQUIRE(precise - coarse < std::chrono::milliseconds(50));
    }
}
