#include <countersign/pipeline/request_context.hpp>

#include <nlohmann/json.hpp>

namespace countersign::pipeline {

void request_context::exit_with_message(unsigned status, std::string_view message,
                                        std::vector<std::pair<std::string, std::string>> headers)
{
    exit_response r;
    r.status = status;
    r.body = nlohmann::json{{"message", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    r.headers = std::move(headers);
    exit = std::move(r);
}

}  // namespace countersign::pipeline
