// RunWithHelpers: runs a work-pulling function on the calling thread and on up to `helpers` more
// pool threads, and returns when every copy that started has finished.
//
// The calling thread always takes part, and helpers that the pool starts only after the caller is
// done return at once without running anything. So a caller that is itself a pool task never waits
// for a queued task that might not get a thread: no deadlock however busy the pool is, full
// parallelism when threads are free. `work` must pull its own items (e.g. an atomic index) and
// return when none are left; it must not throw. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>

#include "common/worker_pool.h"

namespace sigil::upload {

void RunWithHelpers(WorkerPool& pool, size_t helpers, const std::function<void()>& work);

}  // namespace sigil::upload
