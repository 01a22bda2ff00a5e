// Metrics: a small thread-safe Prometheus registry (counters, gauges, fixed-bucket histograms,
// callback gauges) rendered in the Prometheus text exposition format (version 0.0.4).
//
// Hot path: register a family once, resolve the label values once (WithLabels returns a reference
// that stays valid for the registry's lifetime) and then Inc/Set/Observe on that handle: those are
// lock-free (sharded relaxed atomics, no allocation). Only WithLabels and RenderPrometheus take a
// mutex.
//
//   Metrics m;
//   Counter& ok = m.AddCounter("http_requests_total", "Requests.", {"route", "status"})
//                     .WithLabels({"download", "200"});
//   ok.Inc();
//   std::string text = m.RenderPrometheus();
//
// Registering a name again with the same kind and label names returns the existing family; a
// different kind or label set (or an invalid name) is a programming error and aborts.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sigil {

namespace metrics_internal {
inline constexpr size_t kShards = 8;  // per-thread shards: threads rarely share a cache line
size_t ShardIndex();                  // this thread's shard, stable for the thread's life
[[noreturn]] void LabelCountMismatch(size_t expected, size_t got);
struct alignas(64) PaddedCount {
  std::atomic<uint64_t> v{0};
};
}  // namespace metrics_internal

// Monotonic counter. Inc is lock-free and contention-free across threads.
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    shards_[metrics_internal::ShardIndex()].v.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  std::array<metrics_internal::PaddedCount, metrics_internal::kShards> shards_;
};

// Gauge: a value that goes up and down. One atomic; fine for values changed per connection/request
// at moderate rates (for hot, per-thread values prefer a callback gauge that sums them).
class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  void Sub(double d) { Add(-d); }
  double Value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// Histogram with fixed upper bounds (sorted, +Inf implied). Observe is lock-free (sharded).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<uint64_t> counts;  // per bucket, not cumulative; last = +Inf bucket
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Collect() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  struct alignas(64) Shard {
    std::unique_ptr<std::atomic<uint64_t>[]> counts;
    std::atomic<double> sum{0};
  };
  std::vector<double> bounds_;
  std::array<Shard, metrics_internal::kShards> shards_;
};

// A named metric with label names; WithLabels returns the child for one set of label values
// (created on first use; the reference stays valid as long as the Metrics registry lives).
template <typename T>
class Family {
 public:
  T& WithLabels(const std::vector<std::string>& values);
  // For families without labels.
  T& Get() { return WithLabels({}); }

 private:
  friend class Metrics;
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<T>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}

  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<T>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_;
};

// Default latency buckets in seconds (1 ms .. 30 s).
std::vector<double> DefaultLatencyBuckets();

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);

  // A gauge whose value is computed at render time. Called under the registry's render lock from
  // the rendering thread: it must be quick and must not call back into this registry. The gauge
  // exists while the returned registration lives (destroy it before whatever the callback uses).
  // Two registrations of the same name and labels are rendered as one series with the sum of their
  // values.
  class CallbackRegistration {
   public:
    CallbackRegistration() = default;
    CallbackRegistration(CallbackRegistration&& other) noexcept;
    CallbackRegistration& operator=(CallbackRegistration&& other) noexcept;
    ~CallbackRegistration();
    void Reset();

   private:
    friend class Metrics;
    CallbackRegistration(Metrics* owner, uint64_t id) : owner_(owner), id_(id) {}
    Metrics* owner_ = nullptr;
    uint64_t id_ = 0;
  };
  [[nodiscard]] CallbackRegistration AddCallbackGauge(
      const std::string& name, const std::string& help,
      std::vector<std::pair<std::string, std::string>> labels, std::function<double()> callback);

  // The whole registry in the Prometheus text format, families sorted by name.
  std::string RenderPrometheus() const;

 private:
  struct Entry;
  struct CallbackGauge;
  Entry& FindOrAdd(const std::string& name, const std::string& help, int kind,
                   const std::vector<std::string>& label_names);
  void RemoveCallback(uint64_t id);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  uint64_t next_callback_id_ = 1;
};

// ---- implementation of the template ----
template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  if (values.size() != label_names_.size()) {
    metrics_internal::LabelCountMismatch(label_names_.size(), values.size());
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(values);
  if (it == children_.end()) it = children_.emplace(values, make_()).first;
  return *it->second;
}

}  // namespace sigil
