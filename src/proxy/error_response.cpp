#include <countersign/proxy/error_response.hpp>

#include <nlohmann/json.hpp>

namespace countersign::proxy {

std::string kong_error_body(std::string_view message)
{
    return nlohmann::json{{"message", message}}.dump();
}

std::string_view default_message(unsigned status)
{
    switch (status) {
    case 400: return "Bad request";
    case 404: return "no Route matched with those values";
    case 405: return "Method not allowed";
    case 408: return "Request timeout";
    case 413: return "Request size limit exceeded";
    case 414: return "URI too long";
    case 431: return "Request header fields too large";
    case 500: return "An unexpected error occurred";
    case 502: return "An invalid response was received from the upstream server";
    case 503: return "The upstream server is currently unavailable";
    case 504: return "The upstream server is timed out";
    case 505: return "HTTP version not supported";
    default: return "An unexpected error occurred";
    }
}

}  // namespace countersign::proxy
