// Load-time configuration errors: each one names its YAML path and line.
#pragma once

#include <string>
#include <vector>

namespace countersign::config {

struct config_error {
    std::string path;     ///< e.g. "services[0].routes[1].paths[0]"; "" = whole document
    std::string message;  ///< e.g. "must start with \"/\""
    int line = 0;         ///< 1-based line in the YAML source, 0 = unknown

    /// `services[0].routes[1].paths[0]: must start with "/" (line 14)`
    std::string to_string() const;
};

/// Collects every error of one load; loading never stops at the first one.
class error_list {
public:
    void add(std::string path, std::string message, int line = 0)
    {
        errors_.push_back({std::move(path), std::move(message), line});
    }
    bool empty() const { return errors_.empty(); }
    std::size_t size() const { return errors_.size(); }
    const std::vector<config_error>& errors() const { return errors_; }
    std::string to_string() const;  ///< one error per line

private:
    std::vector<config_error> errors_;
};

}  // namespace countersign::config
