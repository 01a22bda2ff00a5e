#include "http/request_id.h"

#include <gtest/gtest.h>

#include <set>

namespace sigil::http {
namespace {

TEST(RequestIdTest, Sanitize) {
  EXPECT_EQ(SanitizeRequestId("abc-DEF_123.x:y@z/+="), "abc-DEF_123.x:y@z/+=");
  EXPECT_EQ(SanitizeRequestId("a b\tc\r\nd<e>\"f"), "abcdef");
  EXPECT_EQ(SanitizeRequestId(std::string(65, 'q')), std::string(64, 'q'));
  EXPECT_EQ(SanitizeRequestId("\xC3\xA9\x01"), "");
  EXPECT_EQ(SanitizeRequestId(""), "");
}

TEST(RequestIdTest, GeneratedIdsAreUniqueAndClean) {
  RequestIdGenerator a, b;
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = a.Next();
    EXPECT_EQ(SanitizeRequestId(id), id);
    EXPECT_LE(id.size(), kMaxRequestIdLength);
    EXPECT_TRUE(seen.insert(id).second);
  }
  EXPECT_TRUE(seen.insert(b.Next()).second);  // another generator: another prefix
}

}  // namespace
}  // namespace sigil::http
