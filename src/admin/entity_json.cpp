#include <countersign/admin/entity_json.hpp>

namespace countersign::admin {

nlohmann::json list_page(nlohmann::json items)
{
    if (!items.is_array())
        items = nlohmann::json::array();
    return {{"data", std::move(items)}, {"next", nullptr}};
}

}  // namespace countersign::admin
