#include <countersign/plugins/debug_delay.hpp>

#include <cstdlib>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace countersign::plugins {

bool debug_plugins_enabled()
{
    const char* v = std::getenv("COUNTERSIGN_DEBUG_PLUGINS");
    return v && std::strcmp(v, "1") == 0;
}

pipeline::plugin_schema debug_delay::schema()
{
    using namespace pipeline;
    return plugin_schema{{
        integer_field("delay_ms").required().default_value(100).between(0, 60000).description(
            "How long the access phase waits on a timer before letting the request through."),
    }};
}

pipeline::plugin_descriptor debug_delay::descriptor()
{
    pipeline::plugin_descriptor d;
    d.name = std::string(plugin_name);
    d.priority = plugin_priority;
    d.schema = schema();
    d.create = [](const config::plugin_config& pc, pipeline::plugin_services&)
        -> result<std::shared_ptr<const pipeline::plugin>> {
        auto ms = pc.config.value("delay_ms", 100);
        return std::shared_ptr<const pipeline::plugin>(std::make_shared<debug_delay>(std::chrono::milliseconds(ms)));
    };
    return d;
}

net::awaitable<void> debug_delay::access(pipeline::request_context& ctx) const
{
    net::steady_timer timer(co_await net::this_coro::executor, delay_);
    auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    (void)ec;  // cancelled on shutdown: just continue
}

}  // namespace countersign::plugins
