#include <countersign/admin/router.hpp>

#include <countersign/core/percent.hpp>

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

namespace countersign::admin {

namespace {

std::vector<std::string_view> split_path(std::string_view path)
{
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        auto end = path.find('/', i);
        if (end == std::string_view::npos)
            end = path.size();
        out.push_back(path.substr(i, end - i));
        i = end;
    }
    return out;
}

bool is_param(std::string_view segment)
{
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Literal segments count more than parameters, earlier segments more than later.
std::size_t literal_score(const std::vector<std::string>& segments)
{
    std::size_t score = 0;
    for (const auto& s : segments)
        score = score * 2 + (is_param(s) ? 0 : 1);
    return score;
}

}  // namespace

request request::from_target(std::string method, std::string target)
{
    request r;
    r.method = std::move(method);
    r.target = std::move(target);
    const auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos)
        r.query = r.target.substr(q + 1);
    return r;
}

std::string request::header(std::string_view name) const
{
    for (const auto& [k, v] : headers)
        if (k == name)
            return v;
    return {};
}

response response::json(unsigned status, const nlohmann::json& value)
{
    response r;
    r.status = status;
    r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
}

response response::message(unsigned status, std::string_view text)
{
    return json(status, nlohmann::json{{"message", text}});
}

const std::string& path_params::get(std::string_view name) const
{
    static const std::string empty;
    auto it = values_.find(name);
    return it == values_.end() ? empty : it->second;
}

std::string percent_decode(std::string_view s)
{
    return countersign::percent_decode(s);
}

void router::add(std::string method, std::string_view pattern, handler h)
{
    entry e;
    e.method = std::move(method);
    e.pattern = std::string(pattern);
    for (auto s : split_path(pattern))
        e.segments.emplace_back(s);
    e.fn = std::move(h);
    auto same = std::find_if(entries_.begin(), entries_.end(), [&](const entry& x) {
        return x.method == e.method && x.segments == e.segments;
    });
    if (same != entries_.end())
        *same = std::move(e);
    else
        entries_.push_back(std::move(e));
}

bool router::match(const entry& e, const std::vector<std::string_view>& path, path_params& params)
{
    if (e.segments.size() != path.size())
        return false;
    path_params found;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto& seg = e.segments[i];
        if (is_param(seg)) {
            if (path[i].empty())
                return false;
            found.set(seg.substr(1, seg.size() - 2), percent_decode(path[i]));
        } else if (seg != path[i]) {
            return false;
        }
    }
    params = std::move(found);
    return true;
}

response router::dispatch(const request& req) const
{
    const auto path = split_path(req.path);
    const std::string_view method = req.method == "HEAD" ? std::string_view("GET") : std::string_view(req.method);

    const entry* best = nullptr;
    path_params best_params;
    std::size_t best_score = 0;
    std::vector<std::string> allowed;
    for (const auto& e : entries_) {
        path_params params;
        if (!match(e, path, params))
            continue;
        if (e.method != method) {
            if (std::find(allowed.begin(), allowed.end(), e.method) == allowed.end())
                allowed.push_back(e.method);
            continue;
        }
        const auto score = literal_score(e.segments);
        if (best == nullptr || score > best_score) {
            best = &e;
            best_score = score;
            best_params = std::move(params);
        }
    }
    if (best == nullptr) {
        if (allowed.empty())
            return response::not_found();
        auto r = response::message(405, "Method not allowed");
        std::string allow;
        for (const auto& m : allowed)
            allow += (allow.empty() ? "" : ", ") + m;
        r.headers.emplace_back("Allow", allow);
        return r;
    }
    try {
        return best->fn(req, best_params);
    } catch (const std::exception& e) {
        spdlog::error("admin: {} {} failed: {}", req.method, req.path, e.what());
        return response::message(500, "An unexpected error occurred");
    }
}

std::vector<std::string> router::routes() const
{
    std::vector<std::string> out;
    for (const auto& e : entries_)
        out.push_back(e.method + " " + e.pattern);
    return out;
}

}  // namespace countersign::admin
