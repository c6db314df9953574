// RAII temporary directory for tests: created fresh under the system temp
// directory, removed with everything in it on destruction.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace countersign::test {

class temp_dir {
public:
    /// Creates `<tmp>/<prefix>-XXXXXX`. Throws std::runtime_error on failure.
    explicit temp_dir(std::string_view prefix = "countersign-test");
    ~temp_dir();

    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// `path() / name` (nothing is created).
    std::filesystem::path file(std::string_view name) const;

    /// Writes `content` to `path() / name` (creating parent folders) and
    /// returns the full path.
    std::filesystem::path write(std::string_view name, std::string_view content) const;

    /// Whole content of `path() / name`; "" when it does not exist.
    std::string read(std::string_view name) const;

    /// Leave the directory on disk (for debugging a failing test).
    void keep() { keep_ = true; }

private:
    std::filesystem::path path_;
    bool keep_ = false;
};

/// Whole content of a file; "" when it cannot be read.
std::string read_file(const std::filesystem::path& p);

}  // namespace countersign::test
