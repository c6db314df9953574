#include "countersign/jose/json_strict.hpp"

#include "countersign/jose/error.hpp"

#include <string>
#include <vector>

namespace countersign::jose {
namespace {

using json = nlohmann::json;

// SAX handler that builds the DOM itself so it can stop at the first
// duplicate name or at the depth limit (returning false ends sax_parse).
class strict_builder {
public:
    explicit strict_builder(std::size_t max_depth) : max_depth_(max_depth) {}

    bool null() { return put(json(nullptr)); }
    bool boolean(bool v) { return put(json(v)); }
    bool number_integer(json::number_integer_t v) { return put(json(v)); }
    bool number_unsigned(json::number_unsigned_t v) { return put(json(v)); }
    bool number_float(json::number_float_t v, const json::string_t&) { return put(json(v)); }
    bool string(json::string_t& v) { return put(json(std::move(v))); }
    bool binary(json::binary_t&) { return fail(error::bad_json); }

    bool start_object(std::size_t) { return open(json::value_t::object); }
    bool start_array(std::size_t) { return open(json::value_t::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }

    bool key(json::string_t& k)
    {
        json* obj = stack_.back();
        if (obj->contains(k))
            return fail(error::duplicate_member);
        key_ = std::move(k);
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&)
    {
        return fail(error::bad_json);
    }

    error err() const { return err_; }
    bool failed() const { return failed_; }
    json& root() { return root_; }

private:
    bool fail(error e)
    {
        if (!failed_) {
            failed_ = true;
            err_ = e;
        }
        return false;
    }

    json* insert(json&& v)
    {
        if (stack_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        json* top = stack_.back();
        if (top->is_array()) {
            top->get_ref<json::array_t&>().push_back(std::move(v));
            return &top->get_ref<json::array_t&>().back();
        }
        auto& obj = top->get_ref<json::object_t&>();
        auto it = obj.emplace(std::move(key_), std::move(v)).first;
        return &it->second;
    }

    bool put(json&& v)
    {
        insert(std::move(v));
        return true;
    }

    bool open(json::value_t t)
    {
        if (stack_.size() + 1 > max_depth_)
            return fail(error::too_deep);
        stack_.push_back(insert(json(t)));
        return true;
    }

    bool close()
    {
        stack_.pop_back();
        return true;
    }

    std::size_t max_depth_;
    json root_;
    std::vector<json*> stack_;
    std::string key_;
    bool failed_ = false;
    error err_ = error::bad_json;
};

} // namespace

boost::system::result<nlohmann::json> parse_json_strict(std::string_view text, std::size_t max_depth)
{
    // nlohmann skips a UTF-8 byte order mark silently; RFC 8259 §8.1 forbids one.
    if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
        static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF)
        return make_error_code(error::bad_json);
    if (text.empty())
        return make_error_code(error::bad_json);
    strict_builder b(max_depth);
    const bool ok = json::sax_parse(text.begin(), text.end(), &b, json::input_format_t::json, true, false);
    if (!ok || b.failed())
        return make_error_code(b.err());
    return std::move(b.root());
}

} // namespace countersign::jose
