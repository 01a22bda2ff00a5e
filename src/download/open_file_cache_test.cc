#include "download/open_file_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace sigil::download {
namespace {

using namespace std::chrono_literals;

// An opener that counts its calls and returns a memfd holding `content`.
struct CountingOpener {
  int calls = 0;
  std::string content = "v1";
  Result<Fd> operator()() {
    ++calls;
    Fd fd(::memfd_create("open-file-cache-test", MFD_CLOEXEC));
    if (!fd.valid() ||
        ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
      return Internal("memfd");
    return fd;
  }
  OpenFileCache::Opener Fn() {
    return [this] { return (*this)(); };
  }
};

std::string Read(const Fd& fd) {
  char buf[64];
  ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

TEST(OpenFileCacheTest, KeepsDescriptorsUntilInvalidated) {
  OpenFileCache cache(16, 60s);
  CountingOpener open;
  auto a = cache.Get("k", open.Fn());
  ASSERT_TRUE(a.ok());
  auto b = cache.Get("k", open.Fn());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(open.calls, 1);
  EXPECT_EQ(a->get(), b->get()) << "the same kept descriptor";
  EXPECT_EQ(cache.size(), 1u);

  cache.Invalidate("k");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(Read(**a), "v1") << "a descriptor in use outlives its entry";
  open.content = "v2";
  auto c = cache.Get("k", open.Fn());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(open.calls, 2);
  EXPECT_EQ(Read(**c), "v2");
}

TEST(OpenFileCacheTest, EntriesExpireAfterTtl) {
  OpenFileCache cache(16, 60s);
  auto now = OpenFileCache::Clock::now();
  cache.SetClockForTesting([&] { return now; });
  CountingOpener open;
  ASSERT_TRUE(cache.Get("k", open.Fn()).ok());
  now += 59s;
  ASSERT_TRUE(cache.Get("k", open.Fn()).ok());
  EXPECT_EQ(open.calls, 1);
  now += 2s;
  ASSERT_TRUE(cache.Get("k", open.Fn()).ok());
  EXPECT_EQ(open.calls, 2) << "reopened after the TTL";
}

TEST(OpenFileCacheTest, ErrorsAreNotKept) {
  OpenFileCache cache(16, 60s);
  int calls = 0;
  auto missing = [&]() -> Result<Fd> {
    ++calls;
    return NotFound("gone");
  };
  EXPECT_EQ(cache.Get("k", missing).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cache.Get("k", missing).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(OpenFileCacheTest, CapacityBoundsKeptDescriptors) {
  OpenFileCache cache(8, 60s);
  CountingOpener open;
  std::vector<std::shared_ptr<const Fd>> held;
  for (int i = 0; i < 200; ++i) {
    auto fd = cache.Get("key-" + std::to_string(i), open.Fn());
    ASSERT_TRUE(fd.ok());
    held.push_back(*fd);
  }
  EXPECT_LE(cache.size(), 8u);
  EXPECT_GE(cache.size(), 1u);
  for (const auto& fd : held) EXPECT_EQ(Read(*fd), "v1") << "evicted descriptors stay usable";
  // The most recent key of its shard is still kept.
  int before = open.calls;
  ASSERT_TRUE(cache.Get("key-199", open.Fn()).ok());
  EXPECT_EQ(open.calls, before);
}

TEST(OpenFileCacheTest, ZeroCapacityAlwaysOpens) {
  OpenFileCache cache(0, 60s);
  CountingOpener open;
  ASSERT_TRUE(cache.Get("k", open.Fn()).ok());
  ASSERT_TRUE(cache.Get("k", open.Fn()).ok());
  EXPECT_EQ(open.calls, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(OpenFileCacheTest, OpenRacingWithInvalidationIsNotKept) {
  OpenFileCache cache(16, 60s);
  CountingOpener open;
  // The object is replaced (and invalidated) while this Get is opening the old version.
  auto racing = cache.Get("k", [&]() -> Result<Fd> {
    auto fd = open();
    cache.Invalidate("k");
    return fd;
  });
  ASSERT_TRUE(racing.ok());
  EXPECT_EQ(cache.size(), 0u) << "possibly the replaced version: used once, not kept";
  ASSERT_TRUE(cache.Get("k", open.Fn()).ok());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(OpenFileCacheTest, ConcurrentGetsAndInvalidations) {
  OpenFileCache cache(32, 60s);
  std::atomic<int> opens{0};
  auto opener = [&]() -> Result<Fd> {
    opens.fetch_add(1);
    return Fd(::memfd_create("c", MFD_CLOEXEC));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = "k" + std::to_string((i * 7 + t) % 50);
        if (i % 10 == 0) {
          cache.Invalidate(key);
        } else {
          auto fd = cache.Get(key, opener);
          ASSERT_TRUE(fd.ok());
          ASSERT_TRUE((*fd)->valid());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(cache.size(), 32u);
  EXPECT_LT(opens.load(), 4 * 2000);
}

}  // namespace
}  // namespace sigil::download
