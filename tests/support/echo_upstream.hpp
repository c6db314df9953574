// A real loopback HTTP/1.1 upstream for integration tests.
//
// Listens on 127.0.0.1 on an ephemeral port and answers every request with
//   {"method": "...", "path": "<raw target incl. query>",
//    "headers": {"<lower-name>": "value" | ["v1", "v2"]},
//    "body": "...", "body_bytes": N, "connection_id": N}
// It counts accepted connections and requests and keeps the last requests for
// assertions. Options change how it answers: chunked encoding, a delay, a
// "sink" that only counts request body bytes, a "source" that streams N bytes.
// Runs on its own thread; the destructor stops it and closes every connection.
// All accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace countersign::test {

struct echo_options {
    /// Answer with `Transfer-Encoding: chunked` instead of Content-Length.
    bool chunked_response = false;
    /// Wait this long after the request was read, before answering.
    std::chrono::milliseconds delay{0};
    /// Count request body bytes without storing them (large uploads).
    /// The echoed "body" is then "".
    bool sink = false;
    /// When > 0: answer with a body of exactly this many bytes (pattern
    /// "0123456789abcdef" repeated, streamed) instead of the JSON echo.
    std::uint64_t source_bytes = 0;
    /// Honour keep-alive. When false every response carries
    /// `Connection: close` and the connection is closed after it.
    bool keep_alive = true;
    /// Answer as keep-alive, then close the connection at once: the gateway
    /// holds a pooled connection the upstream has already closed.
    bool close_after_response = false;
    /// Status code of every answer.
    unsigned status = 200;
    /// Extra headers added to every answer.
    std::vector<std::pair<std::string, std::string>> response_headers;
    /// How many requests to keep for last_requests().
    std::size_t history = 64;
};

/// One request as the upstream received it.
struct recorded_request {
    std::string method;
    std::string target;  ///< raw request target, including the query
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased, in order
    std::string body;    ///< empty in sink mode
    std::uint64_t body_bytes = 0;
    std::uint64_t connection_id = 0;  ///< 1-based, in accept order
    bool chunked = false;             ///< request body came chunked

    /// First value of header `name` (case-insensitive); "" when absent.
    std::string header(std::string_view name) const;
    bool has_header(std::string_view name) const;
    /// Every value of header `name`, in order.
    std::vector<std::string> header_values(std::string_view name) const;
};

class echo_upstream {
public:
    /// Starts listening immediately. Throws std::runtime_error on failure.
    explicit echo_upstream(echo_options opts = {});
    ~echo_upstream();

    echo_upstream(const echo_upstream&) = delete;
    echo_upstream& operator=(const echo_upstream&) = delete;

    std::uint16_t port() const;
    /// "http://127.0.0.1:<port>"
    std::string url() const;

    /// Connections accepted so far.
    std::size_t connections() const;
    /// Requests whose header was read completely so far.
    std::size_t requests() const;
    /// Sum of request body bytes received.
    std::uint64_t body_bytes_received() const;

    /// The last `opts.history` requests, oldest first.
    std::vector<recorded_request> last_requests() const;
    /// The most recent request, if any.
    std::optional<recorded_request> last_request() const;
    void clear_history();

    /// Blocks until requests() >= n or the timeout passes; returns whether it got there.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

    /// Change the delay for requests that arrive from now on.
    void set_delay(std::chrono::milliseconds d);
    /// Change the status for requests that arrive from now on.
    void set_status(unsigned status);

    /// The JSON echo document built from a recorded request (what the
    /// upstream answers in normal mode).
    static nlohmann::json to_json(const recorded_request& r);

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace countersign::test
