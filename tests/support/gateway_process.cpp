#include "support/gateway_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"

extern char** environ;

namespace countersign::test {

namespace {

using namespace std::chrono_literals;

// Starts `argv` with stdout/stderr redirected to the given files and the
// current environment plus `extra` (which wins). Everything the child needs
// is prepared before fork(): between fork and exec only async-signal-safe
// calls are allowed, and the test process is multi-threaded.
int spawn(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& extra,
          const std::filesystem::path& out_path, const std::filesystem::path& err_path)
{
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        auto name = kv.substr(0, eq);
        bool overridden = false;
        for (const auto& [k, v] : extra)
            overridden = overridden || k == name;
        if (!overridden)
            env_strings.emplace_back(kv);
    }
    for (const auto& [k, v] : extra)
        env_strings.push_back(k + "=" + v);

    std::vector<char*> cargv;
    for (const auto& a : argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::vector<char*> cenv;
    for (const auto& e : env_strings)
        cenv.push_back(const_cast<char*>(e.c_str()));
    cenv.push_back(nullptr);

    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0)
        throw std::runtime_error("spawn: cannot open output files in " + out_path.parent_path().string());

    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(null_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execve(cargv[0], cargv.data(), cenv.data());
        const char msg[] = "spawn: execve failed\n";
        [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
        ::_exit(127);
    }
    ::close(out_fd);
    ::close(err_fd);
    ::close(null_fd);
    if (pid < 0)
        throw std::runtime_error(std::string("spawn: fork failed: ") + std::strerror(errno));
    return pid;
}

int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

// Reaps `pid` if it exited; the exit code, or nullopt while it runs.
std::optional<int> try_reap(int pid)
{
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid)
        return decode_status(status);
    if (r < 0)
        return -1;  // not our child any more (already reaped)
    return std::nullopt;
}

std::optional<int> reap_within(int pid, std::chrono::milliseconds timeout)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (auto code = try_reap(pid))
            return code;
        if (std::chrono::steady_clock::now() >= until)
            return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
}

}  // namespace

std::uint16_t free_port()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error("free_port: socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("free_port: bind failed");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string one_route_yaml(std::uint16_t upstream_port, const std::string& node_yaml, const std::string& service_yaml)
{
    std::string out = "_format_version: \"3.0\"\n";
    if (!node_yaml.empty())
        out += "countersign:\n" + node_yaml;
    out += "services:\n  - name: echo\n    url: http://127.0.0.1:" + std::to_string(upstream_port) + "\n" +
           service_yaml + "    routes:\n      - name: all\n        paths: [\"/\"]\n";
    return out;
}

std::string render(std::string text, const std::map<std::string, std::string>& vars)
{
    for (const auto& [name, value] : vars) {
        const std::string key = "{{" + name + "}}";
        for (auto pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + value.size()))
            text.replace(pos, key.size(), value);
    }
    return text;
}

std::string binary_path() { return COUNTERSIGN_BINARY; }

std::filesystem::path source_path(std::string_view rel)
{
    return std::filesystem::path(COUNTERSIGN_SOURCE_DIR) / std::string(rel);
}

namespace {
gateway_options options_with(std::string config_yaml)
{
    gateway_options o;
    o.config_yaml = std::move(config_yaml);
    return o;
}
}  // namespace

gateway_process::gateway_process(std::string config_yaml) : gateway_process(options_with(std::move(config_yaml))) {}

gateway_process::gateway_process(gateway_options opts) : opts_(std::move(opts))
{
    proxy_port_ = free_port();
    admin_port_ = free_port();
    tls_port_ = free_port();
    std::map<std::string, std::string> vars = {
        {"PROXY_PORT", std::to_string(proxy_port_)},
        {"ADMIN_PORT", std::to_string(admin_port_)},
        {"TLS_PORT", std::to_string(tls_port_)},
        {"DIR", dir_.path().string()},
        {"SOURCE_DIR", COUNTERSIGN_SOURCE_DIR},
        {"SHARED_DIR", COUNTERSIGN_SHARED_DIR},
    };
    for (const auto& [k, v] : opts_.vars)
        vars[k] = render(v, vars);
    config_text_ = render(opts_.config_yaml, vars);
    dir_.write("countersign.yaml", config_text_);
    start();
    if (opts_.wait_ready && !wait_ready(opts_.ready_timeout)) {
        std::string why = exit_code_ ? "exited with code " + std::to_string(*exit_code_) : "did not become ready";
        throw std::runtime_error("gateway_process: countersign " + why + "\n--- stderr ---\n" + stderr_text() +
                                 "\n--- stdout ---\n" + stdout_text() + "\n--- config ---\n" + config_text_);
    }
}

gateway_process::~gateway_process()
{
    if (pid_ > 0 && !exit_code_) {
        ::kill(pid_, SIGKILL);
        reap_within(pid_, 10s);
    }
}

std::filesystem::path gateway_process::config_path() const { return dir_.file("countersign.yaml"); }

void gateway_process::start()
{
    auto env = std::vector<std::pair<std::string, std::string>>{};
    if (opts_.listen_env && config_text_.find("proxy_listen") == std::string::npos)
        env.emplace_back("COUNTERSIGN_PROXY_LISTEN", "127.0.0.1:" + std::to_string(proxy_port_));
    if (opts_.listen_env && config_text_.find("admin_listen") == std::string::npos)
        env.emplace_back("COUNTERSIGN_ADMIN_LISTEN", "127.0.0.1:" + std::to_string(admin_port_));
    for (const auto& e : opts_.env)
        env.push_back(e);
    std::vector<std::string> argv = {binary_path(), "--config", config_path().string()};
    argv.insert(argv.end(), opts_.extra_args.begin(), opts_.extra_args.end());
    pid_ = spawn(argv, env, dir_.file("stdout.log"), dir_.file("stderr.log"));
}

std::vector<std::uint16_t> gateway_process::ready_ports() const
{
    std::vector<std::uint16_t> ports = opts_.wait_ports;
    const bool default_proxy = opts_.listen_env && config_text_.find("proxy_listen") == std::string::npos;
    const bool default_admin = opts_.listen_env && config_text_.find("admin_listen") == std::string::npos;
    if (opts_.wait_proxy && (default_proxy || config_text_.find(std::to_string(proxy_port_)) != std::string::npos))
        ports.push_back(proxy_port_);
    if (opts_.wait_admin && (default_admin || config_text_.find(std::to_string(admin_port_)) != std::string::npos))
        ports.push_back(admin_port_);
    if (config_text_.find(std::to_string(tls_port_)) != std::string::npos)
        ports.push_back(tls_port_);
    return ports;
}

bool gateway_process::wait_ready(std::chrono::milliseconds timeout)
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    const auto ports = ready_ports();
    for (;;) {
        if (!running())
            return false;
        bool all = true;
        for (auto p : ports)
            all = all && port_open(p);
        if (all)
            return true;
        if (std::chrono::steady_clock::now() >= until)
            return false;
        std::this_thread::sleep_for(25ms);
    }
}

void gateway_process::send_signal(int sig)
{
    if (pid_ > 0 && !exit_code_)
        ::kill(pid_, sig);
}

std::optional<int> gateway_process::wait_exit(std::chrono::milliseconds timeout)
{
    if (!exit_code_ && pid_ > 0)
        exit_code_ = reap_within(pid_, timeout);
    return exit_code_;
}

bool gateway_process::running()
{
    if (exit_code_ || pid_ <= 0)
        return false;
    exit_code_ = try_reap(pid_);
    return !exit_code_;
}

std::string gateway_process::stdout_text() const { return dir_.read("stdout.log"); }

std::string gateway_process::stderr_text() const { return dir_.read("stderr.log"); }

bool gateway_process::wait_for_output(std::string_view needle, std::chrono::milliseconds timeout) const
{
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (stdout_text().find(needle) != std::string::npos || stderr_text().find(needle) != std::string::npos)
            return true;
        if (std::chrono::steady_clock::now() >= until)
            return false;
        std::this_thread::sleep_for(25ms);
    }
}

cli_result run_cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                   const std::vector<std::pair<std::string, std::string>>& env)
{
    temp_dir dir("countersign-cli");
    std::vector<std::string> argv = {binary_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    const int pid = spawn(argv, env, dir.file("stdout"), dir.file("stderr"));
    cli_result r;
    if (auto code = reap_within(pid, timeout)) {
        r.exit_code = *code;
    } else {
        ::kill(pid, SIGKILL);
        reap_within(pid, 10s);
        r.exit_code = -1;
    }
    r.out = dir.read("stdout");
    r.err = dir.read("stderr");
    return r;
}

}  // namespace countersign::test
