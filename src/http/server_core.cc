#include "http/server_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "http/connection.h"

namespace sigil::http {
namespace {

thread_local IoSlot* this_slot = nullptr;

const char* const kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"};
constexpr uint64_t kOtherMethod = 7;

uint64_t MethodIndex(std::string_view method) {
  for (uint64_t i = 0; i < 7; ++i) {
    if (method == kMethods[i]) return i;
  }
  return kOtherMethod;
}

}  // namespace

Core::Core(ServerOptions opts, RouteTable routes, WorkerPool& worker_pool, Metrics* metrics)
    : options(std::move(opts)),
      router(routes),
      pool(worker_pool),
      ioc(std::max(1, options.io_threads)),
      metrics_(metrics) {
  int n = std::max(1, options.io_threads);
  for (int i = 0; i < n; ++i) slots.push_back(std::make_unique<IoSlot>(static_cast<size_t>(i)));
  for (const Route& r : router.routes()) {
    route_names.push_back(r.options.name.empty() ? r.pattern : r.options.name);
  }
  route_names.push_back("unmatched");
  if (options.access_log) {
    access_logger_ = MakeAccessLogger();
    for (auto& s : slots) s->access_log = std::make_unique<AccessLog>(access_logger_);
  }
  if (metrics_ != nullptr) {
    requests_total_ = &metrics_->AddCounter("http_requests_total", "HTTP requests answered.",
                                            {"route", "method", "status"});
    durations_ = &metrics_->AddHistogram(
        "http_request_duration_seconds",
        "Time from the end of the request header to the end of the response.", {"route", "status"},
        DefaultLatencyBuckets());
    rejected_connections_ =
        &metrics_
             ->AddCounter("http_rejected_connections_total",
                          "Connections closed at once because max_connections was reached.")
             .Get();
  }
}

Core::~Core() = default;

void Core::StartMetricCallbacks(Metrics* metrics) {
  if (metrics == nullptr) return;
  callbacks_.push_back(
      metrics->AddCallbackGauge("http_in_flight", "HTTP requests being processed.", {}, [this] {
        int64_t total = 0;
        for (const auto& s : slots) total += s->in_flight.load(std::memory_order_relaxed);
        return static_cast<double>(total);
      }));
  callbacks_.push_back(
      metrics->AddCallbackGauge("http_connections", "Open HTTP connections.", {}, [this] {
        int64_t total = 0;
        for (const auto& s : slots) total += s->connections.load(std::memory_order_relaxed);
        return static_cast<double>(total);
      }));
  callbacks_.push_back(
      metrics->AddCallbackGauge("worker_queue_depth", "Tasks waiting in the worker pool queue.", {},
                                [this] { return static_cast<double>(pool.queue_depth()); }));
}

void Core::RecordRequest(IoSlot& slot, size_t route, std::string_view method, int status,
                         double seconds) {
  if (requests_total_ == nullptr) return;
  uint64_t method_index = MethodIndex(method);
  uint64_t status_key = static_cast<uint64_t>(std::clamp(status, 0, 999));
  uint64_t key = (static_cast<uint64_t>(route) << 16) | (method_index << 12) | status_key;
  auto it = slot.request_metrics.find(key);
  if (it == slot.request_metrics.end()) {
    std::string method_label = method_index == kOtherMethod ? "OTHER" : kMethods[method_index];
    std::string status_label = std::to_string(status_key);
    IoSlot::RequestMetrics m{
        &requests_total_->WithLabels({route_names[route], method_label, status_label}),
        &durations_->WithLabels({route_names[route], status_label})};
    it = slot.request_metrics.emplace(key, m).first;
  }
  it->second.count->Inc();
  it->second.duration->Observe(seconds);
}

void Core::CountRejectedConnection() {
  if (rejected_connections_ != nullptr) rejected_connections_->Inc();
}

bool Core::Register(const std::shared_ptr<Connection>& conn) {
  std::lock_guard lock(conns_mu_);
  if (stopping_.load(std::memory_order_relaxed)) return false;
  conns_.emplace(conn.get(), conn);
  open_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Core::Unregister(Connection* conn) {
  std::lock_guard lock(conns_mu_);
  if (conns_.erase(conn) > 0) open_.fetch_sub(1, std::memory_order_relaxed);
  if (conns_.empty()) conns_cv_.notify_all();
}

std::vector<std::shared_ptr<Connection>> Core::BeginStopping() {
  {
    std::lock_guard lock(conns_mu_);
    stopping_.store(true);
  }
  return Snapshot();
}

std::vector<std::shared_ptr<Connection>> Core::Snapshot() {
  std::vector<std::shared_ptr<Connection>> out;
  std::lock_guard lock(conns_mu_);
  for (auto& [ptr, weak] : conns_) {
    if (auto c = weak.lock()) out.push_back(std::move(c));
  }
  return out;
}

bool Core::WaitForNoConnections(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(conns_mu_);
  return conns_cv_.wait_until(lock, deadline, [this] { return conns_.empty(); });
}

void Core::MarkStoppedAndDrain() {
  {
    std::unique_lock lock(post_mu_);
    stopped_ = true;
  }
  IoSlot* previous = this_slot;
  this_slot = slots[0].get();
  ioc.restart();
  ioc.poll();
  this_slot = previous;
}

void Core::RunIoThread(IoSlot& slot) {
  this_slot = &slot;
  for (;;) {
    try {
      ioc.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("http: io thread {}: uncaught exception: {}", slot.index, e.what());
    }
  }
  this_slot = nullptr;
}

IoSlot& Core::ThisSlot() {
  if (this_slot == nullptr) {
    spdlog::critical("http: connection code ran outside an io thread");
    std::abort();
  }
  return *this_slot;
}

}  // namespace sigil::http
