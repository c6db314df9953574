// Private to src/server: one request/response exchange with the upstream,
// streamed through fixed buffers in both directions.
#pragma once

#include <array>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include <countersign/pipeline/plugin_set.hpp>
#include <countersign/pipeline/request_context.hpp>
#include <countersign/proxy/framing.hpp>
#include <countersign/proxy/hop_by_hop.hpp>

#include "http_io.hpp"
#include "worker.hpp"

namespace countersign::server::detail {

/// Everything one request carries between the session's steps.
struct exchange_state {
    exchange_state(http::request_parser<http::buffer_body>& p, http::request<http::buffer_body>& r)
        : parser(p), req(r)
    {
    }

    http::request_parser<http::buffer_body>& parser;  ///< downstream request (body still unread)
    http::request<http::buffer_body>& req;            ///< rewritten in place into the upstream request
    pipeline::request_context ctx;
    runtime_ptr rt;                                   ///< pinned for the whole request

    unsigned version = 11;
    bool client_keep_alive = false;
    std::string original_target, method, user_agent, referer, host_header;

    std::optional<std::string> buffered_body;  ///< set when a plugin read the body
    bool body_broken = false;                  ///< a plugin's read_body failed half way
    bool expect_continue = false;
    bool continue_sent = false;
    bool access_ran = false;
    bool upstream_used = false;
    bool upstream_reused = false;  ///< the current upstream connection came from the pool
    std::unique_ptr<char[]> primed;  ///< first chunked body bytes, read before contacting the upstream
    std::size_t primed_size = 0;

    // Outcome.
    unsigned status = 0;
    bool keep_client = false;
    bool response_started = false;  ///< a response header went downstream
    std::uint64_t bytes_sent = 0;
};

struct exchange_outcome {
    bool reusable = false;  ///< the upstream connection can go back to the pool
    /// The pooled connection turned out dead (the upstream had closed it):
    /// nothing of a response arrived, the request was sent whole from memory
    /// and either never got out or is idempotent. Nothing was answered or
    /// logged: the caller sends it again on a fresh connection.
    bool retry_fresh = false;
};

/// RFC 9110 9.2.2: a request that may be sent again after a connection failed
/// before the response.
inline bool idempotent_method(std::string_view m)
{
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

/// The request goes out in one write from memory (no body, or the body a
/// plugin read), so it can be sent again.
inline bool whole_in_memory(const exchange_state& x)
{
    return x.buffered_body || (x.parser.is_done() && !x.parser.chunked());
}

/// It may be sent again after its connection failed before the response.
inline bool proxy_idempotent(const exchange_state& x)
{
    return idempotent_method(x.method) && whole_in_memory(x);
}

/// Sends x.req (and the body: buffered, or relayed from `down`) on `up`,
/// reads the response header, runs header_filter and relays the response
/// to `down`. On failure before the response started, sets x.status (400,
/// 408, 413, 502 or 504) and leaves the answer to the caller.
template <class Down, class Up>
net::awaitable<exchange_outcome> run_exchange(Down& down, beast::flat_buffer& down_buf, Up& up, exchange_state& x,
                                              worker& w)
{
    exchange_outcome out;
    auto& ctx = x.ctx;
    const auto& svc = *ctx.service;
    const auto& s = w.settings;
    auto& req = x.req;
    auto& up_tcp = beast::get_lowest_layer(up);
    auto fail = [&](unsigned status, std::string_view what, error_code ec = {}) {
        x.status = status;
        x.keep_client = status >= 500;
        if (status >= 500)
            w.stats->upstream_errors++;
        spdlog::error("upstream {}:{} (service {}): {}{}{}", svc.host, svc.port, svc.name, what,
                      ec ? ": " : "", ec ? ec.message() : "");
    };

    // --- Request: the gateway chooses the framing (checklist H20). ---------
    req.version(11);
    req.keep_alive(true);
    if (x.buffered_body)
        req.content_length(x.buffered_body->size());
    else if (x.parser.chunked())
        req.chunked(true);
    bool request_sent = false;
    const bool resendable = proxy_idempotent(x);
    if (whole_in_memory(x)) {
        // The whole request is at hand (no body, or the body a plugin read):
        // one flat write of header and body, without the serializer.
        std::string head;
        head.reserve(1024);
        serialize_header(req, head);
        std::array<net::const_buffer, 2> wire{net::buffer(head), net::const_buffer()};
        if (x.buffered_body)
            wire[1] = net::buffer(*x.buffered_body);
        up_tcp.expires_after(svc.write_timeout);
        auto [wec, wn] = co_await net::async_write(up, wire, use_tuple);
        if (wec && x.upstream_reused && wec != beast::error::timeout) {
            out.retry_fresh = true;
            co_return out;
        }
        if (wec) {
            fail(wec == beast::error::timeout ? 504 : 502, "writing request", wec);
            co_return out;
        }
        request_sent = true;
    } else {
        http::request_serializer<http::buffer_body> sr(req);
        // The header goes out on its own only when no body bytes are at
        // hand; otherwise header and first body bytes share one write.
        if (down_buf.size() == 0 && x.primed_size == 0) {
            up_tcp.expires_after(svc.write_timeout);
            auto [hec, hn] = co_await http::async_write_header(up, sr, use_tuple);
            if (hec) {
                fail(hec == beast::error::timeout ? 504 : 502, "writing request header", hec);
                co_return out;
            }
        }
        std::uint64_t sent = 0;
        auto r = co_await relay_body(down, down_buf, x.parser, up, sr, s.client_body_timeout, svc.write_timeout,
                                     sent, x.primed.get(), x.primed_size);
        switch (r) {
        case relay_status::ok:
            break;
        case relay_status::read_timeout:
            x.status = 408;
            x.keep_client = false;
            co_return out;
        case relay_status::read_error:
            x.status = 400;
            x.keep_client = false;
            co_return out;
        case relay_status::body_limit:
            x.status = 413;
            x.keep_client = false;
            co_return out;
        case relay_status::write_error:
            fail(502, "writing request body");
            x.keep_client = false;
            co_return out;
        }
        request_sent = sr.is_done();
    }

    // --- Response header (interim 1xx skipped). ------------------------------
    auto t0 = std::chrono::steady_clock::now();
    beast::flat_buffer ubuf;
    std::optional<http::response_parser<http::buffer_body>> rp;
    for (;;) {
        up_tcp.expires_after(svc.read_timeout);
        auto head = co_await read_head(up, ubuf, 64 * 1024, [] {});
        if (head.ec && !head.got_bytes && !rp && x.upstream_reused && resendable &&
            head.ec != beast::error::timeout) {
            out.retry_fresh = true;
            co_return out;
        }
        if (head.ec) {
            if (head.ec == beast::error::timeout)
                fail(504, "timed out reading response header");
            else
                fail(502, "reading response header", head.ec);
            co_return out;
        }
        std::string_view raw(static_cast<const char*>(ubuf.data().data()), head.length);
        if (head.framing != proxy::framing_error::none || head.too_large ||
            proxy::check_head_lines(raw, false) != proxy::framing_error::none) {
            fail(502, "invalid response header");
            co_return out;
        }
        rp.emplace();
        rp->header_limit(static_cast<std::uint32_t>(head.length + 1));
        rp->body_limit(boost::none);
        if (x.method == "HEAD")
            rp->skip(true);
        error_code pec;
        auto used = rp->put(net::buffer(ubuf.data().data(), head.length), pec);
        ubuf.consume(used);
        if (pec || !rp->is_header_done()) {
            fail(502, "unparsable response header", pec);
            co_return out;
        }
        auto code = rp->get().result_int();
        if (code == 101) {
            fail(502, "unexpected 101 Switching Protocols");
            co_return out;
        }
        if (code >= 200)
            break;
    }
    ctx.timings.upstream_response = std::chrono::steady_clock::now() - t0;
    auto& res = rp->get();
    if (auto e = proxy::check_response_head(res); e != proxy::framing_error::none) {
        fail(502, proxy::to_string(e));
        co_return out;
    }

    // --- Response to the client. ---------------------------------------------
    bool up_keep = rp->keep_alive();
    bool has_length = rp->content_length().has_value();
    bool no_body = rp->is_done();
    proxy::strip_hop_by_hop(res);
    if (x.rt->plugins)
        x.rt->plugins->run_header_filter(ctx, res.base());
    for (const auto& [k, v] : ctx.downstream_headers)
        res.insert(k, v);
    res.version(x.version == 10 ? 10 : 11);
    bool keep = x.client_keep_alive && x.parser.is_done() && !w.stopping;
    if (!no_body && !has_length) {
        // Chunked or read-to-close upstream: re-chunk for HTTP/1.1 clients,
        // close-delimit for HTTP/1.0 ones.
        if (x.version == 11)
            res.chunked(true);
        else
            keep = false;
    }
    res.keep_alive(keep);
    x.status = res.result_int();
    x.keep_client = keep;
    x.response_started = true;
    if (x.status >= 100 && x.status < 600)
        w.stats->responses_by_class[x.status / 100 - 1]++;

    auto& down_tcp = beast::get_lowest_layer(down);
    if (no_body || (has_length && *rp->content_length_remaining() <= ubuf.size())) {
        // The whole response is here (no body, or all of it arrived with the
        // header): one flat write of header and body, without the serializer.
        const auto body_size = no_body ? std::size_t{0} : static_cast<std::size_t>(*rp->content_length_remaining());
        std::string head;
        head.reserve(512);
        serialize_header(res, head);
        std::array<net::const_buffer, 2> wire{net::buffer(head), net::buffer(ubuf.data().data(), body_size)};
        down_tcp.expires_after(s.client_body_timeout);
        auto [wec, wn] = co_await net::async_write(down, wire, use_tuple);
        if (wec) {
            x.keep_client = false;
            co_return out;
        }
        ubuf.consume(body_size);
        x.bytes_sent += body_size;
        out.reusable = up_keep && ubuf.size() == 0 && request_sent;
        co_return out;
    }
    http::response_serializer<http::buffer_body> dsr(res);
    // Body bytes that arrived with the header leave with it, from relay_body;
    // otherwise (a streamed or slow body) the header goes out at once.
    if (ubuf.size() == 0) {
        down_tcp.expires_after(s.client_body_timeout);
        auto [dhec, dhn] = co_await http::async_write_header(down, dsr, use_tuple);
        if (dhec) {
            x.keep_client = false;
            co_return out;
        }
    }
    {
        auto r = co_await relay_body(up, ubuf, *rp, down, dsr, svc.read_timeout, s.client_body_timeout,
                                     x.bytes_sent);
        if (r != relay_status::ok) {
            // Headers are gone: the only honest signal left is to cut the
            // client connection before the body is complete (checklist 3.4).
            if (r != relay_status::write_error)
                spdlog::error("upstream {}:{} (service {}): response body aborted ({})", svc.host, svc.port,
                              svc.name, r == relay_status::read_timeout ? "timeout" : "read error");
            x.keep_client = false;
            co_return out;
        }
    }
    out.reusable = up_keep && rp->is_done() && ubuf.size() == 0 && request_sent;
    co_return out;
}

}  // namespace countersign::server::detail
