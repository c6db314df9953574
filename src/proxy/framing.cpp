#include <countersign/proxy/framing.hpp>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <countersign/core/text.hpp>
#include <countersign/proxy/hop_by_hop.hpp>

namespace countersign::proxy {

namespace {

// RFC 9110 tchar, as a table: std::isalnum is a locale-aware call per byte.
constexpr auto tchar_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (unsigned char c : std::string_view("!#$%&'*+-.^_`|~")) t[c] = true;
    return t;
}();

bool is_tchar(unsigned char c)
{
    return tchar_table[c];
}

bool is_value_char(unsigned char c)
{
    return c == '\t' || c == ' ' || (c >= 0x21 && c != 0x7f);
}

// Every byte a field-value may hold (HTAB, SP, VCHAR, obs-text): sixteen
// bytes per step with SSE2 (eight with SWAR elsewhere); a block with a
// control byte (a tab, say) is checked byte by byte.
bool valid_field_value(std::string_view v)
{
    const char* p = v.data();
    std::size_t n = v.size();
#if defined(__SSE2__)
    const __m128i below_space = _mm_set1_epi8(0x1f);
    const __m128i del = _mm_set1_epi8(0x7f);
    for (; n >= 16; p += 16, n -= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // x <= 0x1f unsigned, or x == 0x7f
        const __m128i ctl = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, below_space), x), _mm_cmpeq_epi8(x, del));
        if (_mm_movemask_epi8(ctl) == 0)
            continue;
        for (int i = 0; i < 16; ++i)
            if (!is_value_char(static_cast<unsigned char>(p[i])))
                return false;
    }
#endif
    for (; n >= 8; p += 8, n -= 8) {
        const auto x = detail::load8(p);
        const bool has_del = detail::any_byte_below(x ^ (detail::swar_ones * 0x7F), 1);
        if (!has_del && !detail::any_byte_below(x, 0x20))
            continue;
        for (int i = 0; i < 8; ++i)
            if (!is_value_char(static_cast<unsigned char>(p[i])))
                return false;
    }
    for (; n > 0; ++p, --n)
        if (!is_value_char(static_cast<unsigned char>(*p)))
            return false;
    return true;
}

framing_error check_field_line(std::string_view line)
{
    if (line.front() == ' ' || line.front() == '\t')
        return framing_error::obs_fold;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return framing_error::bad_field_name;
    auto name = line.substr(0, colon);
    if (name.back() == ' ' || name.back() == '\t')
        return framing_error::space_before_colon;
    for (unsigned char c : name)
        if (!is_tchar(c))
            return framing_error::bad_field_name;
    if (!valid_field_value(line.substr(colon + 1)))
        return framing_error::bad_field_value;
    return framing_error::none;
}

// Host = uri-host [ ":" port ]; reg-name or IP literal, no userinfo.
bool valid_host(std::string_view h)
{
    if (h.empty())
        return false;
    std::string_view port;
    if (h.front() == '[') {
        auto close = h.find(']');
        if (close == std::string_view::npos)
            return false;
        for (char c : h.substr(1, close - 1))
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
                return false;
        auto rest = h.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return false;
            port = rest.substr(1);
            if (port.empty())
                return false;
        }
    } else {
        auto colon = h.find(':');
        auto name = h.substr(0, colon);
        if (name.empty())
            return false;
        for (unsigned char c : name)
            if (!std::isalnum(c) && c != '-' && c != '.' && c != '_' && c != '~')
                return false;
        if (colon != std::string_view::npos) {
            port = h.substr(colon + 1);
            if (port.empty())
                return false;
        }
    }
    if (!port.empty()) {
        if (port.size() > 5)
            return false;
        unsigned long n = 0;
        for (char c : port) {
            if (!std::isdigit(static_cast<unsigned char>(c)))
                return false;
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (n > 65535)
            return false;
    }
    return true;
}

// Segment "." or ".." after percent-decoding "%2e" (without building the
// decoded string: this runs for every segment of every request path).
bool is_dot_segment(std::string_view seg)
{
    std::size_t dots = 0;
    std::size_t i = 0;
    while (i < seg.size()) {
        if (seg[i] == '.')
            i += 1;
        else if (seg[i] == '%' && seg.size() - i >= 3 && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E'))
            i += 3;
        else
            return false;
        if (++dots > 2)
            return false;
    }
    return dots > 0;
}

framing_error check_target(http::verb method, std::string_view target)
{
    if (target.empty())
        return framing_error::bad_target;
    if (target == "*")
        return method == http::verb::options ? framing_error::none : framing_error::bad_target;
    if (target.front() != '/')
        return framing_error::bad_target;  // absolute-form and authority-form are not served
    for (unsigned char c : target)
        if (c <= 0x20 || c == 0x7f || c == '#' || c == '\\' || c >= 0x80)
            return framing_error::bad_target;
    auto path = target.substr(0, target.find('?'));
    for (std::size_t i = 0; i + 2 < path.size(); ++i) {
        if (path[i] != '%')
            continue;
        char a = path[i + 1], b = static_cast<char>(std::tolower(static_cast<unsigned char>(path[i + 2])));
        if ((a == '0' && b == '0') || (a == '5' && b == 'c'))
            return framing_error::bad_target;  // encoded NUL or backslash
    }
    std::size_t pos = 1;
    while (pos <= path.size()) {
        auto slash = path.find('/', pos);
        auto seg = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        if (is_dot_segment(seg))
            return framing_error::bad_target;
        if (slash == std::string_view::npos)
            break;
        pos = slash + 1;
    }
    return framing_error::none;
}

// The fields the framing checks look at, found in one walk over the
// message's fields (by the name Beast resolved while parsing) instead of
// one set search per count and per value.
struct framing_fields {
    std::size_t hosts = 0;
    std::size_t content_lengths = 0;
    std::size_t transfer_encodings = 0;
    bool connection = false;
    std::string_view host;               // the first of each
    std::string_view content_length;
    std::string_view transfer_encoding;
};

framing_fields scan_framing_fields(const http::fields& f)
{
    framing_fields out;
    for (const auto& e : f) {
        switch (e.name()) {
        case http::field::host:
            if (out.hosts++ == 0)
                out.host = e.value();
            break;
        case http::field::content_length:
            if (out.content_lengths++ == 0)
                out.content_length = e.value();
            break;
        case http::field::transfer_encoding:
            if (out.transfer_encodings++ == 0)
                out.transfer_encoding = e.value();
            break;
        case http::field::connection: out.connection = true; break;
        default: break;
        }
    }
    return out;
}

framing_error check_body_framing(const framing_fields& f, bool http10)
{
    const auto cl = f.content_lengths;
    const auto te = f.transfer_encodings;
    if (cl > 0 && te > 0)
        return framing_error::cl_and_te;
    if (cl > 1)
        return framing_error::multiple_content_length;
    if (cl == 1 && !parse_content_length(f.content_length))
        return framing_error::bad_content_length;
    if (te > 0) {
        if (http10)
            return framing_error::te_in_http10;
        if (te > 1 || !ascii_iequals(trim_ows(f.transfer_encoding), "chunked"))
            return framing_error::bad_transfer_encoding;
    }
    return framing_error::none;
}

}  // namespace

std::string_view to_string(framing_error e)
{
    switch (e) {
    case framing_error::none: return "ok";
    case framing_error::bare_cr: return "bare CR";
    case framing_error::bare_lf: return "bare LF";
    case framing_error::obs_fold: return "obs-fold or whitespace before a field line";
    case framing_error::space_before_colon: return "whitespace between field name and colon";
    case framing_error::bad_field_name: return "invalid field name";
    case framing_error::bad_field_value: return "invalid field value";
    case framing_error::bad_request_line: return "invalid request line";
    case framing_error::bad_version: return "unsupported HTTP version";
    case framing_error::bad_target: return "invalid request target";
    case framing_error::method_not_allowed: return "method not allowed";
    case framing_error::missing_host: return "missing Host";
    case framing_error::multiple_host: return "multiple Host fields";
    case framing_error::bad_host: return "invalid Host";
    case framing_error::cl_and_te: return "both Content-Length and Transfer-Encoding";
    case framing_error::multiple_content_length: return "multiple Content-Length";
    case framing_error::bad_content_length: return "invalid Content-Length";
    case framing_error::bad_transfer_encoding: return "unsupported Transfer-Encoding";
    case framing_error::te_in_http10: return "Transfer-Encoding in HTTP/1.0";
    case framing_error::connection_protected: return "Connection names a protected field";
    }
    return "unknown";
}

unsigned request_status(framing_error e)
{
    switch (e) {
    case framing_error::bad_version: return 505;
    case framing_error::method_not_allowed: return 405;
    default: return 400;
    }
}

namespace {

// One byte of the line-ending check: a CR must be followed by LF (a CR that
// is the last byte so far is decided when the next byte arrives), an LF must
// follow a CR. Returns the error for the byte at i, or none.
inline framing_error line_ending_at(const char* data, std::size_t size, std::size_t i)
{
    if (data[i] == '\r') {
        if (i + 1 < size && data[i + 1] != '\n')
            return framing_error::bare_cr;
    } else if (data[i] == '\n') {
        if (i == 0 || data[i - 1] != '\r')
            return framing_error::bare_lf;
    }
    return framing_error::none;
}

}  // namespace

framing_error check_line_endings(std::string_view partial, std::size_t from, std::size_t& scanned)
{
    // The first CR not followed by LF, or LF not preceded by CR, decides.
    const char* data = partial.data();
    const std::size_t size = partial.size();
    std::size_t i = from;
#if defined(__SSE2__)
    // Sixteen bytes per step: masks of the CRs and LFs; a CR's bit must have
    // an LF bit one above it, an LF's bit a CR bit one below it (the bytes
    // either side of the block included). Heads are mostly short lines, so
    // this beats two memchr calls per line.
    const __m128i cr_v = _mm_set1_epi8('\r');
    const __m128i lf_v = _mm_set1_epi8('\n');
    for (; i + 16 <= size; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + i));
        const unsigned cr = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, cr_v)));
        const unsigned lf = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, lf_v)));
        if ((cr | lf) == 0)
            continue;
        const bool lf_after = i + 16 < size && data[i + 16] == '\n';
        const bool cr_before = i > 0 && data[i - 1] == '\r';
        unsigned bad_cr = cr & ~((lf >> 1) | (lf_after ? 0x8000u : 0u));
        if (i + 16 == size)
            bad_cr &= 0x7fffu;  // the last byte so far: wait for the next
        const unsigned bad_lf = lf & ~(((cr << 1) & 0xffffu) | (cr_before ? 1u : 0u));
        if (const unsigned bad = bad_cr | bad_lf; bad != 0)
            return (bad_cr & (bad & (0u - bad))) != 0 ? framing_error::bare_cr : framing_error::bare_lf;
    }
#endif
    for (; i < size; ++i)
        if (auto e = line_ending_at(data, size, i); e != framing_error::none)
            return e;
    scanned = size > from && data[size - 1] == '\r' ? size - 1 : std::max(from, size);
    return framing_error::none;
}

framing_error check_raw_head(std::string_view raw, bool is_request)
{
    std::size_t scanned = 0;
    if (auto e = check_line_endings(raw, 0, scanned); e != framing_error::none)
        return e;
    return check_head_lines(raw, is_request);
}

framing_error check_head_lines(std::string_view raw, bool is_request)
{
    if (raw.size() < 4 || raw.substr(raw.size() - 4) != "\r\n\r\n")
        return framing_error::bad_request_line;
    auto body = raw.substr(0, raw.size() - 2);  // keep the CRLF of the last line
    auto eol = body.find("\r\n");
    auto start_line = body.substr(0, eol);
    if (start_line.empty())
        return framing_error::bad_request_line;
    // Exactly two single spaces; no tabs or other CTLs.
    std::size_t spaces = 0;
    for (std::size_t i = 0; i < start_line.size(); ++i) {
        unsigned char c = start_line[i];
        if (c == ' ') {
            ++spaces;
            if (is_request && (i == 0 || start_line[i - 1] == ' '))
                return framing_error::bad_request_line;
        } else if (c < 0x20 || c == 0x7f) {
            return framing_error::bad_request_line;
        }
    }
    if (is_request && spaces < 2)
        return framing_error::bad_request_line;
    std::size_t pos = eol + 2;
    while (pos < body.size()) {
        auto next = body.find("\r\n", pos);
        auto line = body.substr(pos, next - pos);
        if (line.empty())
            return framing_error::bad_field_name;  // stray empty line inside the block
        if (auto e = check_field_line(line); e != framing_error::none)
            return e;
        pos = next + 2;
    }
    return framing_error::none;
}

framing_error check_request_head(const http::request_header<>& req)
{
    if (req.version() != 11 && req.version() != 10)
        return framing_error::bad_version;
    if (req.method() == http::verb::connect || req.method() == http::verb::trace)
        return framing_error::method_not_allowed;
    if (auto e = check_target(req.method(), req.target()); e != framing_error::none)
        return e;
    const auto fields = scan_framing_fields(req);
    if (fields.hosts > 1)
        return framing_error::multiple_host;
    if (fields.hosts == 0 && req.version() == 11)
        return framing_error::missing_host;
    if (fields.hosts == 1 && !valid_host(trim_ows(fields.host)))
        return framing_error::bad_host;
    if (auto e = check_body_framing(fields, req.version() == 10); e != framing_error::none)
        return e;
    if (fields.connection && connection_names_protected_field(req))
        return framing_error::connection_protected;
    return framing_error::none;
}

framing_error check_response_head(const http::response_header<>& res)
{
    if (res.version() != 11 && res.version() != 10)
        return framing_error::bad_version;
    return check_body_framing(scan_framing_fields(res), false);
}

std::optional<std::uint64_t> parse_content_length(std::string_view v)
{
    if (v.empty() || v.size() > 15)
        return std::nullopt;
    std::uint64_t n = 0;
    for (char c : v) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

}  // namespace countersign::proxy
