// Internal to src/http: state shared by the server, its io threads and its connections.
// Includes Asio; never include this from a header outside src/http.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/metrics.h"
#include "common/worker_pool.h"
#include "http/access_log.h"
#include "http/request_id.h"
#include "http/router.h"
#include "http/server.h"

namespace sigil::http {

class Connection;

// The io threads share one io_context (work sharing: whichever io thread is running picks up the
// next ready connection, so a preempted thread does not hold other connections' requests). Each
// connection's handlers run on its own strand. An IoSlot is what one io thread uses without locking
// whatever connection it is serving at the moment: Core::ThisSlot() finds it.
using IoExecutor = boost::asio::io_context::executor_type;
using Strand = boost::asio::strand<IoExecutor>;

struct IoSlot {
  explicit IoSlot(size_t i) : index(i) {}

  const size_t index;

  // Changed with atomic adds by whichever io thread serves a connection at that moment (a request
  // may start on one thread and end on another, so one slot's value may be negative); only the sum
  // over all slots means anything. Read by anyone (metrics, in_flight()).
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> connections{0};

  // This slot's thread only.
  RequestIdGenerator ids;
  struct RequestMetrics {
    Counter* count;
    Histogram* duration;
  };
  std::unordered_map<uint64_t, RequestMetrics> request_metrics;  // (route, method, status) → series

  // Appended to by this slot's thread, flushed by the flush timer on any io thread: log_mu guards
  // it.
  std::mutex log_mu;
  std::unique_ptr<AccessLog> access_log;  // null when the access log is off
};

// Shared by the Server and every Connection (connections hold a shared_ptr, so a Responder called
// after the Server is gone still finds valid state and is dropped harmlessly).
class Core {
 public:
  Core(ServerOptions options, RouteTable routes, WorkerPool& pool, Metrics* metrics);
  ~Core();

  const ServerOptions options;
  const Router router;
  WorkerPool& pool;
  boost::asio::io_context ioc;  // run by every io thread
  std::optional<boost::asio::executor_work_guard<IoExecutor>> work;
  std::vector<std::unique_ptr<IoSlot>> slots;  // one per io thread
  std::vector<std::string> route_names;        // per route, then "unmatched"
  size_t unmatched_route() const { return route_names.size() - 1; }

  // Posts `fn` to `executor` (a connection's strand, or the io_context) unless the server has
  // finished (then `fn` is dropped). Any thread.
  template <typename Executor, typename Fn>
  void Post(const Executor& executor, Fn&& fn) {
    std::shared_lock lock(post_mu_);
    if (stopped_) return;
    boost::asio::post(executor, std::forward<Fn>(fn));
  }
  // After the io threads exited: no more posts; runs what is queued (as slot 0) so nothing keeps
  // connections alive.
  void MarkStoppedAndDrain();

  // Runs the io_context as io thread `slot` until it runs out of work.
  void RunIoThread(IoSlot& slot);
  // The slot of the io thread calling. Precondition: called on an io thread (or while draining).
  static IoSlot& ThisSlot();

  // Connection registry (for shutdown and max_connections). Register fails once stopping.
  bool Register(const std::shared_ptr<Connection>& conn);
  void Unregister(Connection* conn);
  size_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  // Sets stopping and returns the connections open now.
  std::vector<std::shared_ptr<Connection>> BeginStopping();
  std::vector<std::shared_ptr<Connection>> Snapshot();
  // Waits until no connection is open or the deadline passes; true when none is open.
  bool WaitForNoConnections(std::chrono::steady_clock::time_point deadline);

  // Metrics (no-ops without a registry).
  void RecordRequest(IoSlot& slot, size_t route, std::string_view method, int status,
                     double seconds);
  void CountRejectedConnection();
  void StartMetricCallbacks(Metrics* metrics);
  void StopMetricCallbacks() { callbacks_.clear(); }

  const std::shared_ptr<spdlog::logger>& access_logger() const { return access_logger_; }

 private:
  Metrics* metrics_;
  Family<Counter>* requests_total_ = nullptr;
  Family<Histogram>* durations_ = nullptr;
  Counter* rejected_connections_ = nullptr;
  std::vector<Metrics::CallbackRegistration> callbacks_;
  std::shared_ptr<spdlog::logger> access_logger_;

  std::shared_mutex post_mu_;
  bool stopped_ = false;

  std::mutex conns_mu_;
  std::condition_variable conns_cv_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> conns_;
  std::atomic<size_t> open_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace sigil::http
