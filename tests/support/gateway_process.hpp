// Runs the real `countersign` binary (COUNTERSIGN_BINARY) for integration tests.
//
// gateway_process writes the YAML config into a fresh temp dir, starts the
// binary with `--config <file>`, captures stdout/stderr into files in that
// dir and waits until the proxy and admin ports accept connections.
//
// Placeholders replaced in the YAML text (and in `vars` values):
//   {{PROXY_PORT}} {{ADMIN_PORT}} {{TLS_PORT}}  free loopback ports chosen here
//   {{DIR}}          the temp dir (data_dir, log files, certificates…)
//   {{SOURCE_DIR}}   COUNTERSIGN_SOURCE_DIR, {{SHARED_DIR}} COUNTERSIGN_SHARED_DIR
//   {{NAME}}         any entry of gateway_options::vars
// When the YAML has no `proxy_listen` / `admin_listen` key, the process gets
// COUNTERSIGN_PROXY_LISTEN=127.0.0.1:<proxy_port> and
// COUNTERSIGN_ADMIN_LISTEN=127.0.0.1:<admin_port> so tests never bind the
// default 8000/8001.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace countersign::test {

/// A loopback TCP port that was free a moment ago (bind 127.0.0.1:0, read it, close).
std::uint16_t free_port();

/// The smallest proxy config: one service "echo" at 127.0.0.1:`upstream_port`
/// with one route for "/". `node_yaml` (indented two spaces) becomes the
/// `countersign:` section when not empty; `service_yaml` (indented four)
/// adds keys to the service.
std::string one_route_yaml(std::uint16_t upstream_port, const std::string& node_yaml = "",
                           const std::string& service_yaml = "");

/// Replaces every `{{NAME}}` of `vars` in `text`.
std::string render(std::string text, const std::map<std::string, std::string>& vars);

struct gateway_options {
    std::string config_yaml;                      ///< the config, with placeholders
    std::map<std::string, std::string> vars;      ///< extra placeholders
    std::vector<std::string> extra_args;          ///< appended after `--config FILE`
    std::vector<std::pair<std::string, std::string>> env;  ///< extra environment
    /// Set COUNTERSIGN_PROXY_LISTEN / COUNTERSIGN_ADMIN_LISTEN to the chosen
    /// loopback ports when the YAML has no proxy_listen / admin_listen.
    /// Turn off only to test the built-in defaults (8000/8001).
    bool listen_env = true;
    /// Wait for proxy and admin ports (and wait_ports) to accept connections.
    bool wait_ready = true;
    bool wait_admin = true;                       ///< include the admin port in the wait
    bool wait_proxy = true;                       ///< include the proxy port in the wait
    std::vector<std::uint16_t> wait_ports;        ///< also wait for these
    std::chrono::milliseconds ready_timeout{20'000};
};

class gateway_process {
public:
    /// Starts the gateway. With wait_ready, throws std::runtime_error (with
    /// the captured stderr) when it exits or is not ready within the guard.
    explicit gateway_process(gateway_options opts);
    /// Same with just a config text.
    explicit gateway_process(std::string config_yaml);
    /// SIGKILLs the process if it still runs.
    ~gateway_process();

    gateway_process(const gateway_process&) = delete;
    gateway_process& operator=(const gateway_process&) = delete;

    int pid() const { return pid_; }
    std::uint16_t proxy_port() const { return proxy_port_; }
    std::uint16_t admin_port() const { return admin_port_; }
    std::uint16_t tls_port() const { return tls_port_; }
    const temp_dir& dir() const { return dir_; }
    std::filesystem::path config_path() const;
    /// The YAML as written (placeholders replaced).
    const std::string& config_text() const { return config_text_; }

    /// Polls until every port in the options accepts connections; false on
    /// timeout or when the process exited.
    bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));

    void send_signal(int sig);
    /// Exit code once it exited (128 + signal when killed by a signal);
    /// nullopt while it still runs after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    bool running();

    /// Everything the process wrote so far.
    std::string stdout_text() const;
    std::string stderr_text() const;
    /// Polls stdout+stderr until `needle` appears; false on timeout.
    bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

private:
    void start();
    std::vector<std::uint16_t> ready_ports() const;

    gateway_options opts_;
    temp_dir dir_{"countersign-gw"};
    std::string config_text_;
    std::uint16_t proxy_port_ = 0;
    std::uint16_t admin_port_ = 0;
    std::uint16_t tls_port_ = 0;
    int pid_ = -1;
    std::optional<int> exit_code_;
};

struct cli_result {
    int exit_code = -1;  ///< 128 + signal when killed; -1 on timeout
    std::string out;     ///< stdout
    std::string err;     ///< stderr
};

/// Runs `countersign <args>` to completion (cwd = current dir) and captures
/// its exit code and output. Kills it after `timeout`.
cli_result run_cli(const std::vector<std::string>& args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(30),
                   const std::vector<std::pair<std::string, std::string>>& env = {});

/// Path of the countersign binary under test.
std::string binary_path();

/// Absolute path of a file in the source tree (COUNTERSIGN_SOURCE_DIR / rel).
std::filesystem::path source_path(std::string_view rel);

}  // namespace countersign::test
