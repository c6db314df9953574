// Prometheus metrics: counter and histogram families with labels, gauges
// computed at scrape time, and the text exposition format (version 0.0.4).
//
// Hot-path rule: resolve a labelled child once (at config load or plugin
// construction) and keep the reference; incrementing it is one relaxed
// atomic add and takes no lock. `with()` takes the family's mutex and is
// meant for load time or for rare events (JWKS fetches, reloads).
// Children are never removed, so references stay valid for the process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace countersign::observability {

class counter {
public:
    void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/// Latency histogram with fixed bucket bounds in seconds.
class histogram {
public:
    /// 0.5 ms … 10 s: proxy latencies from loopback to slow upstreams.
    static const std::vector<double>& default_bounds();

    explicit histogram(const std::vector<double>& bounds);
    void observe(double seconds) noexcept;
    void observe(std::chrono::nanoseconds d) noexcept { observe(std::chrono::duration<double>(d).count()); }

    const std::vector<double>& bounds() const noexcept { return bounds_; }
    /// Non-cumulative count of bucket i (i == bounds().size() is +Inf).
    std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].load(std::memory_order_relaxed); }
    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
    double sum() const noexcept;

private:
    const std::vector<double>& bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
    std::atomic<std::uint64_t> count_{0};
    std::atomic<std::uint64_t> sum_ns_{0};
};

/// A metric family: one name, help text and label names, children by label
/// values. T is counter or histogram.
template <class T>
class family {
public:
    family(std::string name, std::string help, std::vector<std::string> label_names,
           const std::vector<double>* bounds = nullptr);

    /// The child for these label values (created on first use). Takes a lock.
    T& with(const std::vector<std::string>& values);

    const std::string& name() const noexcept { return name_; }
    void render(std::string& out) const;

private:
    std::string name_;
    std::string help_;
    std::vector<std::string> label_names_;
    const std::vector<double>* bounds_;
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

using counter_family = family<counter>;
using histogram_family = family<histogram>;

/// Appends exposition text for a metric family computed at scrape time.
using collector = std::function<void(std::string& out)>;

/// Helpers for collectors.
void write_header(std::string& out, std::string_view name, std::string_view help, std::string_view type);
void write_sample(std::string& out, std::string_view name,
                  const std::vector<std::pair<std::string_view, std::string_view>>& labels, double value);
std::string escape_label_value(std::string_view v);

class registry {
public:
    /// Families are created once and live as long as the registry; asking
    /// again for the same name returns the same family.
    counter_family& counters(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names = {});
    histogram_family& histograms(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names = {});
    /// An unlabelled counter.
    counter& single_counter(const std::string& name, const std::string& help);

    /// Collectors run on each render (gauges such as connections or key age).
    void add_collector(collector c);

    /// The whole exposition, families in name order.
    std::string render() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<counter_family>, std::less<>> counters_;
    std::map<std::string, std::unique_ptr<histogram_family>, std::less<>> histograms_;
    std::vector<collector> collectors_;
};

/// The process-wide registry `GET /metrics` renders.
registry& metrics();

}  // namespace countersign::observability
