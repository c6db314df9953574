// The metric families and the Prometheus text format.
#include <catch2/catch.hpp>

#include <countersign/observability/metrics.hpp>

using namespace countersign::observability;

TEST_CASE("metrics: counters with labels render in the text format", "[observability]")
{
    registry r;
    auto& fam = r.counters("countersign_test_total", "A test counter.", {"route", "code"});
    fam.with({"a", "200"}).inc();
    fam.with({"a", "200"}).inc(2);
    fam.with({"b\"x\\y\nz", "404"}).inc();
    r.single_counter("countersign_plain_total", "Plain.").inc(5);
    const auto text = r.render();
    CHECK(text.find("# HELP countersign_test_total A test counter.\n# TYPE countersign_test_total counter\n") !=
          std::string::npos);
    CHECK(text.find("countersign_test_total{route=\"a\",code=\"200\"} 3\n") != std::string::npos);
    CHECK(text.find("countersign_test_total{route=\"b\\\"x\\\\y\\nz\",code=\"404\"} 1\n") != std::string::npos);
    CHECK(text.find("countersign_plain_total 5\n") != std::string::npos);
    // Families in name order.
    CHECK(text.find("countersign_plain_total") < text.find("countersign_test_total"));
    // The same name returns the same family.
    CHECK(&r.counters("countersign_test_total", "ignored") == &fam);
}

TEST_CASE("metrics: histograms are cumulative with +Inf == count", "[observability]")
{
    registry r;
    auto& h = r.histograms("countersign_latency_seconds", "Latency.", {"route"}).with({"a"});
    h.observe(0.0001);
    h.observe(0.003);
    h.observe(0.003);
    h.observe(100.0);
    const auto text = r.render();
    CHECK(text.find("# TYPE countersign_latency_seconds histogram") != std::string::npos);
    CHECK(text.find("countersign_latency_seconds_bucket{route=\"a\",le=\"0.0005\"} 1\n") != std::string::npos);
    CHECK(text.find("countersign_latency_seconds_bucket{route=\"a\",le=\"0.005\"} 3\n") != std::string::npos);
    CHECK(text.find("countersign_latency_seconds_bucket{route=\"a\",le=\"10\"} 3\n") != std::string::npos);
    CHECK(text.find("countersign_latency_seconds_bucket{route=\"a\",le=\"+Inf\"} 4\n") != std::string::npos);
    CHECK(text.find("countersign_latency_seconds_count{route=\"a\"} 4\n") != std::string::npos);
    CHECK(h.sum() == Approx(100.0061).epsilon(1e-6));
}

TEST_CASE("metrics: collectors append scrape-time families", "[observability]")
{
    registry r;
    int calls = 0;
    r.add_collector([&](std::string& out) {
        ++calls;
        write_header(out, "countersign_gauge", "A gauge.", "gauge");
        write_sample(out, "countersign_gauge", {{"keyset", "k"}}, 42);
    });
    const auto text = r.render();
    CHECK(calls == 1);
    CHECK(text.find("# TYPE countersign_gauge gauge\ncountersign_gauge{keyset=\"k\"} 42\n") != std::string::npos);
}
