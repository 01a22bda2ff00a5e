#include "cache/cache_conformance.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/hashing.h"

namespace sigil::cache::testing {

std::string FactoryName(const ::testing::TestParamInfo<CacheFactory>& info) {
  return info.param.name;
}

void CacheConformanceTest::SetUp() {
  cache_ = GetParam().make();
  ASSERT_NE(cache_, nullptr);
  prefix_ = "conf:" + RandomHex(6) + ":";
}

std::string CacheConformanceTest::Key(const std::string& suffix) const { return prefix_ + suffix; }

namespace {
using std::chrono::seconds;

std::optional<std::string> MustGet(Cache& cache, const std::string& key) {
  auto r = cache.Get(key);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}
}  // namespace

TEST_P(CacheConformanceTest, NameAndPing) {
  EXPECT_FALSE(cache_->Name().empty());
  EXPECT_TRUE(cache_->Ping().ok());
}

TEST_P(CacheConformanceTest, MissThenSetThenHit) {
  EXPECT_EQ(MustGet(*cache_, Key("a")), std::nullopt);
  ASSERT_TRUE(cache_->Set(Key("a"), "value-a", seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, Key("a")), "value-a");
  EXPECT_EQ(MustGet(*cache_, Key("b")), std::nullopt);
}

TEST_P(CacheConformanceTest, OverwriteReplacesValue) {
  ASSERT_TRUE(cache_->Set(Key("k"), "first", seconds(60)).ok());
  ASSERT_TRUE(cache_->Set(Key("k"), "second, longer value", seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, Key("k")), "second, longer value");
  ASSERT_TRUE(cache_->Set(Key("k"), "x", seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, Key("k")), "x");
}

TEST_P(CacheConformanceTest, DeleteDropsOnlyThatKey) {
  ASSERT_TRUE(cache_->Set(Key("d1"), "1", seconds(60)).ok());
  ASSERT_TRUE(cache_->Set(Key("d2"), "2", seconds(60)).ok());
  ASSERT_TRUE(cache_->Delete(Key("d1")).ok());
  EXPECT_EQ(MustGet(*cache_, Key("d1")), std::nullopt);
  EXPECT_EQ(MustGet(*cache_, Key("d2")), "2");
  EXPECT_TRUE(cache_->Delete(Key("never-set")).ok());
}

TEST_P(CacheConformanceTest, BinaryAndEmptyValuesRoundTrip) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  binary += std::string("\0\r\n\0", 4);
  ASSERT_TRUE(cache_->Set(Key("bin"), binary, seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, Key("bin")), binary);
  ASSERT_TRUE(cache_->Set(Key("empty"), "", seconds(60)).ok());
  auto empty = MustGet(*cache_, Key("empty"));
  ASSERT_TRUE(empty.has_value()) << "an empty value is a hit, not a miss";
  EXPECT_EQ(*empty, "");
}

TEST_P(CacheConformanceTest, LargeValueRoundTrips) {
  std::string big(200 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  ASSERT_TRUE(cache_->Set(Key("big"), big, seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, Key("big")), big);
}

TEST_P(CacheConformanceTest, MaxLengthSafeKeyWorks) {
  std::string key = Key("");
  key += std::string(250 - key.size(), 'k');
  ASSERT_EQ(SafeCacheKey(key), key);
  ASSERT_TRUE(cache_->Set(key, "long-key", seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, key), "long-key");
  std::string hashed = SafeCacheKey(key + "kk with spaces");
  ASSERT_TRUE(cache_->Set(hashed, "hashed", seconds(60)).ok());
  EXPECT_EQ(MustGet(*cache_, hashed), "hashed");
}

TEST_P(CacheConformanceTest, GetMultiKeepsOrderAndReportsMisses) {
  ASSERT_TRUE(cache_->Set(Key("m1"), "one", seconds(60)).ok());
  ASSERT_TRUE(cache_->Set(Key("m3"), "three", seconds(60)).ok());
  auto r = cache_->GetMulti({Key("m3"), Key("m2"), Key("m1"), Key("m3")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], "three");
  EXPECT_EQ((*r)[1], std::nullopt);
  EXPECT_EQ((*r)[2], "one");
  EXPECT_EQ((*r)[3], "three");
  auto none = cache_->GetMulti({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(CacheConformanceTest, NonPositiveTtlIsRejected) {
  Status s = cache_->Set(Key("ttl0"), "v", seconds(0));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(MustGet(*cache_, Key("ttl0")), std::nullopt);
  s = cache_->Set(Key("ttlneg"), "v", seconds(-5));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
}

TEST_P(CacheConformanceTest, EntriesExpireAfterTheirTtl) {
  ASSERT_TRUE(cache_->Set(Key("short"), "s", seconds(1)).ok());
  ASSERT_TRUE(cache_->Set(Key("long"), "l", seconds(60)).ok());
  ASSERT_TRUE(cache_->Set(Key("renewed"), "old", seconds(1)).ok());
  ASSERT_TRUE(cache_->Set(Key("renewed"), "new", seconds(60)).ok());  // overwrite renews the TTL
  EXPECT_EQ(MustGet(*cache_, Key("short")), "s");
  // Redis and memcached count TTLs in whole seconds; 2.2 s is past expiry under either rounding.
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  EXPECT_EQ(MustGet(*cache_, Key("short")), std::nullopt);
  EXPECT_EQ(MustGet(*cache_, Key("long")), "l");
  EXPECT_EQ(MustGet(*cache_, Key("renewed")), "new");
  auto multi = cache_->GetMulti({Key("short"), Key("long")});
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ((*multi)[0], std::nullopt);
  EXPECT_EQ((*multi)[1], "l");
}

TEST_P(CacheConformanceTest, ConcurrentWritersAndReadersSeeWholeValues) {
  constexpr int kThreads = 4;
  constexpr int kOps = 300;
  std::atomic<int> torn{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        std::string key = Key("c" + std::to_string(i % 16));
        // Every value is one repeated character, so a torn value is detectable.
        std::string value(64 + (i % 7) * 100, static_cast<char>('a' + (t * kOps + i) % 26));
        if (!cache_->Set(key, value, seconds(60)).ok()) ++errors;
        auto got = cache_->Get(key);
        if (!got.ok()) {
          ++errors;
          continue;
        }
        if (*got && (*got)->find_first_not_of((**got)[0]) != std::string::npos) ++torn;
        if (i % 10 == 0 && !cache_->Delete(key).ok()) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace sigil::cache::testing
