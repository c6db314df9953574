// Strict JSON parser for JOSE headers and JWT claims.
//
// A direct, iterative recursive-descent parser that builds nlohmann::json
// values itself. nlohmann's own parser cannot be used as is: it keeps the
// last of duplicate member names silently. Its SAX interface can police
// duplicates, but routes every value through a generic lexer and a builder,
// which cost more than the RSA verification they guard for a typical JWT
// header. This parser accepts exactly RFC 8259 (the same documents as
// nlohmann::json::parse without comments; a differential test holds them
// to that) and additionally rejects duplicate names, a byte order mark and
// nesting deeper than the limit. It never recurses and never throws.

#include "countersign/jose/json_strict.hpp"

#include "countersign/jose/error.hpp"

#include <countersign/core/text.hpp>  // header-only: hex_digit_value

#include <boost/container/small_vector.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace countersign::jose {
namespace {

using json = nlohmann::json;

// Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none.
std::size_t utf8_length(const unsigned char* p, std::size_t left) noexcept
{
    const auto tail = [&](std::size_t i) { return i < left && (p[i] & 0xC0) == 0x80; };
    const auto in = [&](std::size_t i, unsigned lo, unsigned hi) { return i < left && p[i] >= lo && p[i] <= hi; };
    const unsigned c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return tail(1) ? 2 : 0;
    if (c == 0xE0)
        return in(1, 0xA0, 0xBF) && tail(2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        return tail(1) && tail(2) ? 3 : 0;
    if (c == 0xED)
        return in(1, 0x80, 0x9F) && tail(2) ? 3 : 0;
    if (c == 0xF0)
        return in(1, 0x90, 0xBF) && tail(2) && tail(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3)
        return tail(1) && tail(2) && tail(3) ? 4 : 0;
    if (c == 0xF4)
        return in(1, 0x80, 0x8F) && tail(2) && tail(3) ? 4 : 0;
    return 0;
}

class strict_parser {
public:
    strict_parser(std::string_view text, std::size_t max_depth)
        : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth)
    {
    }

    boost::system::result<json> run()
    {
        json root;
        json* slot = &root;
        skip_ws();
        for (;;) {
            // A value goes into *slot.
            if (p_ == end_)
                return fail(error::bad_json);
            const char c = *p_;
            if (c == '{' || c == '[') {
                if (stack_.size() + 1 > max_depth_)
                    return fail(error::too_deep);
                ++p_;
                skip_ws();
                if (c == '{') {
                    *slot = json::object();
                    stack_.push_back(slot);
                    if (p_ != end_ && *p_ == '}') {
                        ++p_;
                        stack_.pop_back();
                    } else {
                        auto next = member_slot(*slot);
                        if (!next)
                            return fail(err_);
                        slot = next;
                        continue;
                    }
                } else {
                    *slot = json::array();
                    stack_.push_back(slot);
                    if (p_ != end_ && *p_ == ']') {
                        ++p_;
                        stack_.pop_back();
                    } else {
                        slot = element_slot(*slot);
                        continue;
                    }
                }
            } else if (c == '"') {
                ++p_;
                std::string s;
                if (!parse_string(s))
                    return fail(error::bad_json);
                *slot = std::move(s);
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                if (!parse_number(*slot))
                    return fail(error::bad_json);
            } else if (!parse_literal(*slot)) {
                return fail(error::bad_json);
            }

            // After a complete value: close containers, or find the next slot.
            for (;;) {
                skip_ws();
                if (stack_.empty()) {
                    if (p_ != end_)
                        return fail(error::bad_json);
                    return root;
                }
                json& top = *stack_.back();
                if (p_ == end_)
                    return fail(error::bad_json);
                const char d = *p_++;
                if (d == ',') {
                    skip_ws();
                    if (top.is_object()) {
                        slot = member_slot(top);
                        if (!slot)
                            return fail(err_);
                    } else {
                        slot = element_slot(top);
                    }
                    break;
                }
                if (d == (top.is_object() ? '}' : ']')) {
                    stack_.pop_back();
                    continue;
                }
                return fail(error::bad_json);
            }
        }
    }

private:
    static bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

    void skip_ws() noexcept
    {
        while (p_ != end_ && is_ws(*p_))
            ++p_;
    }

    boost::system::result<json> fail(error e) const { return make_error_code(e); }

    static json* element_slot(json& array)
    {
        auto& a = array.get_ref<json::array_t&>();
        a.emplace_back();
        return &a.back();
    }

    // Parses `"name" :` (leading whitespace already skipped) and claims the
    // member; a name already present is a duplicate.
    json* member_slot(json& object)
    {
        if (p_ == end_ || *p_ != '"')
            return set_err(error::bad_json);
        ++p_;
        std::string name;
        if (!parse_string(name))
            return set_err(error::bad_json);
        skip_ws();
        if (p_ == end_ || *p_ != ':')
            return set_err(error::bad_json);
        ++p_;
        skip_ws();
        auto [it, inserted] = object.get_ref<json::object_t&>().emplace(std::move(name), json());
        if (!inserted)
            return set_err(error::duplicate_member);
        return &it->second;
    }

    json* set_err(error e)
    {
        err_ = e;
        return nullptr;
    }

    bool parse_literal(json& out)
    {
        const auto rest = static_cast<std::size_t>(end_ - p_);
        const std::string_view at(p_, rest);
        if (at.starts_with("true")) {
            out = true;
            p_ += 4;
        } else if (at.starts_with("false")) {
            out = false;
            p_ += 5;
        } else if (at.starts_with("null")) {
            out = nullptr;
            p_ += 4;
        } else {
            return false;
        }
        return true;
    }

    // Four hex digits after "\u"; -1 when malformed.
    long read_hex4() noexcept
    {
        if (end_ - p_ < 4)
            return -1;
        long v = 0;
        for (int i = 0; i < 4; ++i) {
            const int h = hex_digit_value(p_[i]);
            if (h < 0)
                return -1;
            v = v * 16 + h;
        }
        p_ += 4;
        return v;
    }

    static void append_utf8(std::string& out, unsigned long cp)
    {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    // One well-formed UTF-8 sequence of 2 to 4 bytes (RFC 3629 §4: no
    // overlong forms, no surrogates, nothing above U+10FFFF).
    bool skip_utf8() noexcept
    {
        const std::size_t n =
            utf8_length(reinterpret_cast<const unsigned char*>(p_), static_cast<std::size_t>(end_ - p_));
        p_ += n;
        return n != 0;
    }

    // After the opening quote; leaves p_ after the closing quote.
    bool parse_string(std::string& out)
    {
        const char* run = p_;
        for (;;) {
            if (p_ == end_)
                return false;
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out.append(run, p_);
                ++p_;
                return true;
            }
            if (c < 0x20)
                return false;
            if (c < 0x80 && c != '\\') {
                ++p_;
                continue;
            }
            if (c >= 0x80) {
                if (!skip_utf8())
                    return false;
                continue;
            }
            out.append(run, p_);
            if (++p_ == end_)
                return false;
            switch (*p_++) {
            case '"': out.push_back('"'); break;
            case '\\': out.push_back('\\'); break;
            case '/': out.push_back('/'); break;
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                long cp = read_hex4();
                if (cp < 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
                    return false;  // malformed, or a lone low surrogate
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
                        return false;  // a high surrogate must be followed by a low one
                    p_ += 2;
                    const long low = read_hex4();
                    if (low < 0xDC00 || low > 0xDFFF)
                        return false;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(out, static_cast<unsigned long>(cp));
                break;
            }
            default: return false;
            }
            run = p_;
        }
    }

    // RFC 8259 §6 number. Integers keep nlohmann's types: unsigned when not
    // negative, signed when negative, and a double when they do not fit.
    // A double that overflows is rejected, as nlohmann does.
    bool parse_number(json& out)
    {
        const char* start = p_;
        const auto digit = [this] { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; };
        const bool negative = *p_ == '-';
        if (negative)
            ++p_;
        if (!digit())
            return false;
        if (*p_ == '0') {
            ++p_;
        } else {
            while (digit())
                ++p_;
        }
        bool is_float = false;
        if (p_ != end_ && *p_ == '.') {
            is_float = true;
            ++p_;
            if (!digit())
                return false;
            while (digit())
                ++p_;
        }
        if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
            is_float = true;
            ++p_;
            if (p_ != end_ && (*p_ == '+' || *p_ == '-'))
                ++p_;
            if (!digit())
                return false;
            while (digit())
                ++p_;
        }
        if (!is_float) {
            if (negative) {
                std::int64_t v = 0;
                if (auto r = std::from_chars(start, p_, v); r.ec == std::errc{} && r.ptr == p_) {
                    out = v;
                    return true;
                }
            } else {
                std::uint64_t v = 0;
                if (auto r = std::from_chars(start, p_, v); r.ec == std::errc{} && r.ptr == p_) {
                    out = v;
                    return true;
                }
            }
        }
        double d = 0;
        auto r = std::from_chars(start, p_, d);
        if (r.ec == std::errc::result_out_of_range) {
            // Overflow is an error; underflow rounds towards zero, as strtod does.
            const std::string copy(start, p_);
            d = std::strtod(copy.c_str(), nullptr);
        } else if (r.ec != std::errc{} || r.ptr != p_) {
            return false;
        }
        if (!std::isfinite(d))
            return false;
        out = d;
        return true;
    }

    const char* p_;
    const char* end_;
    std::size_t max_depth_;
    boost::container::small_vector<json*, 16> stack_;  // no allocation up to depth 16
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
    return strict_parser(text, max_depth).run();
}

} // namespace countersign::jose

namespace countersign::jose {
namespace {

using json = nlohmann::json;

bool write_string(std::string_view s, std::string& out)
{
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;  // start of the pending unescaped run
    for (std::size_t i = 0; i < n;) {
        const unsigned c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            const std::size_t len = utf8_length(p + i, n - i);
            if (len == 0)
                return false;
            i += len;
            continue;
        }
        out.append(s.data() + run, i - run);
        out.push_back('\\');
        switch (c) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '\b': out.push_back('b'); break;
        case '\f': out.push_back('f'); break;
        case '\n': out.push_back('n'); break;
        case '\r': out.push_back('r'); break;
        case '\t': out.push_back('t'); break;
        default:
            out.append("u00");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
        run = ++i;
    }
    out.append(s.data() + run, n - run);
    out.push_back('"');
    return true;
}

template <class T>
void write_integer(T v, std::string& out)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void write_float(double v, std::string& out)
{
    if (!std::isfinite(v)) {
        out.append("null");
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    out.append(text);
    if (text.find_first_of(".e") == std::string_view::npos)
        out.append(".0");  // stays a float when read back
}

bool write_value(const json& v, std::string& out)
{
    switch (v.type()) {
    case json::value_t::object: {
        out.push_back('{');
        bool first = true;
        for (const auto& [name, member] : v.get_ref<const json::object_t&>()) {
            if (!first)
                out.push_back(',');
            first = false;
            if (!write_string(name, out))
                return false;
            out.push_back(':');
            if (!write_value(member, out))
                return false;
        }
        out.push_back('}');
        return true;
    }
    case json::value_t::array: {
        out.push_back('[');
        bool first = true;
        for (const auto& element : v.get_ref<const json::array_t&>()) {
            if (!first)
                out.push_back(',');
            first = false;
            if (!write_value(element, out))
                return false;
        }
        out.push_back(']');
        return true;
    }
    case json::value_t::string: return write_string(v.get_ref<const std::string&>(), out);
    case json::value_t::boolean: out.append(v.get<bool>() ? "true" : "false"); return true;
    case json::value_t::number_integer: write_integer(v.get<std::int64_t>(), out); return true;
    case json::value_t::number_unsigned: write_integer(v.get<std::uint64_t>(), out); return true;
    case json::value_t::number_float: write_float(v.get<double>(), out); return true;
    case json::value_t::null: out.append("null"); return true;
    case json::value_t::binary:
    case json::value_t::discarded: return false;
    }
    return false;
}

} // namespace

boost::system::error_code serialize_json(const nlohmann::json& value, std::string& out)
{
    if (!write_value(value, out))
        return make_error_code(error::bad_json);
    return {};
}

} // namespace countersign::jose
