#include "cache/memoize.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

namespace sigil::cache {
namespace {

using std::chrono::seconds;

// A map-backed Cache that records TTLs and can be made to fail.
class FakeCache : public Cache {
 public:
  std::string Name() const override { return "fake"; }
  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::lock_guard lock(mu_);
    ++gets;
    if (fail) return Unavailable("fake cache down");
    auto it = data.find(std::string(key));
    if (it == data.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Set(std::string_view key, std::string_view value, seconds ttl) override {
    std::lock_guard lock(mu_);
    ++sets;
    if (fail) return Unavailable("fake cache down");
    data[std::string(key)] = std::string(value);
    ttls[std::string(key)] = ttl;
    return Status::Ok();
  }
  Status Delete(std::string_view key) override {
    std::lock_guard lock(mu_);
    if (fail) return Unavailable("fake cache down");
    data.erase(std::string(key));
    return Status::Ok();
  }
  Result<std::vector<std::optional<std::string>>> GetMulti(
      const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out;
    for (const auto& k : keys) {
      auto r = Get(k);
      if (!r.ok()) return r.status();
      out.push_back(*r);
    }
    return out;
  }
  Status Ping() override { return fail ? Unavailable("down") : Status::Ok(); }

  std::mutex mu_;
  std::map<std::string, std::string> data;
  std::map<std::string, seconds> ttls;
  int gets = 0;
  int sets = 0;
  bool fail = false;
};

TEST(MemoizeTest, ComputesOnceThenServesFromCache) {
  FakeCache cache;
  int calls = 0;
  Memoize<std::string(std::string, int)> m(
      cache, {.prefix = "t", .ttl = seconds(60)},
      [&](const std::string& s, const int& n) -> Result<std::string> {
        ++calls;
        return s + "#" + std::to_string(n);
      });
  EXPECT_EQ(*m("a", 1), "a#1");
  EXPECT_EQ(*m("a", 1), "a#1");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(*m("a", 2), "a#2");
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.ttls.at(m.KeyFor("a", 1)), seconds(60));
}

TEST(MemoizeTest, ArgumentsWithSeparatorsDoNotCollide) {
  FakeCache cache;
  int calls = 0;
  Memoize<std::string(std::string, std::string)> m(
      cache, {.prefix = "t"},
      [&](const std::string& a, const std::string& b) -> Result<std::string> {
        ++calls;
        return a + "|" + b;
      });
  EXPECT_EQ(*m("a:b", "c"), "a:b|c");
  EXPECT_EQ(*m("a", "b:c"), "a|b:c");
  EXPECT_EQ(*m("a b", "c"), "a b|c");
  EXPECT_EQ(*m("a%20b", "c"), "a%20b|c");
  EXPECT_EQ(calls, 4);
  EXPECT_NE(m.KeyFor("a:b", "c"), m.KeyFor("a", "b:c"));
  EXPECT_EQ(m.KeyFor("a b", "c").find(' '), std::string::npos);
}

struct Host {
  std::string hostname;
  int connection_id;  // differs between objects that mean the same host
};

TEST(MemoizeTest, KeyFunctionRewritesArguments) {
  FakeCache cache;
  int calls = 0;
  Memoize<std::string(Host)> m(
      cache, {.prefix = "host", .key_fn = [](const Host& h) { return KeyPart(h.hostname); }},
      [&](const Host& h) -> Result<std::string> {
        ++calls;
        return "ip-of-" + h.hostname;
      });
  EXPECT_EQ(*m(Host{"example.org", 1}), "ip-of-example.org");
  EXPECT_EQ(*m(Host{"example.org", 2}), "ip-of-example.org");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(*m(Host{"other.org", 1}), "ip-of-other.org");
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, InvalidateDropsExactlyThatEntry) {
  FakeCache cache;
  std::map<std::string, int> calls;
  Memoize<int(std::string)> m(cache, {.prefix = "inv"},
                              [&](const std::string& s) -> Result<int> { return ++calls[s]; });
  EXPECT_EQ(*m("x"), 1);
  EXPECT_EQ(*m("y"), 1);
  m.Invalidate("x");
  EXPECT_EQ(*m("x"), 2);
  EXPECT_EQ(*m("y"), 1) << "invalidating x must not touch y";
  EXPECT_EQ(*m("x"), 2);
}

TEST(MemoizeTest, InvalidateAllDropsEveryEntry) {
  FakeCache cache;
  std::map<std::string, int> calls;
  Memoize<int(std::string)> m(cache, {.prefix = "all"},
                              [&](const std::string& s) -> Result<int> { return ++calls[s]; });
  EXPECT_EQ(*m("x"), 1);
  EXPECT_EQ(*m("y"), 1);
  m.InvalidateAll();
  EXPECT_EQ(*m("x"), 2);
  EXPECT_EQ(*m("y"), 2);
  EXPECT_EQ(*m("y"), 2);
}

TEST(MemoizeTest, RefreshRecomputesAndStores) {
  FakeCache cache;
  int version = 0;
  int calls = 0;
  Memoize<int(std::string)> m(cache, {.prefix = "r"}, [&](const std::string&) -> Result<int> {
    ++calls;
    return version;
  });
  EXPECT_EQ(*m("k"), 0);
  version = 7;
  EXPECT_EQ(*m("k"), 0) << "cached";
  EXPECT_EQ(*m.Refresh("k"), 7);
  EXPECT_EQ(*m("k"), 7) << "the refreshed value is stored";
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, HitAndMissCallbacks) {
  FakeCache cache;
  std::vector<std::string> hits, misses;
  Memoize<int(std::string)>::Options opt{.prefix = "cb"};
  opt.on_hit = [&](const std::string& s) { hits.push_back(s); };
  opt.on_miss = [&](const std::string& s) { misses.push_back(s); };
  Memoize<int(std::string)> m(
      cache, opt, [](const std::string& s) -> Result<int> { return static_cast<int>(s.size()); });
  (void)m("aa");
  (void)m("aa");
  (void)m("b");
  (void)m("aa");
  EXPECT_EQ(misses, (std::vector<std::string>{"aa", "b"}));
  EXPECT_EQ(hits, (std::vector<std::string>{"aa", "aa"}));
  (void)m.Peek("b");
  (void)m.Peek("zz");
  EXPECT_EQ(hits, (std::vector<std::string>{"aa", "aa", "b"}));
  EXPECT_EQ(misses.size(), 2u) << "Peek never counts a miss";
}

TEST(MemoizeTest, StoreResultFalseIsAnIdempotencyGuard) {
  FakeCache cache;
  int calls = 0;
  Memoize<std::string(std::string)> m(
      cache, {.prefix = "guard", .ttl = seconds(3600), .store_result = false},
      [&](const std::string&) -> Result<std::string> {
        ++calls;
        return std::string(10000, 'x');  // big output, never stored
      });
  auto first = m("user1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 10000u);
  auto second = m("user1");
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cache.data.at(m.KeyFor("user1")), "C") << "only the fact of the call is stored";
  EXPECT_EQ(cache.ttls.at(m.KeyFor("user1")), seconds(3600));
  EXPECT_TRUE(m("user2").ok());
  EXPECT_EQ(calls, 2);
  m.Invalidate("user1");
  EXPECT_TRUE(m("user1").ok());
  EXPECT_EQ(calls, 3);
}

TEST(MemoizeTest, StoreResultFalseDoesNotMarkFailedCalls) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(int)> m(cache, {.prefix = "guard2", .store_result = false},
                      [&](const int&) -> Result<int> {
                        ++calls;
                        return Unavailable("database down");
                      });
  EXPECT_EQ(m(1).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(m(1).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, NotFoundIsCachedWithItsOwnTtl) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(std::string)> m(
      cache, {.prefix = "nf", .ttl = seconds(21600), .not_found_ttl = seconds(600)},
      [&](const std::string& s) -> Result<int> {
        ++calls;
        if (s == "missing") return NotFound("no such thing: " + s);
        return 1;
      });
  auto r = m("missing");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  auto again = m("missing");
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(again.status().message(), "no such thing: missing");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(cache.ttls.at(m.KeyFor("missing")), seconds(600));
  EXPECT_TRUE(m("present").ok());
  EXPECT_EQ(cache.ttls.at(m.KeyFor("present")), seconds(21600));
}

TEST(MemoizeTest, NotFoundIsNotCachedWithoutNotFoundTtl) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(int)> m(cache, {.prefix = "nf0"}, [&](const int&) -> Result<int> {
    ++calls;
    return NotFound("gone");
  });
  (void)m(1);
  (void)m(1);
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, OtherErrorsAreNeverCached) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(int)> m(cache, {.prefix = "err", .not_found_ttl = seconds(60)},
                      [&](const int&) -> Result<int> {
                        ++calls;
                        if (calls == 1) return Internal("transient");
                        return 5;
                      });
  EXPECT_EQ(m(1).status().code(), StatusCode::kInternal);
  EXPECT_EQ(*m(1), 5);
  EXPECT_EQ(*m(1), 5);
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, ConcurrentMissesRunTheFunctionOnce) {
  FakeCache cache;
  std::atomic<int> calls{0};
  Memoize<std::string(std::string)> m(cache, {.prefix = "sf"},
                                      [&](const std::string& s) -> Result<std::string> {
                                        ++calls;
                                        std::this_thread::sleep_for(std::chrono::milliseconds(200));
                                        return "v-" + s;
                                      });
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::vector<std::string> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      auto r = m("same");
      results[i] = r.ok() ? *r : "error";
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(calls.load(), 1);
  for (const auto& r : results) EXPECT_EQ(r, "v-same");
}

TEST(MemoizeTest, SingleFlightSharesNotFoundAndErrors) {
  FakeCache cache;
  std::atomic<int> calls{0};
  Memoize<int(int)> m(cache, {.prefix = "sf2"}, [&](const int&) -> Result<int> {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return Unavailable("storage down");
  });
  std::atomic<int> unavailable{0};
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < 4) std::this_thread::yield();
      if (m(1).status().code() == StatusCode::kUnavailable) ++unavailable;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unavailable.load(), 4);
  EXPECT_LE(calls.load(), 4);
  EXPECT_GE(calls.load(), 1);
}

TEST(MemoizeTest, BackendErrorsDegradeToCallingTheFunction) {
  FakeCache cache;
  cache.fail = true;
  int calls = 0;
  Memoize<int(int)> m(cache, {.prefix = "down"}, [&](const int& x) -> Result<int> {
    ++calls;
    return x * 2;
  });
  EXPECT_EQ(*m(21), 42);
  EXPECT_EQ(*m(21), 42);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(m.Peek(21).has_value());
  m.Invalidate(21);  // must not crash or throw
  cache.fail = false;
  EXPECT_EQ(*m(21), 42);
  EXPECT_EQ(*m(21), 42);
  EXPECT_EQ(calls, 3);
}

TEST(MemoizeTest, UndecodableStoredValueIsAMiss) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(int)> m(cache, {.prefix = "bad"}, [&](const int&) -> Result<int> {
    ++calls;
    return 3;
  });
  cache.data[m.KeyFor(1)] = "Vnot-a-number";
  EXPECT_EQ(*m(1), 3);
  EXPECT_EQ(calls, 1);
  cache.data[m.KeyFor(2)] = "";
  EXPECT_EQ(*m(2), 3);
  cache.data[m.KeyFor(3)] = "Zgarbage";
  EXPECT_EQ(*m(3), 3);
  EXPECT_EQ(calls, 3);
}

TEST(MemoizeTest, ResultComputedDuringInvalidationIsNotStored) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(int)>* self = nullptr;
  Memoize<int(int)> m(cache, {.prefix = "race", .not_found_ttl = seconds(600)},
                      [&](const int& x) -> Result<int> {
                        ++calls;
                        if (calls == 1) {
                          self->Invalidate(x);  // an upload lands while the lookup runs
                          return NotFound("stale miss");
                        }
                        return 1;
                      });
  self = &m;
  EXPECT_EQ(m(5).status().code(), StatusCode::kNotFound) << "the caller still gets its result";
  EXPECT_EQ(*m(5), 1) << "the stale miss was not stored";
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, PeekNeverCallsTheFunction) {
  FakeCache cache;
  int calls = 0;
  Memoize<int(int)> m(cache, {.prefix = "peek", .not_found_ttl = seconds(60)},
                      [&](const int& x) -> Result<int> {
                        ++calls;
                        if (x < 0) return NotFound("negative");
                        return x;
                      });
  EXPECT_FALSE(m.Peek(4).has_value());
  EXPECT_EQ(calls, 0);
  (void)m(4);
  (void)m(-1);
  ASSERT_TRUE(m.Peek(4).has_value());
  EXPECT_EQ(**m.Peek(4), 4);
  ASSERT_TRUE(m.Peek(-1).has_value());
  EXPECT_EQ(m.Peek(-1)->status().code(), StatusCode::kNotFound);
  EXPECT_EQ(calls, 2);
}

TEST(MemoizeTest, LongKeysAreHashedIntoSafeKeys) {
  FakeCache cache;
  Memoize<std::string(std::string)> m(
      cache, {.prefix = "long"}, [](const std::string& s) -> Result<std::string> { return s; });
  std::string big(400, 'a');
  std::string key = m.KeyFor(big);
  EXPECT_LE(key.size(), 250u);
  EXPECT_EQ(*m(big), big);
  EXPECT_EQ(*m(big), big);
  EXPECT_NE(m.KeyFor(big), m.KeyFor(big + "b"));
}

TEST(MemoizeTest, IntegerCodecRoundTripsAndRejectsGarbage) {
  EXPECT_EQ(Codec<int64_t>::Decode(Codec<int64_t>::Encode(-1234567890123)), -1234567890123);
  EXPECT_EQ(Codec<uint8_t>::Decode("255"), 255);
  EXPECT_EQ(Codec<uint8_t>::Decode("256"), std::nullopt);
  EXPECT_EQ(Codec<int>::Decode("12x"), std::nullopt);
  EXPECT_EQ(Codec<int>::Decode(""), std::nullopt);
}

}  // namespace
}  // namespace sigil::cache
