#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

namespace sigil {
namespace {

TEST(WorkerPoolTest, RunsEverythingSubmitted) {
  std::atomic<int> n{0};
  {
    WorkerPool pool(2, 1000);
    for (int i = 0; i < 500; ++i) ASSERT_TRUE(pool.TrySubmit([&] { n.fetch_add(1); }));
  }  // destructor drains
  EXPECT_EQ(n.load(), 500);
}

TEST(WorkerPoolTest, FullQueueRefusesTrySubmitButNotSubmit) {
  WorkerPool pool(1, 1);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    gate.wait();
  }));
  started.get_future().wait();          // the worker is busy
  ASSERT_TRUE(pool.TrySubmit([] {}));   // fills the one queue slot
  EXPECT_FALSE(pool.TrySubmit([] {}));  // full
  EXPECT_EQ(pool.queue_depth(), 1u);
  EXPECT_TRUE(pool.Submit([] {}));  // fan-out may exceed the bound
  release.set_value();
  pool.Shutdown();
  EXPECT_FALSE(pool.TrySubmit([] {}));
  EXPECT_FALSE(pool.Submit([] {}));
}

}  // namespace
}  // namespace sigil
