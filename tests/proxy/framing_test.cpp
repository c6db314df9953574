#include <countersign/proxy/framing.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

using namespace countersign;
using proxy::framing_error;

namespace {

http::request_header<> head(std::vector<std::pair<std::string, std::string>> fields, unsigned version = 11,
                            std::string target = "/", http::verb method = http::verb::post)
{
    http::request_header<> h;
    h.method(method);
    h.target(target);
    h.version(version);
    for (auto& [k, v] : fields)
        h.insert(k, v);
    return h;
}

}  // namespace

TEST_CASE("framing: raw head accepts a clean request", "[proxy][framing]")
{
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: b c\t\r\n\r\n") == framing_error::none);
    CHECK(proxy::check_raw_head("GET /x?y=1 HTTP/1.1\r\nHost: a\r\nEmpty:\r\n\r\n") == framing_error::none);
}

TEST_CASE("framing: raw head rejects obs-fold, bad names and line endings", "[proxy][framing]")
{
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n") == framing_error::obs_fold);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n") == framing_error::obs_fold);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\n Host: a\r\n\r\n") == framing_error::obs_fold);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nHost : a\r\n\r\n") == framing_error::space_before_colon);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nTransfer-Encoding\t: chunked\r\n\r\n") ==
          framing_error::space_before_colon);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n") == framing_error::bad_field_name);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\n: a\r\n\r\n") == framing_error::bad_field_name);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nNoColon\r\n\r\n") == framing_error::bad_field_name);
    CHECK(proxy::check_raw_head(std::string_view("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 26)) ==
          framing_error::bad_field_value);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n") == framing_error::bad_field_value);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n") == framing_error::bare_cr);
    CHECK(proxy::check_raw_head("GET / HTTP/1.1\nHost: a\r\n\r\n") == framing_error::bare_lf);
    CHECK(proxy::check_raw_head("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == framing_error::bad_request_line);
    CHECK(proxy::check_raw_head("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n") == framing_error::bad_request_line);
}

TEST_CASE("framing: check_head_lines is check_raw_head after the line endings", "[proxy][framing]")
{
    // The server runs check_line_endings while reading, then check_head_lines
    // on the block: together they must reject what check_raw_head rejects.
    const std::string_view heads[] = {
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: b c\t\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHo\"st: a\r\n\r\n",
        "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n",
    };
    for (auto raw : heads) {
        INFO(raw);
        std::size_t scanned = 0;
        auto e = proxy::check_line_endings(raw, 0, scanned);
        if (e == framing_error::none)
            e = proxy::check_head_lines(raw);
        CHECK(e == proxy::check_raw_head(raw));
    }
    CHECK(proxy::check_head_lines("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n") == framing_error::obs_fold);
    CHECK(proxy::check_head_lines("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false) == framing_error::obs_fold);
    CHECK(proxy::check_head_lines("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == framing_error::none);
}

TEST_CASE("framing: incremental line-ending check", "[proxy][framing]")
{
    std::size_t scanned = 0;
    CHECK(proxy::check_line_endings("GET / HTTP/1.1\r", 0, scanned) == framing_error::none);
    CHECK(scanned == 14);  // the trailing CR waits for its LF
    CHECK(proxy::check_line_endings("GET / HTTP/1.1\r\nX: y\n", scanned, scanned) == framing_error::bare_lf);

    // Resuming at the held-back CR: its LF arrived, the next line is clean.
    scanned = 0;
    CHECK(proxy::check_line_endings("A\r", 0, scanned) == framing_error::none);
    CHECK(scanned == 1);
    CHECK(proxy::check_line_endings("A\r\nB: c\r\n\r\n", scanned, scanned) == framing_error::none);
    CHECK(scanned == 11);

    // Every position a stray CR or LF can take.
    CHECK(proxy::check_line_endings("\nA", 0, scanned) == framing_error::bare_lf);
    CHECK(proxy::check_line_endings("\r\r\n", 0, scanned) == framing_error::bare_cr);
    CHECK(proxy::check_line_endings("A\r\n\n", 0, scanned) == framing_error::bare_lf);
    CHECK(proxy::check_line_endings("A\r\nB\rC\r\n", 0, scanned) == framing_error::bare_cr);
    CHECK(proxy::check_line_endings("A\r\n\r\n", 0, scanned) == framing_error::none);
    CHECK(scanned == 5);
    CHECK(proxy::check_line_endings("no line end at all", 0, scanned) == framing_error::none);
    CHECK(scanned == 18);
}

namespace {

// The rule, one byte at a time: the first CR not followed by LF (a CR that is
// the last byte waits) or LF not preceded by CR decides.
framing_error reference_line_endings(std::string_view s, std::size_t from, std::size_t& scanned)
{
    for (std::size_t i = from; i < s.size(); ++i) {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] != '\n')
            return framing_error::bare_cr;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            return framing_error::bare_lf;
    }
    scanned = !s.empty() && s.size() > from && s.back() == '\r' ? s.size() - 1 : s.size();
    return framing_error::none;
}

}  // namespace

TEST_CASE("framing: line-ending scan agrees with a byte loop at every length and offset", "[proxy][framing]")
{
    // Every string over {a, CR, LF} is too many; a fixed pseudo-random sample
    // of them, at lengths around the 16-byte blocks, and every start offset.
    std::uint32_t seed = 12345;
    auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    const char alphabet[] = {'a', 'a', 'a', '\r', '\n'};
    std::size_t disagreements = 0;
    for (int round = 0; round < 20000; ++round) {
        const std::size_t len = next() % 50;
        std::string s(len, 'a');
        for (auto& c : s)
            c = alphabet[next() % 5];
        // Mostly-valid heads too: CRLF pairs with one defect at most.
        if (round % 2 == 0)
            for (std::size_t i = 0; i + 1 < len; i += 1 + next() % 7)
                s[i] = '\r', s[i + 1] = '\n';
        for (std::size_t from = 0; from <= len; ++from) {
            std::size_t got_scanned = 999, want_scanned = 999;
            const auto got = proxy::check_line_endings(s, from, got_scanned);
            const auto want = reference_line_endings(s, from, want_scanned);
            if (got != want || (got == framing_error::none && got_scanned != want_scanned)) {
                ++disagreements;
                INFO("len " << len << " from " << from);
                CHECK(got == want);
                CHECK(got_scanned == want_scanned);
            }
        }
    }
    CHECK(disagreements == 0);
}

TEST_CASE("framing: field values accept exactly HTAB, SP, VCHAR and obs-text, at every position",
          "[proxy][framing]")
{
    // Lengths around the 16- and 8-byte steps of the value scan; CR and LF
    // are left out (they end the line, and the line-ending check owns them).
    for (int b = 0; b < 256; ++b) {
        if (b == '\r' || b == '\n')
            continue;
        const bool allowed = b == '\t' || b == ' ' || (b >= 0x21 && b != 0x7f);
        for (std::size_t len : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 40u}) {
            for (std::size_t at = 0; at < len; ++at) {
                std::string value(len, 'v');
                value[at] = static_cast<char>(b);
                // Leading/trailing whitespace is OWS, not part of the value
                // grammar, but still allowed: the check accepts it either way.
                const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "\r\n\r\n";
                INFO("byte " << b << " at " << at << " of " << len);
                CHECK((proxy::check_raw_head(raw) == framing_error::none) == allowed);
            }
        }
    }
}

TEST_CASE("framing: Content-Length and Transfer-Encoding (H01-H05)", "[proxy][framing]")
{
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Content-Length", "5"}})) == framing_error::none);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Transfer-Encoding", "chunked"}})) == framing_error::none);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Transfer-Encoding", " Chunked "}})) ==
          framing_error::none);

    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}})) ==
          framing_error::cl_and_te);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}})) ==
          framing_error::cl_and_te);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Content-Length", "5"}, {"Content-Length", "5"}})) ==
          framing_error::multiple_content_length);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Content-Length", "5"}, {"Content-Length", "6"}})) ==
          framing_error::multiple_content_length);
    for (const char* bad : {"5, 5", "+5", "-1", "0x10", " 5 0", "", "1234567890123456", "5a"})
        CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Content-Length", bad}})) ==
              framing_error::bad_content_length);
    for (const char* bad : {"chunked, chunked", "xchunked", ",chunked", "chunked, identity", "gzip",
                            "gzip, chunked", "identity", "chunked\x0b"})
        CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Transfer-Encoding", bad}})) ==
              framing_error::bad_transfer_encoding);
    CHECK(proxy::check_request_head(
              head({{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})) ==
          framing_error::bad_transfer_encoding);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Transfer-Encoding", "chunked"}}, 10)) ==
          framing_error::te_in_http10);
}

TEST_CASE("framing: Host rules (H12)", "[proxy][framing]")
{
    CHECK(proxy::check_request_head(head({})) == framing_error::missing_host);
    CHECK(proxy::check_request_head(head({}, 10)) == framing_error::none);
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Host", "b"}})) == framing_error::multiple_host);
    for (const char* bad : {"", "user@h", "a:1:2", "a:99999", "a:", "a b", "[::1"})
        CHECK(proxy::check_request_head(head({{"Host", bad}})) == framing_error::bad_host);
    for (const char* good : {"a", "a.example.com:8000", "127.0.0.1", "[::1]:80"})
        CHECK(proxy::check_request_head(head({{"Host", good}})) == framing_error::none);
}

TEST_CASE("framing: request target, version, method (H11, H13, H16)", "[proxy][framing]")
{
    auto t = [](std::string target, http::verb m = http::verb::get) {
        return proxy::check_request_head(head({{"Host", "a"}}, 11, std::move(target), m));
    };
    CHECK(t("/a/b?c=d") == framing_error::none);
    CHECK(t("http://evil/") == framing_error::bad_target);
    CHECK(t("/a#frag") == framing_error::bad_target);
    CHECK(t("/a/../admin") == framing_error::bad_target);
    CHECK(t("/a/%2e%2E/admin") == framing_error::bad_target);
    CHECK(t("/a/.") == framing_error::bad_target);
    CHECK(t("/a%00") == framing_error::bad_target);
    CHECK(t("/a%5cb") == framing_error::bad_target);
    CHECK(t("/a\\b") == framing_error::bad_target);
    CHECK(t("/a/..b/c") == framing_error::none);
    // Dot segments in every spelling, and near misses that are plain names.
    for (const char* dot : {"/a/%2e", "/a/%2E/b", "/a/.%2e/b", "/a/%2e./b", "/a/%2e%2e", "/./a"})
        CHECK(t(dot) == framing_error::bad_target);
    for (const char* plain : {"/a/.../b", "/a/%2e%2e%2e/b", "/a/%2e%2/b", "/a/%2f/b", "/a/%2ex/b", "/a/.x", "/a/%2", "/a/"})
        CHECK(t(plain) == framing_error::none);
    CHECK(t("*") == framing_error::bad_target);
    CHECK(t("*", http::verb::options) == framing_error::none);
    CHECK(t("/", http::verb::trace) == framing_error::method_not_allowed);
    CHECK(proxy::request_status(framing_error::method_not_allowed) == 405);
    CHECK(proxy::check_request_head(head({{"Host", "a"}}, 20)) == framing_error::bad_version);
    CHECK(proxy::request_status(framing_error::bad_version) == 505);
}

TEST_CASE("framing: Connection naming a protected field", "[proxy][framing]")
{
    CHECK(proxy::check_request_head(head({{"Host", "a"}, {"Connection", "close, X-Forwarded-For"}})) ==
          framing_error::connection_protected);
}

TEST_CASE("framing: upstream response rules (H18)", "[proxy][framing]")
{
    http::response_header<> r;
    r.version(11);
    r.result(200);
    r.insert("Content-Length", "1");
    r.insert("Transfer-Encoding", "chunked");
    CHECK(proxy::check_response_head(r) == framing_error::cl_and_te);
    CHECK(proxy::check_raw_head("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false) == framing_error::obs_fold);
    CHECK(proxy::check_raw_head("HTTP/1.1 200\r\nX: a\r\n\r\n", false) == framing_error::none);
}

TEST_CASE("framing: parse_content_length", "[proxy][framing]")
{
    CHECK(proxy::parse_content_length("0") == 0u);
    CHECK(proxy::parse_content_length("123456789012345") == 123456789012345u);
    CHECK_FALSE(proxy::parse_content_length("1234567890123456"));
    CHECK_FALSE(proxy::parse_content_length("1 "));
}

// The value check runs eight bytes at a time: every byte value, at every
// offset of a long value, must get the byte-by-byte verdict.
TEST_CASE("framing: every byte value at every offset of a long field value", "[proxy][framing]")
{
    for (int b = 0; b < 256; ++b) {
        if (b == '\r' || b == '\n')
            continue;  // line endings have their own checks above
        const bool allowed = b == '\t' || b == ' ' || (b >= 0x21 && b != 0x7f);
        for (std::size_t at = 0; at < 19; ++at) {
            std::string value(19, 'v');
            value[at] = static_cast<char>(b);
            const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: v" + value + "v\r\n\r\n";
            INFO("byte " << b << " at " << at);
            CHECK((proxy::check_raw_head(head) == framing_error::none) == allowed);
        }
    }
}
