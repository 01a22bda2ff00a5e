// The Redis cache backend against a real redis-server: the shared Cache conformance suite (TCP with
// a non-zero db, and the unix socket), outages (kill, stall, restart), stale pooled connections,
// AUTH.
#include "cache/redis/redis_cache.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cache/cache_conformance.h"
#include "cache/redis/redis_pool.h"
#include "integration/backends/cache_outage.h"
#include "integration/support/services.h"

namespace sigil::cache::redis {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using sigil::cache::testing::WaitUntilAnswers;
using sigil::testing::RedisServer;

// One redis-server shared by the conformance instantiations (they use unique keys per test).
RedisServer* shared_server = nullptr;

class RedisEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto server = RedisServer::Start();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    shared_server = server_.get();
  }
  void TearDown() override {
    shared_server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<RedisServer> server_;
};
[[maybe_unused]] ::testing::Environment* const kEnv =
    ::testing::AddGlobalTestEnvironment(new RedisEnvironment);

std::unique_ptr<Cache> MustMake(const std::string& url) {
  auto cache = MakeRedisCache(url);
  EXPECT_TRUE(cache.ok()) << cache.status().ToString();
  return cache.ok() ? std::move(cache).value() : nullptr;
}

using sigil::cache::testing::CacheConformanceTest;
INSTANTIATE_TEST_SUITE_P(
    Redis, CacheConformanceTest,
    ::testing::Values(
        sigil::cache::testing::CacheFactory{"Tcp", [] { return MustMake(shared_server->Url(3)); }},
        sigil::cache::testing::CacheFactory{
            "UnixSocket", [] { return MustMake(shared_server->UnixUrl() + "?db=4"); }}),
    sigil::cache::testing::FactoryName);

// A raw connection, to look behind the backend's back.
struct Raw {
  explicit Raw(const RedisServer& server) : ctx(redisConnect("127.0.0.1", server.port())) {}
  ~Raw() { redisFree(ctx); }
  std::string Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) return "<io error>";
    std::string out = r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                      : r->str != nullptr            ? std::string(r->str, r->len)
                                                     : "<nil>";
    freeReplyObject(r);
    return out;
  }
  redisContext* ctx;
};

TEST(RedisCacheTest, UsesTheDbOfTheUrlAndTtlInSeconds) {
  auto cache = MustMake(shared_server->Url(7));
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->Name(), "redis");
  ASSERT_TRUE(cache->Set("dbcheck", "v", seconds(120)).ok());
  Raw raw(*shared_server);
  EXPECT_EQ(raw.Command({"GET", "dbcheck"}), "<nil>") << "db 0 must not see it";
  EXPECT_EQ(raw.Command({"SELECT", "7"}), "OK");
  EXPECT_EQ(raw.Command({"GET", "dbcheck"}), "v");
  int ttl = std::stoi(raw.Command({"TTL", "dbcheck"}));
  EXPECT_GT(ttl, 100);
  EXPECT_LE(ttl, 120);
}

TEST(RedisCacheTest, UnsafeKeysAreStoredUnderTheirSafeForm) {
  auto cache = MustMake(shared_server->Url(8));
  ASSERT_NE(cache, nullptr);
  std::string key = "memo:" + std::string(300, 'x') + " with space";
  ASSERT_TRUE(cache->Set(key, "long", seconds(60)).ok());
  EXPECT_EQ(*cache->Get(key), "long");
  Raw raw(*shared_server);
  raw.Command({"SELECT", "8"});
  EXPECT_EQ(raw.Command({"GET", SafeCacheKey(key)}), "long");
}

TEST(RedisCacheTest, OutageIsUnavailableQuicklyThenRecoversAfterRestart) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url() + "?retry_ms=200");
  ASSERT_NE(cache, nullptr);
  sigil::cache::testing::ExpectOutageIsUnavailableQuicklyThenRecovers(*cache, **server,
                                                                      "redis 127.0.0.1:");
}

TEST(RedisCacheTest, StalePooledConnectionsAfterARestartAreReplacedWithoutAnError) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url());
  ASSERT_NE(cache, nullptr);
  // Open several pooled connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(cache->Set("warm" + std::to_string(i), "v", seconds(60)).ok());
    });
  }
  for (auto& th : threads) th.join();

  (*server)->Kill();
  ASSERT_TRUE(
      (*server)->Restart().ok());  // the backend did not notice: its idle connections are dead
  for (int i = 0; i < 8; ++i) {
    auto got = cache->Get("warm1");
    ASSERT_TRUE(got.ok()) << "call " << i << ": " << got.status().ToString();
    EXPECT_EQ(*got, std::nullopt);
  }
}

TEST(RedisCacheTest, StalledServerTimesOutAsUnavailable) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url() + "?timeout_ms=200&retry_ms=100");
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->Set("k", "v", seconds(60)).ok());
  (*server)->Pause();
  auto got = cache->Get("k");
  (*server)->Resume();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(got.status().message().find("timed out"), std::string::npos) << got.status().message();
  ASSERT_TRUE(WaitUntilAnswers(*cache));
  EXPECT_EQ(*cache->Get("k"), "v");
}

TEST(RedisCacheTest, PasswordFromTheUrlIsUsedAndAWrongOneIsUnavailable) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  {
    Raw raw(**server);
    ASSERT_EQ(raw.Command({"CONFIG", "SET", "requirepass", "s3cr3t"}), "OK");
  }
  auto good = MustMake("redis://:s3cr3t@127.0.0.1:" + std::to_string((*server)->port()) + "/2");
  ASSERT_NE(good, nullptr);
  ASSERT_TRUE(good->Set("k", "v", seconds(60)).ok());
  EXPECT_EQ(*good->Get("k"), "v");

  auto bad = MustMake("redis://:wrong@127.0.0.1:" + std::to_string((*server)->port()));
  ASSERT_NE(bad, nullptr);
  auto got = bad->Get("k");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(got.status().message().find("wrong"), std::string::npos)
      << "the password is not echoed";

  auto none = MustMake((*server)->Url());
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(none->Get("k").status().code(), StatusCode::kUnavailable)
      << "NOAUTH is an outage, not a bug";
}

TEST(RedisPoolTest, NeverOpensMoreThanPoolSizeConnections) {
  auto options = ParseRedisUrl(shared_server->Url() + "?pool_size=2");
  ASSERT_TRUE(options.ok());
  RedisPool pool(*options);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (!pool.Command({"PING"}).ok()) ++failures;
        if (pool.open_connections() > 2) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(pool.open_connections(), 2);
  EXPECT_GE(pool.open_connections(), 1);
}

TEST(RedisCacheTest, FactoryRejectsBadUrlsButNotADownServer) {
  EXPECT_EQ(MakeRedisCache("redis://h?bogus=1").status().code(), StatusCode::kInvalidArgument);
  int port = sigil::testing::FreeLoopbackPort();
  auto cache = MakeRedisCache("redis://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(cache.ok()) << "sigil must start while the cache is down";
  EXPECT_EQ((*cache)->Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*cache)->Get("x").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigil::cache::redis
