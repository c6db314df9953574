// Proxy responses on the wire, against a scripted upstream that writes
// exact bytes: a body that arrives after its header, a custom or empty
// reason phrase, 204 and HEAD without a body, an HTTP/1.0 client, and an
// upstream that sends bytes beyond its Content-Length (its connection must
// not be reused). These cover both ways a response leaves the gateway: one
// flat write when it is whole, the serializer and relay when it is not.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"

using namespace countersign::test;

namespace {

/// An upstream that answers each request according to its path, with bytes
/// written exactly as scripted (optionally in two parts with a pause).
class scripted_upstream {
public:
    struct answer {
        std::string first;
        std::chrono::milliseconds pause{0};
        std::string second;
    };

    explicit scripted_upstream(std::map<std::string, answer> script) : script_(std::move(script))
    {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listen_fd_, 16) == 0);
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    ~scripted_upstream()
    {
        stopping_ = true;
        ::shutdown(listen_fd_, SHUT_RDWR);
        ::close(listen_fd_);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (int fd : open_)
                ::shutdown(fd, SHUT_RDWR);
        }
        acceptor_.join();
        for (auto& t : workers_)
            t.join();
    }

    std::uint16_t port() const { return port_; }
    int connections() const { return connections_; }

private:
    void accept_loop()
    {
        for (;;) {
            int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0)
                return;
            if (stopping_) {
                ::close(fd);
                return;
            }
            ++connections_;
            std::lock_guard<std::mutex> lock(mutex_);
            open_.push_back(fd);
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    }

    static bool send_all(int fd, const std::string& s)
    {
        std::size_t off = 0;
        while (off < s.size()) {
            auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }

    void serve(int fd)
    {
        std::string in;
        char buf[4096];
        for (;;) {
            auto end = in.find("\r\n\r\n");
            while (end == std::string::npos) {
                auto n = ::recv(fd, buf, sizeof buf, 0);
                if (n <= 0) {
                    ::close(fd);
                    return;
                }
                in.append(buf, static_cast<std::size_t>(n));
                end = in.find("\r\n\r\n");
            }
            // The test requests carry no body.
            const std::string head = in.substr(0, end);
            in.erase(0, end + 4);
            const auto sp1 = head.find(' ');
            const auto sp2 = head.find(' ', sp1 + 1);
            const std::string target = head.substr(sp1 + 1, sp2 - sp1 - 1);
            auto it = script_.find(target);
            answer a = it != script_.end() ? it->second
                                           : answer{"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", {}, {}};
            if (!send_all(fd, a.first))
                break;
            if (!a.second.empty()) {
                std::this_thread::sleep_for(a.pause);
                if (!send_all(fd, a.second))
                    break;
            }
        }
        ::close(fd);
    }

    std::map<std::string, answer> script_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread acceptor_;
    std::mutex mutex_;
    std::vector<int> open_;
    std::vector<std::thread> workers_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
};

// Everything after the header block of a raw response.
std::string raw_body(const std::string& raw)
{
    auto end = raw.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

}  // namespace

TEST_CASE("proxy: responses reach the client byte-exact, whole or streamed", "[integration][proxy]")
{
    using namespace std::chrono_literals;
    scripted_upstream up({
        {"/split", {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Part: one\r\n\r\n", 300ms, "hello"}},
        {"/partial", {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", 300ms, "world"}},
        {"/reason", {"HTTP/1.1 299 Custom Reason Here\r\nContent-Length: 2\r\n\r\nok", {}, {}}},
        {"/noreason", {"HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\nok", {}, {}}},
        {"/nocontent", {"HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n", {}, {}}},
        {"/head", {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Head: yes\r\n\r\n", {}, {}}},
        {"/extra", {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokTRAILING-GARBAGE", {}, {}}},
        {"/after", {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter", {}, {}}},
    });
    gateway_process gw(one_route_yaml(up.port()));
    const auto port = gw.proxy_port();

    SECTION("a body that arrives after its header")
    {
        auto raw = send_raw(port, "GET /split HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(raw.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(raw.find("\r\nX-Part: one\r\n") != std::string::npos);
        CHECK(raw_body(raw) == "hello");
        auto raw2 = send_raw(port, "GET /partial HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(raw_body(raw2) == "helloworld");
    }
    SECTION("the upstream's reason phrase, or the standard one when it sent none")
    {
        auto raw = send_raw(port, "GET /reason HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(raw.rfind("HTTP/1.1 299 Custom Reason Here\r\n", 0) == 0);
        CHECK(raw_body(raw) == "ok");
        auto raw2 = send_raw(port, "GET /noreason HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(raw2.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(raw_body(raw2) == "ok");
    }
    SECTION("204 and HEAD carry no body, and the connection stays usable")
    {
        auto raw = send_raw(port,
                            "GET /nocontent HTTP/1.1\r\nHost: a\r\n\r\n"
                            "HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n"
                            "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        const auto first = raw.find("HTTP/1.1 204 No Content\r\n");
        const auto second = raw.find("HTTP/1.1 200 OK\r\n", first);
        const auto third = raw.find("HTTP/1.1 200 OK\r\n", second + 1);
        REQUIRE(first == 0);
        REQUIRE(second != std::string::npos);
        REQUIRE(third != std::string::npos);
        const std::string r204 = raw.substr(0, second);
        CHECK(r204.find("\r\nX-Empty: yes\r\n") != std::string::npos);
        CHECK(r204.substr(r204.size() - 4) == "\r\n\r\n");  // nothing after the header
        const std::string rhead = raw.substr(second, third - second);
        CHECK(rhead.find("\r\nContent-Length: 1000\r\n") != std::string::npos);
        CHECK(rhead.substr(rhead.size() - 4) == "\r\n\r\n");
        CHECK(raw_body(raw.substr(third)) == "after");
    }
    SECTION("an HTTP/1.0 client gets an HTTP/1.0 answer and a close")
    {
        auto raw = send_raw(port, "GET /reason HTTP/1.0\r\nHost: a\r\n\r\n");
        CHECK(raw.rfind("HTTP/1.0 299 Custom Reason Here\r\n", 0) == 0);
        CHECK(raw_body(raw) == "ok");
    }
    SECTION("bytes beyond Content-Length: the client gets the body only; the connection is not reused")
    {
        auto raw = send_raw(port, "GET /extra HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(raw_body(raw) == "ok");
        const int before = up.connections();
        auto raw2 = send_raw(port, "GET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        CHECK(raw_body(raw2) == "after");
        CHECK(up.connections() == before + 1);
    }
}
