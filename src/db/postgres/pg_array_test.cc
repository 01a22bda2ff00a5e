// Array literal encoding and decoding (no server; server round trips are in tests/integration).
#include "db/postgres/pg_array.h"

#include <gtest/gtest.h>

namespace sigil::db::postgres {
namespace {

TEST(PgArrayTest, EncodesEveryElementQuotedAndEscaped) {
  EXPECT_EQ(EncodeTextArray({}), "{}");
  EXPECT_EQ(EncodeTextArray({"a"}), "{\"a\"}");
  EXPECT_EQ(EncodeTextArray({"", "NULL", "a,b", "q\"uote", "back\\slash", "{x}", " sp "}),
            R"({"","NULL","a,b","q\"uote","back\\slash","{x}"," sp "})");
  EXPECT_EQ(EncodeInt64Array({}), "{}");
  EXPECT_EQ(EncodeInt64Array({1, -2, 9223372036854775807}), "{1,-2,9223372036854775807}");
}

TEST(PgArrayTest, DecodesPostgresOutput) {
  // As PostgreSQL prints them: bare words unquoted, special ones quoted.
  auto v = DecodeTextArray(R"({upload,"a b","",NULLX,"NULL","q\"uote","back\\slash","a,b","{x}"})");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, (std::vector<std::string>{"upload", "a b", "", "NULLX", "NULL", "q\"uote",
                                          "back\\slash", "a,b", "{x}"}));
  auto empty = DecodeTextArray("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(PgArrayTest, RoundTripsAnyText) {
  std::vector<std::string> items = {"plain",   "",          "with \"quotes\" and \\",
                                    "ünïcödé", "tab\there", "{,}"};
  auto back = DecodeTextArray(EncodeTextArray(items));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, items);
}

TEST(PgArrayTest, RejectsWhatSigilNeverStores) {
  for (const char* bad : {"", "{", "x", "{NULL}", "{a,NULL}", "{{a},{b}}", "[0:1]={a,b}", R"({"a)",
                          R"({"a"b})", R"({a"b"})", "{\"a\\"}) {
    auto v = DecodeTextArray(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kInternal) << bad;
    }
  }
}

}  // namespace
}  // namespace sigil::db::postgres
