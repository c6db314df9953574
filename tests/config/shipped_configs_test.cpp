// Every config the project ships (config/*.yaml, config/examples/*.yaml, …)
// loads without error against the real built-in plugins.
#include <countersign/config/loader.hpp>
#include <countersign/pipeline/plugin_registry.hpp>

#include <filesystem>

#include <catch2/catch.hpp>

#include "config/fake_validator.hpp"

namespace cfg = countersign::config;

TEST_CASE("every shipped config loads", "[config][shipped]")
{
    cfg::testing::in_source_dir();
    const auto& registry = countersign::pipeline::plugin_registry::builtin();
    std::size_t checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator("config")) {
        const auto ext = entry.path().extension();
        if (!entry.is_regular_file() || (ext != ".yaml" && ext != ".yml" && ext != ".json"))
            continue;
        ++checked;
        DYNAMIC_SECTION(entry.path().string())
        {
            // An empty environment: the developer's COUNTERSIGN_* must not matter.
            auto result = cfg::load_file(entry.path().string(), registry, cfg::testing::fake_env());
            INFO(result.errors.to_string());
            CHECK(result.ok());
        }
    }
    CHECK(checked >= 1);
    CHECK(std::filesystem::exists("config/examples/proxy-basic.yaml"));
}
