// RedisInvalidationBus with two buses ("two nodes") on one real redis-server: delivery across
// nodes, exactly once locally, isolation by channel, malformed messages, and resubscription after
// an outage.
#include "cache/redis/redis_invalidation_bus.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <thread>
#include <vector>

#include "integration/backends/invalidation_recorder.h"
#include "integration/support/services.h"

namespace sigil::cache::redis {
namespace {

using sigil::testing::RedisServer;
using std::chrono::milliseconds;
using std::chrono::seconds;

using Recorder = sigil::testing::InvalidationRecorder;
using sigil::testing::TestKey;

std::unique_ptr<RedisInvalidationBus> MustCreate(const std::string& url) {
  auto options = ParseRedisUrl(url);
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  auto bus = RedisInvalidationBus::Create(*options);
  EXPECT_TRUE(bus.ok()) << bus.status().ToString();
  if (!bus.ok()) return nullptr;
  EXPECT_TRUE((*bus)->WaitUntilSubscribed(seconds(5)));
  return std::move(bus).value();
}

class RedisInvalidationBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }
  std::unique_ptr<RedisServer> server_;
};

TEST_F(RedisInvalidationBusTest, PublishOnADeliversOnBAndOnceOnA) {
  auto a = MustCreate(server_->Url());
  auto b = MustCreate(server_->UnixUrl());  // same server, other transport: same channel (db 0)
  ASSERT_TRUE(a && b);
  Recorder on_a, on_b;
  a->Subscribe(on_a.Listener());
  b->Subscribe(on_b.Listener());

  a->Publish(TestKey("xul.pdb"));
  a->Publish(TestKey("xul.pdb", /*is_try=*/true));
  ASSERT_TRUE(on_b.WaitFor(2));
  EXPECT_EQ(on_b.keys(), (std::vector<SymbolKey>{TestKey("xul.pdb"), TestKey("xul.pdb", true)}));
  // A delivered synchronously inside Publish, and ignores its own echo from Redis.
  EXPECT_EQ(on_a.keys().size(), 2u);

  b->Publish(TestKey("ntdll.pdb"));
  ASSERT_TRUE(on_a.WaitFor(3));
  EXPECT_EQ(on_a.keys().back(), TestKey("ntdll.pdb"));
  // Give a stray duplicate time to show up before checking counts.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(on_a.keys().size(), 3u);
  EXPECT_EQ(on_b.keys().size(), 3u);
  EXPECT_EQ(a->remote_events(), 1u);
  EXPECT_EQ(b->remote_events(), 2u);
}

TEST_F(RedisInvalidationBusTest, FactoryReturnsASubscribedBusAndUnsubscribeStopsDelivery) {
  auto made = MakeRedisInvalidationBus(server_->Url());
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  auto b = MustCreate(server_->Url());
  ASSERT_TRUE(b);
  Recorder first, second;
  uint64_t id = (*made)->Subscribe(first.Listener());
  (*made)->Subscribe(second.Listener());
  b->Publish(TestKey("a.pdb"));
  ASSERT_TRUE(first.WaitFor(1));
  ASSERT_TRUE(second.WaitFor(1));
  (*made)->Unsubscribe(id);
  b->Publish(TestKey("b.pdb"));
  ASSERT_TRUE(second.WaitFor(2));
  EXPECT_EQ(first.keys().size(), 1u);
}

TEST_F(RedisInvalidationBusTest, DifferentDbsDoNotHearEachOther) {
  auto db0 = MustCreate(server_->Url(0));
  auto db1 = MustCreate(server_->Url(1));
  auto db1_too = MustCreate(server_->Url(1));
  ASSERT_TRUE(db0 && db1 && db1_too);
  Recorder on0, on1;
  db0->Subscribe(on0.Listener());
  db1_too->Subscribe(on1.Listener());
  db1->Publish(TestKey("one.pdb"));
  ASSERT_TRUE(on1.WaitFor(1));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(on0.keys().empty());
}

TEST_F(RedisInvalidationBusTest, MalformedMessagesAreDroppedAndTheSubscriberKeepsWorking) {
  auto b = MustCreate(server_->Url());
  ASSERT_TRUE(b);
  Recorder on_b;
  b->Subscribe(on_b.Listener());
  redisContext* raw = redisConnect("127.0.0.1", server_->port());
  ASSERT_TRUE(raw != nullptr && raw->err == 0);
  for (const char* junk : {"hello", "v1|x|0|../../etc/passwd", "v1|x|0|a.pdb/NOTHEX/a.sym", ""}) {
    freeReplyObject(redisCommand(raw, "PUBLISH sigil:invalidate:0 %s", junk));
  }
  std::string valid = EncodeInvalidation("other-node", TestKey("ok.pdb"));
  freeReplyObject(redisCommand(raw, "PUBLISH sigil:invalidate:0 %b", valid.data(), valid.size()));
  redisFree(raw);
  ASSERT_TRUE(on_b.WaitFor(1));
  EXPECT_EQ(on_b.keys(), std::vector<SymbolKey>{TestKey("ok.pdb")});
}

TEST_F(RedisInvalidationBusTest, ResubscribesAfterTheServerComesBack) {
  auto a = MustCreate(server_->Url() + "?retry_ms=100");
  auto b = MustCreate(server_->Url() + "?retry_ms=100");
  ASSERT_TRUE(a && b);
  Recorder on_a, on_b;
  a->Subscribe(on_a.Listener());
  b->Subscribe(on_b.Listener());

  server_->Kill();
  // Publishing during the outage still reaches local subscribers; the failure is counted, not
  // thrown.
  a->Publish(TestKey("during.pdb"));
  EXPECT_EQ(on_a.keys().size(), 1u);
  EXPECT_GE(a->publish_failures(), 1u);

  ASSERT_TRUE(server_->Restart().ok());
  ASSERT_TRUE(a->WaitUntilSubscribed(seconds(10)));
  ASSERT_TRUE(b->WaitUntilSubscribed(seconds(10)));
  // WaitUntilSubscribed may have seen the old state before the subscriber noticed the outage;
  // publish until B hears it.
  bool heard = false;
  for (int i = 0; i < 100 && !heard; ++i) {
    a->Publish(TestKey("after.pdb"));
    heard = on_b.WaitFor(1, milliseconds(100));
  }
  ASSERT_TRUE(heard);
  EXPECT_EQ(on_b.keys().front(), TestKey("after.pdb"));
}

TEST_F(RedisInvalidationBusTest, DestructorStopsPromptlyEvenWhileDisconnected) {
  auto a = MustCreate(server_->Url() + "?retry_ms=60000");
  ASSERT_TRUE(a);
  server_->Kill();
  std::this_thread::sleep_for(milliseconds(100));  // the subscriber is now waiting to retry
  auto start = std::chrono::steady_clock::now();
  a.reset();
  // Liveness, not performance: the destructor must not wait out retry_ms (a minute).
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(5));
}

}  // namespace
}  // namespace sigil::cache::redis
