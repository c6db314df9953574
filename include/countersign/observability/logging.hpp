// spdlog set-up from the node settings: the error log (spdlog's default
// logger) and the "access" logger, one line per proxied request.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <countersign/config/gateway_config.hpp>

namespace spdlog {
class logger;
}

namespace countersign::observability {

/// Name of the access logger in spdlog's registry.
inline constexpr std::string_view access_logger_name = "access";

/// Installs the error log as spdlog's default logger (stderr or the file in
/// `node.error_log`, at `node.log_level`) and registers the "access" logger
/// (stdout, a file, or "off": then it exists but logs nothing). Both flush
/// after every line so tests and `tail -f` see lines at once.
///
/// Returns a message when a level is unknown or a log file cannot be
/// opened; the previous loggers stay in place then. Call before starting
/// any thread that logs; may be called again on reload.
std::optional<std::string> configure_logging(const config::node_config& node);

/// The access logger; never null (a silent one until configure_logging ran).
std::shared_ptr<spdlog::logger> access_logger();

}  // namespace countersign::observability
