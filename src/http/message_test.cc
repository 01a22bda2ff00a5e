#include "http/message.h"

#include <gtest/gtest.h>

namespace sigil::http {
namespace {

TEST(HeadersTest, GetIsCaseInsensitiveAndReturnsFirst) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  EXPECT_EQ(h.Get("content-type"), "text/plain");
  EXPECT_EQ(h.Get("X-A"), "1");
  EXPECT_FALSE(h.Get("missing").has_value());
  EXPECT_TRUE(h.Has("CONTENT-TYPE"));
  EXPECT_FALSE(h.Has("Content"));
}

TEST(HeadersTest, SetReplacesEveryOccurrenceKeepingPosition) {
  Headers h;
  h.Add("A", "1");
  h.Add("B", "2");
  h.Add("a", "3");
  h.Add("C", "4");
  h.Set("A", "x");
  ASSERT_EQ(h.items().size(), 3u);
  EXPECT_EQ(h.items()[0].first, "A");
  EXPECT_EQ(h.items()[0].second, "x");
  EXPECT_EQ(h.items()[1].first, "B");
  EXPECT_EQ(h.items()[2].first, "C");
  h.Set("D", "new");
  EXPECT_EQ(h.items().back().first, "D");
  EXPECT_EQ(h.Get("d"), "new");
}

TEST(PrincipalTest, Has) {
  Principal p;
  p.permissions = {"upload_symbols", "view_all_uploads"};
  EXPECT_TRUE(p.Has("upload_symbols"));
  EXPECT_FALSE(p.Has("upload"));
  EXPECT_FALSE(p.Has("admin"));
}

TEST(RequestTest, QueryParam) {
  Request r;
  r.query = "a=1&b=hello+world&c=%2Fx%20y&flag&empty=&a=2&bad=%zz&bad=ok";
  EXPECT_EQ(r.QueryParam("a"), "1");
  EXPECT_EQ(r.QueryParam("b"), "hello world");
  EXPECT_EQ(r.QueryParam("c"), "/x y");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_EQ(r.QueryParam("empty"), "");
  EXPECT_EQ(r.QueryParam("bad"), "ok");
  EXPECT_FALSE(r.QueryParam("missing").has_value());
  EXPECT_TRUE(r.HasQueryParam("flag"));
  EXPECT_FALSE(r.HasQueryParam("fla"));
  r.query = "";
  EXPECT_FALSE(r.QueryParam("a").has_value());
  r.query = "na%6De=v";  // encoded key
  EXPECT_EQ(r.QueryParam("name"), "v");
}

TEST(RequestTest, AcceptsGzip) {
  auto accepts = [](std::vector<std::string> values) {
    Request r;
    for (auto& v : values) r.headers.Add("Accept-Encoding", v);
    return r.AcceptsGzip();
  };
  EXPECT_FALSE(accepts({}));
  EXPECT_TRUE(accepts({"gzip"}));
  EXPECT_TRUE(accepts({"deflate, GZIP;q=0.5, br"}));
  EXPECT_FALSE(accepts({"gzip;q=0"}));
  EXPECT_FALSE(accepts({"gzip; q=0.000"}));
  EXPECT_FALSE(accepts({"deflate, br"}));
  EXPECT_TRUE(accepts({"*"}));
  EXPECT_FALSE(accepts({"*;q=0"}));
  EXPECT_FALSE(accepts({"*, gzip;q=0"}));  // explicit gzip wins over *
  EXPECT_TRUE(accepts({"br", "x-gzip"}));
  EXPECT_FALSE(accepts({"gzipper"}));
}

TEST(ResponseTest, Factories) {
  Response j = Response::Json(201, "{\"a\":1}");
  EXPECT_EQ(j.status, 201);
  EXPECT_EQ(j.headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(j.body, "{\"a\":1}");

  Response t = Response::Text(404, "Symbol Not Found");
  EXPECT_EQ(t.headers.Get("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(t.body, "Symbol Not Found");

  Response e = Response::Error(405, "Method Not Allowed (GET): /upload/");
  EXPECT_EQ(e.status, 405);
  EXPECT_EQ(e.body, "{\"error\": \"Method Not Allowed (GET): /upload/\"}");
  EXPECT_EQ(Response::Error(400, "bad \"x\"").body, "{\"error\": \"bad \\\"x\\\"\"}");
}

TEST(JsonQuoteTest, Escapes) {
  EXPECT_EQ(JsonQuote(""), "\"\"");
  EXPECT_EQ(JsonQuote("plain"), "\"plain\"");
  EXPECT_EQ(JsonQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(JsonQuote("l1\nl2\r\t"), "\"l1\\nl2\\r\\t\"");
  EXPECT_EQ(JsonQuote(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
  EXPECT_EQ(JsonQuote(std::string("nul\0x", 5)), "\"nul\\u0000x\"");
  EXPECT_EQ(JsonQuote("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  // Invalid UTF-8 becomes U+FFFD so the output stays valid JSON.
  EXPECT_EQ(JsonQuote("a\xFF"
                      "b"),
            "\"a\\ufffdb\"");
  EXPECT_EQ(JsonQuote("\xC3"), "\"\\ufffd\"");                        // truncated
  EXPECT_EQ(JsonQuote("\xC0\xAF"), "\"\\ufffd\\ufffd\"");             // overlong
  EXPECT_EQ(JsonQuote("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
}

TEST(PercentDecodeTest, Decodes) {
  EXPECT_EQ(PercentDecode("abc", false), "abc");
  EXPECT_EQ(PercentDecode("a%20b%2Fc%2f", false), "a b/c/");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%41%42", true), "AB");
  EXPECT_EQ(PercentDecode("", true), "");
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
  EXPECT_FALSE(PercentDecode("%", false).has_value());
  EXPECT_FALSE(PercentDecode("%4", false).has_value());
  EXPECT_FALSE(PercentDecode("abc%", false).has_value());
  EXPECT_FALSE(PercentDecode("%zz", false).has_value());
  EXPECT_FALSE(PercentDecode("%g0", true).has_value());
}

}  // namespace
}  // namespace sigil::http
