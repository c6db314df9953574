// The plugin interface: Kong's phases as coroutines.
#pragma once

#include <string_view>

#include <countersign/core/beast.hpp>
#include <countersign/pipeline/request_context.hpp>

namespace countersign::pipeline {

/// One configured plugin instance, built once per config load from its
/// validated `config:` and shared read-only by every worker.
class plugin {
public:
    virtual ~plugin() = default;

    virtual std::string_view name() const = 0;

    /// Kong's PRIORITY: higher runs first.
    virtual int priority() const = 0;

    /// Before proxying. May change ctx.request headers, suspend on I/O, set
    /// ctx.consumer, or end the request by setting ctx.exit.
    virtual net::awaitable<void> access(request_context& ctx) const { co_return; }

    /// Sees the response header (upstream's, or the exit response's) before
    /// it goes downstream.
    virtual void header_filter(request_context& ctx, http::response_header<>& res) const {}

    /// After the response was sent.
    virtual void log(const request_context& ctx) const {}
};

}  // namespace countersign::pipeline
