// The memcached cache backend against real memcached servers: the shared Cache conformance suite
// (TCP and unix socket), outages (kill, stall, restart), stale pooled connections, size limit, long
// TTLs, several servers.
#include "cache/memcached/memcached_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cache/cache_conformance.h"
#include "integration/backends/cache_outage.h"
#include "integration/support/services.h"

namespace sigil::cache::memcached {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;
using sigil::cache::testing::WaitUntilAnswers;
using sigil::testing::MemcachedServer;

MemcachedServer* tcp_server = nullptr;
MemcachedServer* unix_server = nullptr;

class MemcachedEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto tcp = MemcachedServer::Start();
    ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
    auto unix_socket = MemcachedServer::Start(/*unix_socket=*/true);
    ASSERT_TRUE(unix_socket.ok()) << unix_socket.status().ToString();
    tcp_ = std::move(tcp).value();
    unix_ = std::move(unix_socket).value();
    tcp_server = tcp_.get();
    unix_server = unix_.get();
  }
  void TearDown() override {
    tcp_server = unix_server = nullptr;
    tcp_.reset();
    unix_.reset();
  }

 private:
  std::unique_ptr<MemcachedServer> tcp_, unix_;
};
[[maybe_unused]] ::testing::Environment* const kEnv =
    ::testing::AddGlobalTestEnvironment(new MemcachedEnvironment);

std::unique_ptr<Cache> MustMake(const std::string& url) {
  auto cache = MakeMemcachedCache(url);
  EXPECT_TRUE(cache.ok()) << cache.status().ToString();
  return cache.ok() ? std::move(cache).value() : nullptr;
}

using sigil::cache::testing::CacheConformanceTest;
INSTANTIATE_TEST_SUITE_P(Memcached, CacheConformanceTest,
                         ::testing::Values(
                             sigil::cache::testing::CacheFactory{
                                 "Tcp", [] { return MustMake(tcp_server->Url()); }},
                             sigil::cache::testing::CacheFactory{
                                 "UnixSocket", [] { return MustMake(unix_server->Url()); }}),
                         sigil::cache::testing::FactoryName);

TEST(MemcachedCacheTest, TtlsOverThirtyDaysAreKept) {
  auto cache = MustMake(tcp_server->Url());
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->Name(), "memcached");
  // Sent as a relative 31 days, memcached would read a 1970 unix time and expire the item at once.
  ASSERT_TRUE(cache->Set("month", "v", seconds(31 * 24 * 3600)).ok());
  EXPECT_EQ(*cache->Get("month"), "v");
}

TEST(MemcachedCacheTest, ValueOverTheItemLimitIsTooLargeAndTheCacheKeepsWorking) {
  auto cache = MustMake(tcp_server->Url());
  ASSERT_NE(cache, nullptr);
  Status s = cache->Set("huge", std::string(2 << 20, 'x'), seconds(60));
  EXPECT_EQ(s.code(), StatusCode::kTooLarge) << s.ToString();
  ASSERT_TRUE(cache->Set("small", "ok", seconds(60)).ok());
  EXPECT_EQ(*cache->Get("small"), "ok");
  EXPECT_EQ(*cache->Get("huge"), std::nullopt);
}

TEST(MemcachedCacheTest, UnsafeKeysWork) {
  auto cache = MustMake(tcp_server->Url());
  ASSERT_NE(cache, nullptr);
  std::string key = "memo:" + std::string(300, 'y') + " with space\n";
  ASSERT_TRUE(cache->Set(key, "long", seconds(60)).ok());
  EXPECT_EQ(*cache->Get(key), "long");
  auto multi = cache->GetMulti({key, "other", key});
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  EXPECT_EQ((*multi)[0], "long");
  EXPECT_EQ((*multi)[1], std::nullopt);
  EXPECT_EQ((*multi)[2], "long");
}

TEST(MemcachedCacheTest, OutageIsUnavailableQuicklyThenRecoversAfterRestart) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url() + "?retry_ms=1000");
  ASSERT_NE(cache, nullptr);
  sigil::cache::testing::ExpectOutageIsUnavailableQuicklyThenRecovers(*cache, **server,
                                                                      "memcached 127.0.0.1:");
}

TEST(MemcachedCacheTest, UnixSocketOutageRecovers) {
  auto server = MemcachedServer::Start(/*unix_socket=*/true);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url());
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->Set("k", "v", seconds(60)).ok());
  (*server)->Kill();
  EXPECT_EQ(cache->Get("k").status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE((*server)->Restart().ok());
  ASSERT_TRUE(WaitUntilAnswers(*cache));
  ASSERT_TRUE(cache->Set("k", "again", seconds(60)).ok());
  EXPECT_EQ(*cache->Get("k"), "again");
}

TEST(MemcachedCacheTest, StalePooledConnectionsAfterARestartAreReplacedWithoutAnError) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url());
  ASSERT_NE(cache, nullptr);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(cache->Set("warm" + std::to_string(i), "v", seconds(60)).ok());
    });
  }
  for (auto& th : threads) th.join();

  (*server)->Kill();
  ASSERT_TRUE((*server)->Restart().ok());
  for (int i = 0; i < 8; ++i) {
    auto got = cache->Get("warm1");
    ASSERT_TRUE(got.ok()) << "call " << i << ": " << got.status().ToString();
    EXPECT_EQ(*got, std::nullopt);
  }
}

TEST(MemcachedCacheTest, StalledServerTimesOutAsUnavailable) {
  auto server = MemcachedServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto cache = MustMake((*server)->Url() + "?timeout_ms=200&retry_ms=1000");
  ASSERT_NE(cache, nullptr);
  ASSERT_TRUE(cache->Set("k", "v", seconds(60)).ok());
  (*server)->Pause();
  auto start = Clock::now();
  auto got = cache->Get("k");
  auto elapsed = Clock::now() - start;
  (*server)->Resume();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  EXPECT_LT(elapsed, seconds(3)) << "liveness: a stalled server must time out";
  ASSERT_TRUE(WaitUntilAnswers(*cache));
  EXPECT_EQ(*cache->Get("k"), "v");
}

TEST(MemcachedCacheTest, SeveralServersShareTheKeys) {
  auto second = MemcachedServer::Start();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  std::string url = "memcached://127.0.0.1:" + std::to_string(tcp_server->port()) +
                    ",127.0.0.1:" + std::to_string((*second)->port());
  auto both = MustMake(url);
  auto only_second = MustMake((*second)->Url());
  ASSERT_TRUE(both && only_second);
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("spread:" + std::to_string(i));
  for (const auto& k : keys) ASSERT_TRUE(both->Set(k, "v" + k, seconds(60)).ok());
  auto all = both->GetMulti(keys);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  int on_second = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ((*all)[i], "v" + keys[i]);
    if (*only_second->Get(keys[i])) ++on_second;
  }
  EXPECT_GT(on_second, 0) << "consistent hashing uses both servers";
  EXPECT_LT(on_second, 40);
}

TEST(MemcachedCacheTest, FactoryRejectsBadUrlsButNotADownServer) {
  EXPECT_EQ(MakeMemcachedCache("memcached://h?bogus=1").status().code(),
            StatusCode::kInvalidArgument);
  int port = sigil::testing::FreeLoopbackPort();
  auto cache = MakeMemcachedCache("memcached://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(cache.ok()) << "sigil must start while the cache is down";
  EXPECT_EQ((*cache)->Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*cache)->Get("x").status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigil::cache::memcached
