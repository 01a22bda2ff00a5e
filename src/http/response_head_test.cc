#include "http/response_head.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace sigil::http {
namespace {

TEST(ResponseHeadTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(405), "Method Not Allowed");
  EXPECT_EQ(ReasonPhrase(413), "Payload Too Large");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_EQ(ReasonPhrase(299), "Unknown");
}

TEST(ResponseHeadTest, CachedDateIsAnImfFixdateOfNow) {
  std::string date(CachedHttpDate());
  auto parsed = ParseHttpDate(date);
  ASSERT_TRUE(parsed.has_value()) << date;
  EXPECT_LE(std::abs(*parsed - NowMicros()), 2'000'000);
  EXPECT_EQ(date.substr(date.size() - 4), " GMT");
}

TEST(ResponseHeadTest, SafeHeaders) {
  EXPECT_TRUE(IsSafeHeader("Content-Type", "text/plain; charset=utf-8"));
  EXPECT_TRUE(IsSafeHeader("X-Custom_1", ""));
  EXPECT_FALSE(IsSafeHeader("", "v"));
  EXPECT_FALSE(IsSafeHeader("Bad Name", "v"));
  EXPECT_FALSE(IsSafeHeader("Bad:Name", "v"));
  EXPECT_FALSE(IsSafeHeader("X", "a\r\nSet-Cookie: x"));
  EXPECT_FALSE(IsSafeHeader("X", "a\nb"));
  EXPECT_FALSE(IsSafeHeader("X", std::string("a\0b", 3)));
}

TEST(ResponseHeadTest, StatusesWithoutBody) {
  EXPECT_TRUE(StatusHasNoBody(100));
  EXPECT_TRUE(StatusHasNoBody(204));
  EXPECT_TRUE(StatusHasNoBody(304));
  EXPECT_FALSE(StatusHasNoBody(200));
  EXPECT_FALSE(StatusHasNoBody(404));
}

}  // namespace
}  // namespace sigil::http
