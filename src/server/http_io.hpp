// Private to src/server: header reading with raw framing checks, and the
// bounded-buffer body relay. Templates over the stream type (plain or TLS).
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/write.hpp>

#include <countersign/core/beast.hpp>
#include <countersign/proxy/framing.hpp>

namespace countersign::server::detail {

inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

struct head_read {
    error_code ec;                    ///< read error (EOF, timeout, …)
    std::size_t length = 0;           ///< bytes of the header block incl. CRLF CRLF
    proxy::framing_error framing = proxy::framing_error::none;
    bool too_large = false;
    bool got_bytes = false;           ///< any byte of this message arrived
};

/// Reads until `buf` holds a complete header block (CRLF CRLF), at most
/// `limit` bytes, rejecting bare CR/LF as they arrive. `on_first_byte` runs
/// once when the first byte of the message is available (to switch from the
/// keep-alive timeout to the header timeout).
template <class Stream, class OnFirst>
net::awaitable<head_read> read_head(Stream& s, beast::flat_buffer& buf, std::size_t limit, OnFirst on_first_byte)
{
    head_read r;
    std::size_t scanned = 0;   // line endings checked up to here
    std::size_t searched = 0;  // terminator searched up to here
    if (buf.size() > 0) {
        r.got_bytes = true;
        on_first_byte();
    }
    for (;;) {
        std::string_view data(static_cast<const char*>(buf.data().data()), buf.size());
        auto end = data.find("\r\n\r\n", searched > 3 ? searched - 3 : 0);
        searched = data.size();
        // Only the header block is checked: body bytes that arrived with it
        // are not header lines.
        auto head = end == std::string_view::npos ? data : data.substr(0, end + 4);
        if (auto e = proxy::check_line_endings(head, scanned, scanned); e != proxy::framing_error::none) {
            r.framing = e;
            co_return r;
        }
        if (end != std::string_view::npos) {
            r.length = end + 4;
            r.too_large = r.length > limit;
            co_return r;
        }
        if (data.size() > limit) {
            r.too_large = true;
            co_return r;
        }
        if (buf.size() == 0) {
            // Waiting for a request (often an idle keep-alive connection):
            // hold no 16 KiB buffer meanwhile. The first bytes land in a
            // small array in the coroutine frame; the buffer grows after.
            buf.shrink_to_fit();
            char first[1024];
            auto [ec, n] = co_await s.async_read_some(net::buffer(first), use_tuple);
            if (n > 0) {
                net::buffer_copy(buf.prepare(n), net::buffer(first, n));
                buf.commit(n);
                if (!r.got_bytes) {
                    r.got_bytes = true;
                    on_first_byte();
                }
            }
            if (ec) {
                r.ec = ec;
                co_return r;
            }
            continue;
        }
        auto [ec, n] = co_await s.async_read_some(buf.prepare(16 * 1024), use_tuple);
        if (n > 0) {
            buf.commit(n);
            if (!r.got_bytes) {
                r.got_bytes = true;
                on_first_byte();
            }
        }
        if (ec) {
            r.ec = ec;
            co_return r;
        }
    }
}

/// The header block of `h` exactly as Beast's serializer writes it (start
/// line, each field as stored, CRLF), appended to `out`. Used when a whole
/// message goes out in one flat write instead of through the serializer.
inline void append_fields(const http::fields& f, std::string& out)
{
    for (const auto& field : f) {
        const auto name = field.name_string();
        const auto value = field.value();
        // Beast stores each field as one "Name: value\r\n" line, with the
        // value right after the name and ": ". When that holds (checked, not
        // assumed) the line goes out in one append instead of four.
        if (value.data() == name.data() + name.size() + 2) {
            out.append(name.data(), name.size() + 2 + value.size() + 2);
            continue;
        }
        out.append(name);
        out.append(": ");
        out.append(value);
        out.append("\r\n");
    }
    out.append("\r\n");
}

inline void append_version(unsigned version, std::string& out)
{
    out.append("HTTP/");
    out.push_back(static_cast<char>('0' + version / 10));
    out.push_back('.');
    out.push_back(static_cast<char>('0' + version % 10));
}

inline void serialize_header(const http::request_header<>& h, std::string& out)
{
    out.append(h.method_string());
    out.push_back(' ');
    out.append(h.target());
    out.push_back(' ');
    append_version(h.version(), out);
    out.append("\r\n");
    append_fields(h, out);
}

inline void serialize_header(const http::response_header<>& h, std::string& out)
{
    append_version(h.version(), out);
    out.push_back(' ');
    out.append(std::to_string(h.result_int()));
    out.push_back(' ');
    auto reason = h.reason();
    if (reason.empty())
        reason = http::obsolete_reason(h.result());
    out.append(reason);
    out.append("\r\n");
    append_fields(h, out);
}

enum class relay_status { ok, read_error, read_timeout, body_limit, write_error };

/// Pumps the body of the message in parser `p` (header already parsed) from
/// `in` to `out` through serializer `sr`, using one fixed buffer: memory
/// stays flat whatever the body size. Each read gets `read_timeout`, each
/// write `write_timeout`. `bytes` counts body bytes written. `first_data`
/// holds body bytes the caller already parsed (they are sent first).
template <bool IsRequest, class In, class Out>
net::awaitable<relay_status> relay_body(In& in, beast::flat_buffer& in_buf,
                                        http::parser<IsRequest, http::buffer_body>& p, Out& out,
                                        http::serializer<IsRequest, http::buffer_body>& sr,
                                        std::chrono::milliseconds read_timeout,
                                        std::chrono::milliseconds write_timeout, std::uint64_t& bytes,
                                        char* first_data = nullptr, std::size_t first_size = 0)
{
    static constexpr std::size_t chunk = 64 * 1024;
    // Allocated on first use (a GET has no body to relay) and left
    // uninitialised: zero-filling 64 KiB twice per request was the largest
    // single cost of a plain proxied request.
    std::unique_ptr<char[]> storage;
    char* buf = nullptr;
    std::size_t capacity = 0;
    bool final_write = false;
    do {
        std::size_t got = 0;
        if (first_data) {
            // Body bytes read ahead by the caller (before the upstream was
            // contacted) go out first.
            got = first_size;
            p.get().body().data = got ? first_data : nullptr;
            p.get().body().size = got;
            p.get().body().more = !p.is_done();
            first_data = nullptr;
        } else if (!p.is_done()) {
            if (!buf) {
                // A known short body gets a buffer of its size, not 64 KiB.
                capacity = chunk;
                if (auto left = p.content_length_remaining(); left && *left > 0 && *left < chunk)
                    capacity = static_cast<std::size_t>(*left);
                storage.reset(new char[capacity]);
                buf = storage.get();
            }
            p.get().body().data = buf;
            p.get().body().size = capacity;
            beast::get_lowest_layer(in).expires_after(read_timeout);
            auto [ec, n] = co_await http::async_read_some(in, in_buf, p, use_tuple);
            if (ec == http::error::need_buffer)
                ec = {};
            if (ec == http::error::body_limit)
                co_return relay_status::body_limit;
            if (ec == beast::error::timeout)
                co_return relay_status::read_timeout;
            if (ec)
                co_return relay_status::read_error;
            got = capacity - p.get().body().size;
            // A zero-size buffer must not reach the chunked serializer: it
            // would read as the last chunk.
            p.get().body().data = got ? buf : nullptr;
            p.get().body().size = got;
            p.get().body().more = !p.is_done();
        } else {
            if (final_write)
                break;  // serializer cannot finish (declared length not met)
            final_write = true;
            p.get().body().data = nullptr;
            p.get().body().size = 0;
            p.get().body().more = false;
        }
        if (got == 0 && !p.is_done())
            continue;
        beast::get_lowest_layer(out).expires_after(write_timeout);
        auto [wec, wn] = co_await http::async_write(out, sr, use_tuple);
        if (wec == http::error::need_buffer)
            wec = {};
        if (wec)
            co_return relay_status::write_error;
        bytes += got;
    } while (!p.is_done() || !sr.is_done());
    co_return relay_status::ok;
}

}  // namespace countersign::server::detail
