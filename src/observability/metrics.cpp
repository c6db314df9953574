#include <countersign/observability/metrics.hpp>

#include <cmath>
#include <cstdio>

namespace countersign::observability {

namespace {

std::string format_number(double v)
{
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (std::isnan(v)) return "NaN";
    if (v == std::floor(v) && std::fabs(v) < 1e15) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", v);
        return buf;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

void write_labels(std::string& out, const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view extra_name = {}, std::string_view extra_value = {})
{
    if (names.empty() && extra_name.empty()) return;
    out += '{';
    bool first = true;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!first) out += ',';
        first = false;
        out += names[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    if (!extra_name.empty()) {
        if (!first) out += ',';
        out += extra_name;
        out += "=\"";
        out += extra_value;
        out += '"';
    }
    out += '}';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const counter& c)
{
    out += name;
    write_labels(out, label_names, values);
    out += ' ';
    out += std::to_string(c.value());
    out += '\n';
}

void render_child(std::string& out, const std::string& name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, const histogram& h)
{
    // Read the buckets first and derive the count from them, so a scrape
    // that races an observation stays self-consistent (+Inf == _count).
    std::uint64_t cumulative = 0;
    const auto& bounds = h.bounds();
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
        cumulative += h.bucket(i);
        out += name;
        out += "_bucket";
        write_labels(out, label_names, values, "le", i < bounds.size() ? format_number(bounds[i]) : "+Inf");
        out += ' ';
        out += std::to_string(cumulative);
        out += '\n';
    }
    out += name + "_sum";
    write_labels(out, label_names, values);
    out += ' ' + format_number(h.sum()) + '\n';
    out += name + "_count";
    write_labels(out, label_names, values);
    out += ' ' + std::to_string(cumulative) + '\n';
}

}  // namespace

const std::vector<double>& histogram::default_bounds()
{
    static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    return b;
}

histogram::histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<std::uint64_t>[bounds.size() + 1])
{
    for (std::size_t i = 0; i <= bounds.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void histogram::observe(double seconds) noexcept
{
    if (!(seconds >= 0)) seconds = 0;
    std::size_t i = 0;
    while (i < bounds_.size() && seconds > bounds_[i]) ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

double histogram::sum() const noexcept
{
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

template <class T>
family<T>::family(std::string name, std::string help, std::vector<std::string> label_names,
                  const std::vector<double>* bounds)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), bounds_(bounds)
{
}

template <class T>
T& family<T>::with(const std::vector<std::string>& values)
{
    std::vector<std::string> key = values;
    key.resize(label_names_.size());
    std::lock_guard lock(mutex_);
    auto& slot = children_[key];
    if (!slot) {
        if constexpr (std::is_same_v<T, histogram>)
            slot = std::make_unique<T>(bounds_ ? *bounds_ : histogram::default_bounds());
        else
            slot = std::make_unique<T>();
    }
    return *slot;
}

template <class T>
void family<T>::render(std::string& out) const
{
    write_header(out, name_, help_, std::is_same_v<T, histogram> ? "histogram" : "counter");
    std::lock_guard lock(mutex_);
    for (const auto& [values, child] : children_) render_child(out, name_, label_names_, values, *child);
}

template class family<counter>;
template class family<histogram>;

void write_header(std::string& out, std::string_view name, std::string_view help, std::string_view type)
{
    out += "# HELP ";
    out += name;
    out += ' ';
    for (char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void write_sample(std::string& out, std::string_view name,
                  const std::vector<std::pair<std::string_view, std::string_view>>& labels, double value)
{
    out += name;
    if (!labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
            if (!first) out += ',';
            first = false;
            out += k;
            out += "=\"";
            out += escape_label_value(v);
            out += '"';
        }
        out += '}';
    }
    out += ' ';
    out += format_number(value);
    out += '\n';
}

std::string escape_label_value(std::string_view v)
{
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

counter_family& registry::counters(const std::string& name, const std::string& help,
                                   std::vector<std::string> label_names)
{
    std::lock_guard lock(mutex_);
    auto& f = counters_[name];
    if (!f) f = std::make_unique<counter_family>(name, help, std::move(label_names));
    return *f;
}

histogram_family& registry::histograms(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names)
{
    std::lock_guard lock(mutex_);
    auto& f = histograms_[name];
    if (!f) f = std::make_unique<histogram_family>(name, help, std::move(label_names));
    return *f;
}

counter& registry::single_counter(const std::string& name, const std::string& help)
{
    return counters(name, help).with({});
}

void registry::add_collector(collector c)
{
    std::lock_guard lock(mutex_);
    collectors_.push_back(std::move(c));
}

std::string registry::render() const
{
    std::string out;
    out.reserve(16 * 1024);
    std::vector<collector> collectors;
    {
        std::lock_guard lock(mutex_);
        auto c = counters_.begin();
        auto h = histograms_.begin();
        while (c != counters_.end() || h != histograms_.end()) {
            if (h == histograms_.end() || (c != counters_.end() && c->first < h->first)) {
                c->second->render(out);
                ++c;
            } else {
                h->second->render(out);
                ++h;
            }
        }
        collectors = collectors_;
    }
    for (const auto& c : collectors) c(out);
    return out;
}

registry& metrics()
{
    static registry r;
    return r;
}

}  // namespace countersign::observability
