#include "cache/url_options.h"

#include <gtest/gtest.h>

namespace sigil::cache {
namespace {

TEST(UrlOptionsTest, ParsesIntegersInRange) {
  auto v = ParseUrlInt("x URL", "n", "42", 0, 100);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  EXPECT_TRUE(ParseUrlInt("x URL", "n", "0", 0, 100).ok());
  EXPECT_TRUE(ParseUrlInt("x URL", "n", "100", 0, 100).ok());
}

TEST(UrlOptionsTest, RejectsNonIntegersAndOutOfRangeNamingTheOption) {
  for (const char* bad : {"", "101", "-1", "1x", " 1", "0x10", "99999999999999999999"}) {
    auto v = ParseUrlInt("x URL", "n", bad, 0, 100);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(),
              std::string("x URL n must be an integer in [0, 100], got \"") + bad + "\"");
  }
}

TEST(UrlOptionsTest, AppliesTheSharedConnectionOptions) {
  ConnectionOptions o;
  EXPECT_EQ(o.connect_timeout.count(), 250);
  EXPECT_EQ(o.timeout.count(), 500);
  EXPECT_EQ(o.retry_interval.count(), 1000);
  EXPECT_EQ(o.pool_size, 16);
  for (auto [key, value] : {std::pair{"connect_timeout_ms", "7"}, std::pair{"timeout_ms", "8"},
                            std::pair{"retry_ms", "0"}, std::pair{"pool_size", "1024"}}) {
    auto known = ParseConnectionOption("x URL", key, value, o);
    ASSERT_TRUE(known.ok()) << key;
    EXPECT_TRUE(*known) << key;
  }
  EXPECT_EQ(o.connect_timeout.count(), 7);
  EXPECT_EQ(o.timeout.count(), 8);
  EXPECT_EQ(o.retry_interval.count(), 0);
  EXPECT_EQ(o.pool_size, 1024);
}

TEST(UrlOptionsTest, LeavesOtherKeysToTheCallerAndChecksRanges) {
  ConnectionOptions o;
  auto other = ParseConnectionOption("x URL", "channel", "c", o);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(*other);

  auto zero_timeout = ParseConnectionOption("x URL", "timeout_ms", "0", o);
  ASSERT_FALSE(zero_timeout.ok());
  EXPECT_EQ(zero_timeout.status().message(),
            "x URL timeout_ms must be an integer in [1, 600000], got \"0\"");
  EXPECT_FALSE(ParseConnectionOption("x URL", "pool_size", "1025", o).ok());
  EXPECT_FALSE(ParseConnectionOption("x URL", "connect_timeout_ms", "600001", o).ok());
  EXPECT_FALSE(ParseConnectionOption("x URL", "retry_ms", "-1", o).ok());
  EXPECT_EQ(o.timeout.count(), 500);  // unchanged by the failures
  EXPECT_EQ(o.pool_size, 16);
}

}  // namespace
}  // namespace sigil::cache
