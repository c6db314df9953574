#include "support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace countersign::test {

temp_dir::temp_dir(std::string_view prefix)
{
    std::string templ = (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr)
        throw std::runtime_error("temp_dir: mkdtemp failed for " + templ);
    path_ = buf.data();
}

temp_dir::~temp_dir()
{
    if (keep_)
        return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path temp_dir::file(std::string_view name) const
{
    return path_ / std::string(name);
}

std::filesystem::path temp_dir::write(std::string_view name, std::string_view content) const
{
    auto p = file(name);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out)
        throw std::runtime_error("temp_dir: cannot write " + p.string());
    return p;
}

std::string temp_dir::read(std::string_view name) const
{
    return read_file(file(name));
}

std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    if (!in)
        return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace countersign::test
