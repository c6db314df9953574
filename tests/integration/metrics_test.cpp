// GET /metrics on the admin listener: Prometheus' own `promtool check
// metrics` accepts the output, and the counters move as requests succeed
// and fail.
#include "jwt_signer_support.hpp"

#include <cstdlib>
#include <sstream>

using namespace jwt_it;

namespace {

double sample(const std::string& text, const std::string& name, const std::vector<std::string>& filters = {})
{
    double sum = 0;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        if (line.compare(0, name.size(), name) != 0) continue;
        const char next = line.size() > name.size() ? line[name.size()] : ' ';
        if (next != ' ' && next != '{') continue;
        bool all = true;
        for (const auto& f : filters) all = all && line.find(f) != std::string::npos;
        if (!all) continue;
        sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
}

std::string promtool_check(const std::string& text, int* status)
{
    static temp_dir dir("countersign-promtool");
    static std::atomic<int> n{0};
    const auto f = dir.write("metrics" + std::to_string(++n) + ".txt", text);
    return run_command("promtool check metrics < " + f.string() + " 2>&1", status);
}

}  // namespace

TEST_CASE("metrics: promtool accepts /metrics and counters move with traffic", "[integration][metrics]")
{
    idp_server idp;
    idp.set_jwks(idp_keys::get().jwks);
    echo_upstream up;
    json jwt_cfg{{"access_token_jwks_uri", idp.url(idp_server::jwks_path)},
                 {"channel_token_optional", true},
                 {"access_token_signing_algorithm", "ES256"}};
    const std::string yaml = R"(_format_version: "3.0"
countersign:
  workers: 2
  data_dir: "{{DIR}}/data"
services:
  - name: echo
    url: http://127.0.0.1:)" + std::to_string(up.port()) + R"(
    routes:
      - name: open
        paths: ["/open"]
      - name: secured
        paths: ["/secured"]
        plugins:
          - name: jwt-signer
            config: )" + jwt_cfg.dump() + "\n";
    gateway_process gw(yaml);
    const auto port = gw.proxy_port();

    // Before any traffic: valid, and the jwt-signer families exist.
    auto r = get(gw.admin_port(), "/metrics");
    REQUIRE(r.status == 200);
    CHECK(r.header("content-type").find("text/plain") == 0);
    int status = -1;
    auto out = promtool_check(r.body, &status);
    INFO(out);
    CHECK(status == 0);
    CHECK(r.body.find("# TYPE countersign_jwt_signer_results_total counter") != std::string::npos);

    for (int i = 0; i < 3; ++i) REQUIRE(get(port, "/open").status == 200);
    REQUIRE(get(port, "/nowhere").status == 404);
    const auto token = idp_keys::get().token(default_claims());
    REQUIRE(get(port, "/secured", {{"Authorization", bearer(token)}}).status == 200);
    auto tampered = token;
    tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
    REQUIRE(get(port, "/secured", {{"Authorization", bearer(tampered)}}).status == 401);
    REQUIRE(get(port, "/secured").status == 401);

    r = get(gw.admin_port(), "/metrics");
    REQUIRE(r.status == 200);
    const auto& m = r.body;
    status = -1;
    out = promtool_check(m, &status);
    INFO(out);
    CHECK(status == 0);
    INFO(m);

    CHECK(sample(m, "countersign_http_requests_total", {"route=\"open\"", "code=\"200\"", "service=\"echo\""}) == 3);
    CHECK(sample(m, "countersign_http_requests_total", {"route=\"\"", "code=\"404\""}) == 1);
    CHECK(sample(m, "countersign_http_requests_total", {"route=\"secured\"", "code=\"401\""}) == 2);
    CHECK(sample(m, "countersign_http_request_duration_seconds_count", {"route=\"open\""}) == 3);
    CHECK(sample(m, "countersign_upstream_duration_seconds_count", {"route=\"open\""}) == 3);
    CHECK(sample(m, "countersign_upstream_duration_seconds_count", {"route=\"secured\""}) == 1);
    CHECK(sample(m, "countersign_jwt_signer_results_total", {"token=\"access\"", "result=\"ok\""}) == 1);
    CHECK(sample(m, "countersign_jwt_signer_results_total", {"token=\"access\"", "result=\"bad_signature\""}) == 1);
    CHECK(sample(m, "countersign_jwt_signer_results_total", {"token=\"access\"", "result=\"missing\""}) == 1);
    CHECK(sample(m, "countersign_signings_total", {"keyset=\"kong\"", "alg=\"ES256\""}) == 1);
    CHECK(sample(m, "countersign_jwks_fetches_total", {"result=\"ok\""}) >= 1);
    CHECK(sample(m, "countersign_connections_accepted_total") >= 6);
    CHECK(m.find("countersign_keyset_generation_age_seconds{keyset=\"kong\"}") != std::string::npos);
    CHECK(sample(m, "countersign_verified_token_cache_misses_total") >= 1);

    // They keep moving (the fourth use of the token hits the verified
    // cache: the first was verified while the JWKS was being fetched, and
    // the cache admits a token on its second sighting).
    for (int i = 0; i < 3; ++i)
        REQUIRE(get(port, "/secured", {{"Authorization", bearer(token)}}).status == 200);
    const auto m2 = get(gw.admin_port(), "/metrics").body;
    CHECK(sample(m2, "countersign_jwt_signer_results_total", {"token=\"access\"", "result=\"ok\""}) == 4);
    CHECK(sample(m2, "countersign_verified_token_cache_hits_total") >= 1);
    CHECK(sample(m2, "countersign_minted_token_cache_hits_total") >= 1);
    CHECK(sample(m2, "countersign_http_requests_total", {"route=\"secured\"", "code=\"200\""}) == 4);
}
