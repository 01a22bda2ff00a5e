// WorkerPool: a fixed set of threads with a bounded queue, for everything that blocks (disk,
// database, object store, compression, index builds). io threads never block: they TrySubmit, and a
// full queue is answered with 503 + Retry-After by the caller instead of queueing without bound.
//
// Thread-safe. Tasks must not throw (an escaping exception terminates: a broken invariant).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sigil {

class WorkerPool {
 public:
  using Task = std::function<void()>;

  // threads >= 1; max_queue >= 1 is the number of tasks that may wait (running ones not counted).
  WorkerPool(size_t threads, size_t max_queue, std::string name = "worker");
  ~WorkerPool();  // Shutdown() + join.
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Enqueues unless the queue is full or the pool is shut down; returns false then.
  bool TrySubmit(Task task);
  // Enqueues even past max_queue (for internal fan-out whose parent already holds a slot, so a full
  // queue cannot deadlock it). Returns false only after Shutdown().
  bool Submit(Task task);
  // Stops accepting, runs what is queued, joins. Idempotent.
  void Shutdown();

  size_t queue_depth() const;
  size_t active() const { return active_.load(std::memory_order_relaxed); }
  size_t threads() const { return threads_.size(); }
  size_t max_queue() const { return max_queue_; }

 private:
  void Run();

  const size_t max_queue_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  std::atomic<size_t> active_{0};
  std::vector<std::thread> threads_;
};

}  // namespace sigil
