// The command line of the real binary: check, --version, --help, start-up errors.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "support/gateway_process.hpp"
#include "support/temp_dir.hpp"

using namespace countersign::test;

namespace {

const char* valid_config = R"(_format_version: "3.0"
services:
  - name: orders
    url: http://127.0.0.1:9/v1
    routes:
      - name: orders-route
        paths: ["/orders"]
  - name: users
    url: http://127.0.0.1:9
routes:
  - name: users-route
    service: {name: users}
    paths: ["/users"]
consumers:
  - username: alice
)";

// Two independent mistakes: every one must be reported.
const char* invalid_config = R"(_format_version: "3.0"
services:
  - name: orders
    url: http://127.0.0.1:9
    routes:
      - name: orders-route
        paths: ["orders"]
    colour: blue
)";

// Holds a loopback port bound (and listening) for the life of the object.
class port_holder {
public:
    port_holder()
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 1) == 0);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
    }
    ~port_holder() { ::close(fd_); }
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("cli: --version prints the version", "[integration][cli]")
{
    auto r = run_cli({"--version"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(std::string("countersign ") + COUNTERSIGN_VERSION) != std::string::npos);
}

TEST_CASE("cli: --version names the allocator the binary was linked with", "[integration][cli]")
{
    auto r = run_cli({"--version"});
    CHECK(r.exit_code == 0);
#if COUNTERSIGN_EXPECT_JEMALLOC
    // jemalloc answered mallctl("version"): it is the malloc in use, not only linked.
    CHECK(r.out.find("allocator: jemalloc 5.") != std::string::npos);
#else
    CHECK(r.out.find("allocator: system malloc") != std::string::npos);
#endif
}

TEST_CASE("cli: --help lists the commands and exit codes", "[integration][cli]")
{
    auto r = run_cli({"--help"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--config") != std::string::npos);
    CHECK(r.out.find("check") != std::string::npos);
    CHECK(r.out.find("Exit codes") != std::string::npos);
}

TEST_CASE("cli: bad usage exits 2", "[integration][cli]")
{
    CHECK(run_cli({"--no-such-flag"}).exit_code == 2);
    CHECK(run_cli({"check"}).exit_code == 2);  // FILE is required
    auto none = run_cli({});
    CHECK(none.exit_code == 2);
    CHECK(none.err.find("--config") != std::string::npos);
}

TEST_CASE("cli: check accepts a valid file and counts entities", "[integration][cli]")
{
    temp_dir dir;
    auto path = dir.write("ok.yaml", valid_config);
    auto r = run_cli({"check", path.string()});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("configuration OK: 2 services, 2 routes, 0 plugins, 1 consumers") != std::string::npos);
}

TEST_CASE("cli: check prints every error with path and line, exits 1", "[integration][cli]")
{
    temp_dir dir;
    auto path = dir.write("bad.yaml", invalid_config);
    auto r = run_cli({"check", path.string()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("services[0].routes[0].paths[0]: must start with \"/\" (line 7)") != std::string::npos);
    CHECK(r.err.find("services[0].colour: unknown field (line 8)") != std::string::npos);
    CHECK(r.out.find("configuration OK") == std::string::npos);
}

TEST_CASE("cli: check on a missing file exits 1", "[integration][cli]")
{
    auto r = run_cli({"check", "/nonexistent/countersign.yaml"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("/nonexistent/countersign.yaml") != std::string::npos);
}

TEST_CASE("cli: check passes on the shipped quickstart", "[integration][cli]")
{
    auto quickstart = source_path("config/quickstart.yaml");
    if (!std::filesystem::exists(quickstart))
        WARN("config/quickstart.yaml not there yet");
    else {
        auto r = run_cli({"check", quickstart.string()});
        INFO(r.err);
        CHECK(r.exit_code == 0);
    }
}

TEST_CASE("cli: an invalid config never starts the gateway", "[integration][cli]")
{
    temp_dir dir;
    auto path = dir.write("bad.yaml", invalid_config);
    auto r = run_cli({"--config", path.string()}, std::chrono::seconds(20));
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("must start with") != std::string::npos);
}

TEST_CASE("cli: a proxy port in use is a clear error, exit 1", "[integration][cli]")
{
    port_holder taken;
    temp_dir dir;
    auto path = dir.write("ok.yaml", valid_config);
    const std::string listen = "127.0.0.1:" + std::to_string(taken.port());
    auto r = run_cli({"-c", path.string()}, std::chrono::seconds(20),
                     {{"COUNTERSIGN_PROXY_LISTEN", listen},
                      {"COUNTERSIGN_ADMIN_LISTEN", "127.0.0.1:" + std::to_string(free_port())}});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(listen) != std::string::npos);
    CHECK(r.err.find("in use") != std::string::npos);
}

TEST_CASE("cli: an admin port in use is a clear error, exit 1", "[integration][cli]")
{
    port_holder taken;
    temp_dir dir;
    auto path = dir.write("ok.yaml", valid_config);
    const std::string listen = "127.0.0.1:" + std::to_string(taken.port());
    auto r = run_cli({"--config", path.string()}, std::chrono::seconds(20),
                     {{"COUNTERSIGN_PROXY_LISTEN", "127.0.0.1:" + std::to_string(free_port())},
                      {"COUNTERSIGN_ADMIN_LISTEN", listen}});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find(listen) != std::string::npos);
    CHECK(r.err.find("in use") != std::string::npos);
}
