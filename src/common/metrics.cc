#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sigil {
namespace metrics_internal {

size_t ShardIndex() {
  static std::atomic<size_t> next{0};
  thread_local size_t index = next.fetch_add(1, std::memory_order_relaxed) % kShards;
  return index;
}

void LabelCountMismatch(size_t expected, size_t got) {
  std::fprintf(stderr, "metrics: WithLabels got %zu label values, the family has %zu labels\n", got,
               expected);
  std::abort();
}

}  // namespace metrics_internal

namespace {

enum Kind { kCounter = 0, kGauge = 1, kHistogram = 2, kCallbackGauge = 3 };

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

bool ValidName(const std::string& name, bool is_label) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!is_label && c == ':');
    bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return !(is_label && name.size() >= 2 && name[0] == '_' && name[1] == '_');
}

void AppendEscapedLabelValue(std::string& out, const std::string& v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void AppendHelp(std::string& out, const std::string& help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// {a="x",b="y"} with an optional extra label (histogram "le"); "" when there are no labels.
std::string LabelSet(const std::vector<std::string>& names, const std::vector<std::string>& values,
                     const char* extra_name = nullptr, const std::string& extra_value = {}) {
  if (names.empty() && extra_name == nullptr) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscapedLabelValue(out, values[i]);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    AppendEscapedLabelValue(out, extra_value);
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s.v.load(std::memory_order_relaxed);
  return total;
}

void Gauge::Add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0) bounds_.pop_back();
  for (auto& s : shards_) {
    s.counts = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) s.counts[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::Observe(double v) {
  // le semantics: the first bucket whose upper bound is >= v.
  size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  Shard& s = shards_[metrics_internal::ShardIndex()];
  s.counts[bucket].fetch_add(1, std::memory_order_relaxed);
  double cur = s.sum.load(std::memory_order_relaxed);
  while (!s.sum.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot snap;
  snap.counts.assign(bounds_.size() + 1, 0);
  for (const auto& s : shards_) {
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      snap.counts[i] += s.counts[i].load(std::memory_order_relaxed);
    }
    snap.sum += s.sum.load(std::memory_order_relaxed);
  }
  for (uint64_t c : snap.counts) snap.count += c;
  return snap;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

struct Metrics::CallbackGauge {
  uint64_t id;
  std::vector<std::pair<std::string, std::string>> labels;
  std::function<double()> callback;
};

struct Metrics::Entry {
  std::string help;
  int kind = kCounter;
  std::vector<std::string> label_names;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  std::vector<double> bounds;
  std::vector<CallbackGauge> callbacks;
};

Metrics::Metrics() = default;
Metrics::~Metrics() = default;

Metrics::Entry& Metrics::FindOrAdd(const std::string& name, const std::string& help, int kind,
                                   const std::vector<std::string>& label_names) {
  if (!ValidName(name, /*is_label=*/false)) Die("invalid metric name '" + name + "'");
  for (const auto& l : label_names) {
    if (!ValidName(l, /*is_label=*/true) || (kind == kHistogram && l == "le")) {
      Die("invalid label name '" + l + "' of metric " + name);
    }
  }
  auto it = entries_.find(name);
  if (it != entries_.end()) {
    Entry& e = *it->second;
    if (e.kind != kind || (kind != kCallbackGauge && e.label_names != label_names)) {
      Die("metric " + name + " registered twice with a different kind or labels");
    }
    return e;
  }
  auto e = std::make_unique<Entry>();
  e->help = help;
  e->kind = kind;
  e->label_names = label_names;
  return *entries_.emplace(name, std::move(e)).first->second;
}

Family<Counter>& Metrics::AddCounter(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Entry& e = FindOrAdd(name, help, kCounter, label_names);
  if (!e.counters) {
    e.counters.reset(
        new Family<Counter>(std::move(label_names), [] { return std::make_unique<Counter>(); }));
  }
  return *e.counters;
}

Family<Gauge>& Metrics::AddGauge(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  Entry& e = FindOrAdd(name, help, kGauge, label_names);
  if (!e.gauges) {
    e.gauges.reset(
        new Family<Gauge>(std::move(label_names), [] { return std::make_unique<Gauge>(); }));
  }
  return *e.gauges;
}

Family<Histogram>& Metrics::AddHistogram(const std::string& name, const std::string& help,
                                         std::vector<std::string> label_names,
                                         std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Entry& e = FindOrAdd(name, help, kHistogram, label_names);
  if (!e.histograms) {
    e.bounds = bounds;
    e.histograms.reset(new Family<Histogram>(
        std::move(label_names), [bounds] { return std::make_unique<Histogram>(bounds); }));
  }
  return *e.histograms;
}

Metrics::CallbackRegistration Metrics::AddCallbackGauge(
    const std::string& name, const std::string& help,
    std::vector<std::pair<std::string, std::string>> labels, std::function<double()> callback) {
  std::vector<std::string> names;
  for (const auto& [n, v] : labels) names.push_back(n);
  std::lock_guard lock(mu_);
  Entry& e = FindOrAdd(name, help, kCallbackGauge, names);
  uint64_t id = next_callback_id_++;
  e.callbacks.push_back(CallbackGauge{id, std::move(labels), std::move(callback)});
  return CallbackRegistration(this, id);
}

void Metrics::RemoveCallback(uint64_t id) {
  std::lock_guard lock(mu_);
  for (auto& [name, e] : entries_) {
    auto& cbs = e->callbacks;
    cbs.erase(std::remove_if(cbs.begin(), cbs.end(), [id](const auto& c) { return c.id == id; }),
              cbs.end());
  }
}

Metrics::CallbackRegistration::CallbackRegistration(CallbackRegistration&& other) noexcept
    : owner_(other.owner_), id_(other.id_) {
  other.owner_ = nullptr;
}

Metrics::CallbackRegistration& Metrics::CallbackRegistration::operator=(
    CallbackRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    owner_ = other.owner_;
    id_ = other.id_;
    other.owner_ = nullptr;
  }
  return *this;
}

Metrics::CallbackRegistration::~CallbackRegistration() { Reset(); }

void Metrics::CallbackRegistration::Reset() {
  if (owner_ != nullptr) owner_->RemoveCallback(id_);
  owner_ = nullptr;
}

std::string Metrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& [name, e] : entries_) {
    if (e->kind == kCallbackGauge && e->callbacks.empty()) continue;
    out += "# HELP " + name + " ";
    AppendHelp(out, e->help);
    out += "\n# TYPE " + name + " ";
    out += e->kind == kCounter ? "counter" : e->kind == kHistogram ? "histogram" : "gauge";
    out += '\n';
    switch (e->kind) {
      case kCounter: {
        if (!e->counters) break;
        std::lock_guard flock(e->counters->mu_);
        for (const auto& [values, c] : e->counters->children_) {
          out += name + LabelSet(e->label_names, values) + " " + std::to_string(c->Value()) + "\n";
        }
        break;
      }
      case kGauge: {
        if (!e->gauges) break;
        std::lock_guard flock(e->gauges->mu_);
        for (const auto& [values, g] : e->gauges->children_) {
          out += name + LabelSet(e->label_names, values) + " " + FormatValue(g->Value()) + "\n";
        }
        break;
      }
      case kHistogram: {
        if (!e->histograms) break;
        std::lock_guard flock(e->histograms->mu_);
        for (const auto& [values, h] : e->histograms->children_) {
          Histogram::Snapshot snap = h->Collect();
          uint64_t cumulative = 0;
          for (size_t i = 0; i <= h->bounds().size(); ++i) {
            cumulative += snap.counts[i];
            std::string le = i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf";
            out += name + "_bucket" + LabelSet(e->label_names, values, "le", le) + " " +
                   std::to_string(cumulative) + "\n";
          }
          std::string labels = LabelSet(e->label_names, values);
          out += name + "_sum" + labels + " " + FormatValue(snap.sum) + "\n";
          out += name + "_count" + labels + " " + std::to_string(snap.count) + "\n";
        }
        break;
      }
      case kCallbackGauge: {
        // Same labels → one series with the summed value; series sorted by labels.
        std::map<std::vector<std::pair<std::string, std::string>>, double> series;
        for (const auto& cb : e->callbacks) series[cb.labels] += cb.callback();
        for (const auto& [labels, value] : series) {
          std::vector<std::string> names, values;
          for (const auto& [n, v] : labels) {
            names.push_back(n);
            values.push_back(v);
          }
          out += name + LabelSet(names, values) + " " + FormatValue(value) + "\n";
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace sigil
