#include "upload/helper_fanout.h"

#include <condition_variable>
#include <memory>
#include <mutex>

namespace sigil::upload {
namespace {

struct FanoutState {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;  // the caller finished its own share; late helpers must not start
  size_t active = 0;
  const std::function<void()>* work = nullptr;  // valid while !closed || active > 0
};

}  // namespace

void RunWithHelpers(WorkerPool& pool, size_t helpers, const std::function<void()>& work) {
  auto state = std::make_shared<FanoutState>();
  state->work = &work;
  for (size_t i = 0; i < helpers; ++i) {
    bool queued = pool.Submit([state] {
      {
        std::lock_guard lock(state->mu);
        if (state->closed) return;
        ++state->active;
      }
      (*state->work)();
      std::lock_guard lock(state->mu);
      if (--state->active == 0) state->cv.notify_all();
    });
    if (!queued) break;  // pool shutting down: the caller does the work alone
  }
  work();
  std::unique_lock lock(state->mu);
  state->closed = true;
  state->cv.wait(lock, [&] { return state->active == 0; });
}

}  // namespace sigil::upload
