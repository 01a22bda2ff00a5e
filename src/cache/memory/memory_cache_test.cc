#include "cache/memory/memory_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "cache/cache_conformance.h"

namespace sigil::cache::memory {
namespace {

using std::chrono::seconds;
using testing::CacheConformanceTest;
using testing::CacheFactory;

INSTANTIATE_TEST_SUITE_P(Memory, CacheConformanceTest,
                         ::testing::Values(CacheFactory{
                             "memory", [] { return MakeMemoryCache(64ull << 20); }}),
                         testing::FactoryName);

TEST(MemoryCacheTest, IsInProcess) {
  auto cache = MakeMemoryCache(1 << 20);
  EXPECT_TRUE(cache->InProcess());
  EXPECT_EQ(cache->Name(), "memory");
}

TEST(MemoryCacheTest, StaysWithinBudgetAndEvictsLeastRecentlyUsed) {
  // 64 shards × 4 KB each; 1 KB values, so each shard holds three.
  auto cache = MakeMemoryCache(64 * 4096);
  const std::string value(1000, 'v');
  constexpr int kKeys = 2000;
  // Key 0 is read after every write, so it stays most recently used in its shard.
  ASSERT_TRUE(cache->Set("key0", value, seconds(60)).ok());
  int present = 0;
  for (int i = 1; i < kKeys; ++i) {
    ASSERT_TRUE(cache->Set("key" + std::to_string(i), value, seconds(60)).ok());
    ASSERT_TRUE(cache->Get("key0")->has_value()) << "evicted a recently used key at i=" << i;
  }
  for (int i = 0; i < kKeys; ++i) {
    if (cache->Get("key" + std::to_string(i))->has_value()) ++present;
  }
  // The budget holds at most 64 shards × 3 entries; far fewer than were written survive.
  EXPECT_LE(present, 64 * 3);
  EXPECT_GE(present, 64);
  // The most recently written keys are there.
  EXPECT_TRUE(cache->Get("key" + std::to_string(kKeys - 1))->has_value());
}

TEST(MemoryCacheTest, ValueLargerThanShardBudgetIsRefusedAndDropsOldValue) {
  auto cache = MakeMemoryCache(64 * 1024);  // 1 KB per shard
  ASSERT_TRUE(cache->Set("k", "small", seconds(60)).ok());
  Status s = cache->Set("k", std::string(4096, 'x'), seconds(60));
  EXPECT_EQ(s.code(), StatusCode::kTooLarge);
  EXPECT_FALSE(cache->Get("k")->has_value()) << "a refused overwrite must not leave the old value";
}

TEST(MemoryCacheTest, OverwriteDoesNotLeakCharge) {
  auto cache = MakeMemoryCache(64 * 4096);
  // Rewriting one key many times must not push others out (the old charge is released).
  ASSERT_TRUE(cache->Set("stable", "s", seconds(60)).ok());
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(cache->Set("churn", std::string(1000, 'c'), seconds(60)).ok());
  EXPECT_TRUE(cache->Get("stable")->has_value());
}

}  // namespace
}  // namespace sigil::cache::memory
