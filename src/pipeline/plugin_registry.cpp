#include <countersign/pipeline/plugin_registry.hpp>

#include <algorithm>
#include <stdexcept>

namespace countersign::pipeline {

void plugin_registry::add(plugin_descriptor d)
{
    if (find(d.name)) throw std::logic_error("plugin registered twice: " + d.name);
    plugins_.push_back(std::move(d));
}

const plugin_descriptor* plugin_registry::find(std::string_view name) const
{
    for (const auto& d : plugins_)
        if (d.name == name) return &d;
    return nullptr;
}

std::vector<std::string> plugin_registry::names() const
{
    std::vector<std::string> out;
    out.reserve(plugins_.size());
    for (const auto& d : plugins_) out.push_back(d.name);
    std::sort(out.begin(), out.end());
    return out;
}

bool plugin_registry::known(std::string_view name) const { return find(name) != nullptr; }

nlohmann::json plugin_registry::validate(std::string_view name, const nlohmann::json& config, const std::string& path,
                                         const config::line_lookup& line_of, config::error_list& errors) const
{
    const auto* d = find(name);
    if (!d) {
        // The loader normally rejects unknown names itself (with known()).
        std::string list;
        for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
        std::string entry = path;
        if (entry.size() > 7 && entry.ends_with(".config")) entry.resize(entry.size() - 7);
        errors.add(entry + ".name", "unknown plugin '" + std::string(name) + "' (known plugins: " + list + ")",
                   line_of ? line_of(entry + ".name") : 0);
        return config;
    }
    return d->schema.validate(config, path, line_of, errors);
}

nlohmann::json plugin_registry::redact(std::string_view name, const nlohmann::json& config) const
{
    const auto* d = find(name);
    if (!d) return config;
    return d->schema.redact(config);
}

const plugin_registry& plugin_registry::builtin()
{
    static const plugin_registry instance = [] {
        plugin_registry r;
        add_builtins(r);
        return r;
    }();
    return instance;
}

}  // namespace countersign::pipeline
