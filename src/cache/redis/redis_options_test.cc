// URL parsing and the invalidation wire format (no server needed; the server tests are in
// tests/integration/backends).
#include "cache/redis/redis_options.h"

#include <gtest/gtest.h>

#include "cache/redis/redis_invalidation_bus.h"

namespace sigil::cache::redis {
namespace {

TEST(RedisOptionsTest, TcpUrlWithDefaults) {
  auto o = ParseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_FALSE(o->unix_socket);
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->db, 0);
  EXPECT_EQ(o->connect_timeout.count(), 250);
  EXPECT_EQ(o->timeout.count(), 500);
  EXPECT_EQ(o->channel, "sigil:invalidate:0");
  EXPECT_EQ(o->Describe(), "redis cache.internal:6379/0");
}

TEST(RedisOptionsTest, TcpUrlWithEverything) {
  auto o = ParseRedisUrl(
      "redis://sigil:p%40ss@10.0.0.5:6380/"
      "3?connect_timeout_ms=100&timeout_ms=200&retry_ms=50&pool_size=4");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->db, 3);
  EXPECT_EQ(o->username, "sigil");
  EXPECT_EQ(o->password, "p@ss");
  EXPECT_EQ(o->connect_timeout.count(), 100);
  EXPECT_EQ(o->timeout.count(), 200);
  EXPECT_EQ(o->retry_interval.count(), 50);
  EXPECT_EQ(o->pool_size, 4);
  EXPECT_EQ(o->channel, "sigil:invalidate:3");
  EXPECT_EQ(o->Describe().find("p@ss"), std::string::npos)
      << "descriptions never show the password";
}

TEST(RedisOptionsTest, Ipv6Host) {
  auto o = ParseRedisUrl("redis://[::1]:7000");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_EQ(o->Describe(), "redis [::1]:7000/0");
}

TEST(RedisOptionsTest, UnixSocketUrl) {
  auto o = ParseRedisUrl("redis+unix:///run/redis/redis.sock?db=2&channel=custom");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->unix_socket);
  EXPECT_EQ(o->path, "/run/redis/redis.sock");
  EXPECT_EQ(o->db, 2);
  EXPECT_EQ(o->channel, "custom");
}

TEST(RedisOptionsTest, RejectsBadUrlsWithAMessageNamingTheProblem) {
  struct Case {
    const char* url;
    const char* mention;
  } cases[] = {
      {"memcached://x:11211", "redis://"},
      {"redis://", "no host"},
      {"redis://h:0", "port"},
      {"redis://h:99999", "port"},
      {"redis://h/abc", "db"},
      {"redis://h/1?pool_size=0", "pool_size"},
      {"redis://h/1?timeout_ms=fast", "timeout_ms"},
      {"redis://h?tmeout_ms=5", "unknown redis URL option \"tmeout_ms\""},
      {"redis+unix://host/sock", "socket path"},
      {"redis+unix://", "socket path"},
      {"redis://h?channel=", "channel"},
      {"not a url", "not a valid redis URL"},
  };
  for (const Case& c : cases) {
    auto o = ParseRedisUrl(c.url);
    ASSERT_FALSE(o.ok()) << c.url;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << c.url;
    EXPECT_NE(o.status().message().find(c.mention), std::string::npos)
        << c.url << " -> " << o.status().message();
  }
}

TEST(InvalidationWireFormatTest, RoundTrips) {
  auto key =
      SymbolKey::Parse("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.sym", /*is_try=*/true);
  ASSERT_TRUE(key.ok());
  std::string msg = EncodeInvalidation("abc123", *key);
  EXPECT_EQ(msg, "v1|abc123|1|xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym");
  std::string sender;
  auto back = DecodeInvalidation(msg, &sender);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, *key);
  EXPECT_EQ(sender, "abc123");
}

TEST(InvalidationWireFormatTest, RejectsMalformedMessages) {
  std::string sender;
  for (const char* bad : {"", "v2|s|0|a/B/c", "v1|", "v1||0|a/B/c", "v1|s|2|a/B/c", "v1|s|0a/B/c",
                          "v1|s|0|a/B", "v1|s|0|a/NOTHEX/c", "v1|s|0|../B/c", "v1|s|0|a/B/c/d"}) {
    auto key = DecodeInvalidation(bad, &sender);
    EXPECT_FALSE(key.ok()) << bad;
    if (!key.ok()) {
      EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace sigil::cache::redis
