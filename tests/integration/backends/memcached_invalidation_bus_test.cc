// MemcachedInvalidationBus with several buses ("nodes") on one real memcached: delivery across
// nodes, exactly once locally, events from many publishers, malformed events, a memcached restart,
// and a prompt destructor while memcached is down.
#include "cache/memcached/memcached_invalidation_bus.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "cache/memcached/memcached_cache.h"
#include "integration/backends/invalidation_recorder.h"
#include "integration/support/services.h"

namespace sigil::cache::memcached {
namespace {

using sigil::testing::MemcachedServer;
using std::chrono::milliseconds;
using std::chrono::seconds;

using Recorder = sigil::testing::InvalidationRecorder;
using sigil::testing::TestKey;

std::unique_ptr<InvalidationBus> MustMake(const std::string& url, const std::string& prefix) {
  MemcachedBusOptions options;
  options.poll = milliseconds(20);
  options.prefix = prefix;
  auto bus = MakeMemcachedInvalidationBus(url, options);
  EXPECT_TRUE(bus.ok()) << bus.status().ToString();
  return bus.ok() ? std::move(*bus) : nullptr;
}

TEST(MemcachedInvalidationBusTest, PublishOnADeliversOnBAndOnceOnA) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto a = MustMake((*server)->Url(), "t1:");
  auto b = MustMake((*server)->Url(), "t1:");
  ASSERT_TRUE(a && b);
  Recorder on_a, on_b;
  a->Subscribe(on_a.Listener());
  b->Subscribe(on_b.Listener());

  // Published right after B was made (before its first poll): B still hears it.
  a->Publish(TestKey("xul.pdb"));
  EXPECT_EQ(on_a.storage_keys().size(), 1u) << "local subscribers hear it synchronously";
  ASSERT_TRUE(on_b.WaitFor(1));
  b->Publish(TestKey("ntdll.pdb", true));
  ASSERT_TRUE(on_a.WaitFor(2));
  std::this_thread::sleep_for(milliseconds(200));  // several polls: nothing is delivered twice
  EXPECT_EQ(on_a.storage_keys(),
            (std::vector<std::string>{"xul.pdb/0123456789ABCDEF0123456789ABCDEF0/x.sym",
                                      "try/ntdll.pdb/0123456789ABCDEF0123456789ABCDEF0/x.sym"}));
  EXPECT_EQ(on_b.storage_keys(),
            (std::vector<std::string>{"xul.pdb/0123456789ABCDEF0123456789ABCDEF0/x.sym",
                                      "try/ntdll.pdb/0123456789ABCDEF0123456789ABCDEF0/x.sym"}));

  // A bus with another prefix (another deployment on the same memcached) hears nothing.
  auto other = MustMake((*server)->Url(), "t1-other:");
  Recorder on_other;
  other->Subscribe(on_other.Listener());
  a->Publish(TestKey("third.pdb"));
  ASSERT_TRUE(on_b.WaitFor(3));
  EXPECT_TRUE(on_other.storage_keys().empty());
}

TEST(MemcachedInvalidationBusTest, EveryEventOfConcurrentPublishersArrivesOnce) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto a = MustMake((*server)->Url(), "t2:");
  auto c = MustMake((*server)->Url(), "t2:");
  auto b = MustMake((*server)->Url(), "t2:");
  ASSERT_TRUE(a && b && c);
  Recorder on_b;
  b->Subscribe(on_b.Listener());
  std::vector<std::thread> threads;
  for (auto* bus : {a.get(), c.get()}) {
    threads.emplace_back([bus, tag = bus == a.get() ? "a" : "c"] {
      for (int i = 0; i < 50; ++i)
        bus->Publish(TestKey(std::string(tag) + std::to_string(i) + ".pdb"));
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(on_b.WaitFor(100));
  std::this_thread::sleep_for(milliseconds(200));
  auto keys = on_b.storage_keys();
  EXPECT_EQ(keys.size(), 100u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 100u);
}

TEST(MemcachedInvalidationBusTest, MalformedEventsAreDroppedAndLaterOnesDelivered) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto cache = MakeMemcachedCache((*server)->Url());
  ASSERT_TRUE(cache.ok());
  auto a = MustMake((*server)->Url(), "t3:");
  auto b = MustMake((*server)->Url(), "t3:");
  Recorder on_b;
  b->Subscribe(on_b.Listener());
  // Someone else's writes in the log: event 1 is garbage, event 2 a key with a bad path.
  ASSERT_TRUE((*cache)->Set("t3:ev:1", "garbage", seconds(60)).ok());
  ASSERT_TRUE((*cache)->Set("t3:ev:2", "v1|zz|0|../../etc/passwd", seconds(60)).ok());
  ASSERT_TRUE((*cache)->Set("t3:seq", "2", seconds(60)).ok());
  a->Publish(TestKey("after.pdb"));  // event 3
  ASSERT_TRUE(on_b.WaitFor(1));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(on_b.storage_keys(),
            (std::vector<std::string>{"after.pdb/0123456789ABCDEF0123456789ABCDEF0/x.sym"}));
}

TEST(MemcachedInvalidationBusTest, SurvivesARestartAndStopsPromptlyWhileDown) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().message();
  auto a = MustMake((*server)->Url(), "t4:");
  auto b = MustMake((*server)->Url(), "t4:");
  Recorder on_a, on_b;
  a->Subscribe(on_a.Listener());
  b->Subscribe(on_b.Listener());
  for (int i = 0; i < 5; ++i) a->Publish(TestKey("before" + std::to_string(i) + ".pdb"));
  ASSERT_TRUE(on_b.WaitFor(5));

  (*server)->Kill();
  a->Publish(TestKey("during.pdb"));  // never fails its caller; local subscribers still hear it
  EXPECT_EQ(on_a.storage_keys().size(), 6u);
  ASSERT_TRUE((*server)->Restart().ok());
  // The restarted server's counter starts again below the old one.
  bool delivered = false;
  for (int i = 0; i < 100 && !delivered; ++i) {
    a->Publish(TestKey("after" + std::to_string(i) + ".pdb"));
    delivered = on_b.WaitFor(6, milliseconds(100));
  }
  EXPECT_TRUE(delivered);
  auto keys = on_b.storage_keys();
  EXPECT_EQ(keys[5].rfind("after", 0), 0u) << keys[5];

  (*server)->Kill();
  std::this_thread::sleep_for(milliseconds(100));  // the poller is now failing
  auto start = std::chrono::steady_clock::now();
  a.reset();
  b.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
}

TEST(MemcachedInvalidationBusTest, BadUrlIsAnErrorButADownServerIsNot) {
  EXPECT_EQ(MakeMemcachedInvalidationBus("memcached://").status().code(),
            StatusCode::kInvalidArgument);
  int port = sigil::testing::FreeLoopbackPort();
  auto bus = MakeMemcachedInvalidationBus("memcached://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(bus.ok()) << bus.status().ToString();
  Recorder local;
  (*bus)->Subscribe(local.Listener());
  (*bus)->Publish(TestKey("x.pdb"));
  EXPECT_EQ(local.storage_keys().size(), 1u);
}

}  // namespace
}  // namespace sigil::cache::memcached
