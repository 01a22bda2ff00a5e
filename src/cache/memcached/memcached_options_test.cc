// URL parsing (no server needed; the server tests are in tests/integration/backends).
#include "cache/memcached/memcached_options.h"

#include <gtest/gtest.h>

namespace sigil::cache::memcached {
namespace {

TEST(MemcachedOptionsTest, SingleServerWithDefaults) {
  auto o = ParseMemcachedUrl("memcached://cache.internal");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->unix_socket);
  ASSERT_EQ(o->servers.size(), 1u);
  EXPECT_EQ(o->servers[0].host, "cache.internal");
  EXPECT_EQ(o->servers[0].port, 11211);
  EXPECT_EQ(o->connect_timeout.count(), 250);
  EXPECT_EQ(o->timeout.count(), 500);
  EXPECT_EQ(o->pool_size, 16);
  EXPECT_EQ(o->Describe(), "memcached cache.internal:11211");
}

TEST(MemcachedOptionsTest, SeveralServersAndOptions) {
  auto o = ParseMemcachedUrl(
      "memcached://10.0.0.1:11311,10.0.0.2,[::1]:11411/"
      "?timeout_ms=100&connect_timeout_ms=50&retry_ms=0&pool_size=3");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  ASSERT_EQ(o->servers.size(), 3u);
  EXPECT_EQ(o->servers[0].host, "10.0.0.1");
  EXPECT_EQ(o->servers[0].port, 11311);
  EXPECT_EQ(o->servers[1].port, 11211);
  EXPECT_EQ(o->servers[2].host, "::1");
  EXPECT_EQ(o->servers[2].port, 11411);
  EXPECT_EQ(o->timeout.count(), 100);
  EXPECT_EQ(o->connect_timeout.count(), 50);
  EXPECT_EQ(o->retry_interval.count(), 0);
  EXPECT_EQ(o->pool_size, 3);
  EXPECT_EQ(o->Describe(), "memcached 10.0.0.1:11311,10.0.0.2:11211,[::1]:11411");
}

TEST(MemcachedOptionsTest, UnixSocket) {
  auto o = ParseMemcachedUrl("memcached+unix:///run/memcached/memcached.sock?pool_size=2");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->unix_socket);
  ASSERT_EQ(o->servers.size(), 1u);
  EXPECT_EQ(o->servers[0].host, "/run/memcached/memcached.sock");
  EXPECT_EQ(o->pool_size, 2);
  EXPECT_EQ(o->Describe(), "memcached unix:/run/memcached/memcached.sock");
}

TEST(MemcachedOptionsTest, RejectsBadUrlsWithAMessageNamingTheProblem) {
  struct Case {
    const char* url;
    const char* mention;
  } cases[] = {
      {"redis://h:6379", "memcached://"},
      {"memcached://", "no host"},
      {"memcached://h:", "port"},
      {"memcached://h:70000", "port"},
      {"memcached://h,,g", "empty host"},
      {"memcached://::1", "brackets"},
      {"memcached://[::1", "unclosed"},
      {"memcached://h/db", "no path"},
      {"memcached://h?pool_size=0", "pool_size"},
      {"memcached://h?poolsize=2", "unknown memcached URL option \"poolsize\""},
      {"memcached+unix://relative/sock", "socket path"},
      {"memcached://user@h", "not allowed"},
  };
  for (const Case& c : cases) {
    auto o = ParseMemcachedUrl(c.url);
    ASSERT_FALSE(o.ok()) << c.url;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(o.status().message().find(c.mention), std::string::npos)
        << c.url << " -> " << o.status().message();
  }
}

}  // namespace
}  // namespace sigil::cache::memcached
