#include <countersign/observability/logging.hpp>

#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace countersign::observability {

namespace {

std::optional<spdlog::level::level_enum> parse_level(const std::string& name)
{
    // spdlog also maps unknown names to "off"; do not let a typo silence the log.
    static const std::vector<std::pair<std::string, spdlog::level::level_enum>> levels = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"notice", spdlog::level::info},
        {"warn", spdlog::level::warn},   {"warning", spdlog::level::warn},
        {"error", spdlog::level::err},   {"crit", spdlog::level::critical},
        {"critical", spdlog::level::critical}, {"alert", spdlog::level::critical},
        {"emerg", spdlog::level::critical},    {"off", spdlog::level::off},
    };
    for (const auto& [n, l] : levels)
        if (n == name)
            return l;
    return std::nullopt;
}

std::shared_ptr<spdlog::logger> make_silent_access_logger()
{
    auto logger = std::make_shared<spdlog::logger>(std::string(access_logger_name));
    logger->set_level(spdlog::level::off);
    return logger;
}

}  // namespace

std::optional<std::string> configure_logging(const config::node_config& node)
{
    auto level = parse_level(node.log_level);
    if (!level)
        return "log_level: unknown level \"" + node.log_level + "\"";

    std::shared_ptr<spdlog::logger> error_log;
    std::shared_ptr<spdlog::logger> access_log;
    try {
        if (node.error_log.empty() || node.error_log == "stderr")
            error_log = std::make_shared<spdlog::logger>(
                "countersign", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        else
            error_log = std::make_shared<spdlog::logger>(
                "countersign", std::make_shared<spdlog::sinks::basic_file_sink_mt>(node.error_log));

        if (node.access_log == "off" || node.access_log.empty()) {
            access_log = make_silent_access_logger();
        } else {
            spdlog::sink_ptr sink;
            if (node.access_log == "stdout")
                sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
            else if (node.access_log == "stderr")
                sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
            else
                sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(node.access_log);
            access_log = std::make_shared<spdlog::logger>(std::string(access_logger_name), std::move(sink));
            access_log->set_pattern("%v");
            access_log->set_level(spdlog::level::info);
            access_log->flush_on(spdlog::level::trace);
        }
    } catch (const spdlog::spdlog_ex& e) {
        return std::string("cannot open log file: ") + e.what();
    }

    error_log->set_pattern("%Y/%m/%d %H:%M:%S.%e [%l] [%t] %v");
    error_log->set_level(*level);
    error_log->flush_on(spdlog::level::trace);

    spdlog::drop(std::string(access_logger_name));
    spdlog::register_logger(access_log);
    spdlog::set_default_logger(std::move(error_log));
    return std::nullopt;
}

std::shared_ptr<spdlog::logger> access_logger()
{
    if (auto l = spdlog::get(std::string(access_logger_name)))
        return l;
    static const auto silent = make_silent_access_logger();
    return silent;
}

}  // namespace countersign::observability
