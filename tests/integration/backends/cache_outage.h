// The outage contract of networked Cache backends (Redis, memcached), shared by their integration
// tests: while the server is down every call reports kUnavailable at once, naming the backend and
// address; once it is back the same Cache object reconnects by itself.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "cache/cache.h"

namespace sigil::cache::testing {

// Polls until `cache` answers a Get, or 10 s pass.
inline bool WaitUntilAnswers(Cache& cache) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cache.Get("probe").ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// `cache` talks to `server` (with Kill() and Restart()), which starts empty after a restart.
// `name_prefix` is how the backend names itself in errors, e.g. "redis 127.0.0.1:".
template <class Server>
void ExpectOutageIsUnavailableQuicklyThenRecovers(Cache& cache, Server& server,
                                                  const std::string& name_prefix) {
  using std::chrono::seconds;
  ASSERT_TRUE(cache.Set("k", "before", seconds(60)).ok());
  ASSERT_TRUE(cache.Ping().ok());

  server.Kill();
  // Not a performance assertion: an outage must be reported, not waited out on TCP's minutes-long
  // timeouts (generous bound).
  auto start = std::chrono::steady_clock::now();
  auto got = cache.Get("k");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  EXPECT_EQ(cache.Set("k", "during", seconds(60)).code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache.Delete("k").code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache.GetMulti({"k", "j"}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache.Ping().code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  EXPECT_NE(got.status().message().find(name_prefix), std::string::npos) << got.status().message();

  ASSERT_TRUE(server.Restart().ok());
  ASSERT_TRUE(WaitUntilAnswers(cache));
  EXPECT_EQ(*cache.Get("k"), std::nullopt) << "the server restarted empty";
  ASSERT_TRUE(cache.Set("k", "after", seconds(60)).ok());
  EXPECT_EQ(*cache.Get("k"), "after");
  EXPECT_TRUE(cache.Ping().ok());
}

}  // namespace sigil::cache::testing
