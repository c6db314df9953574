// One access-log line per request, through the spdlog logger "access"
// (configured by main; when absent nothing is logged).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace countersign::pipeline {
struct request_context;
}

namespace countersign::server {

struct access_record {
    std::string_view method;
    std::string_view target;
    unsigned version = 11;
    std::string_view user_agent;
    std::string_view referer;
    const pipeline::request_context* ctx = nullptr;  ///< route/service/consumer/request id/timings; may be null
    std::string_view client_ip;
    unsigned status = 0;
    std::uint64_t bytes_sent = 0;
    double latency_ms = 0;
    double upstream_ms = -1;  ///< -1 = no upstream exchange
};

/// Combined-style line:
/// `IP - - [time] "METHOD target HTTP/1.1" status bytes "referer" "ua" request_id=… route=… service=… consumer=… latency_ms=… upstream_ms=…`
std::string format_access_plain(const access_record& r);
/// The same facts as one JSON object.
std::string format_access_json(const access_record& r);

/// Writes the line to spdlog::get("access") if that logger exists.
void write_access_log(const access_record& r, bool json);

}  // namespace countersign::server
