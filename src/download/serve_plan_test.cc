#include "download/serve_plan.h"

#include <gtest/gtest.h>

#include "common/clock.h"

namespace sigil::download {
namespace {

ObjectMeta GzipMeta() {
  ObjectMeta m;
  m.size = 1000;
  m.content_type = "text/plain";
  m.content_encoding = "gzip";
  m.original_size = 5000;
  m.last_modified = 1700000000123456;  // has sub-second micros
  m.etag = "\"abc\"";
  return m;
}

ObjectMeta PlainMeta() {
  ObjectMeta m;
  m.size = 300;
  m.last_modified = 1700000000000000;
  m.etag = "\"plain\"";
  return m;
}

std::string Header(const ServePlan& p, std::string_view name) {
  for (const auto& [n, v] : p.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST(ServePlanTest, GzipPassthroughWhenAccepted) {
  auto p = PlanServe(GzipMeta(), {.accepts_gzip = true});
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, ServePlan::Body::kStored);
  EXPECT_EQ(p.offset, 0u);
  EXPECT_EQ(p.length, 1000u);
  EXPECT_EQ(Header(p, "Content-Encoding"), "gzip");
  EXPECT_EQ(Header(p, "Content-Length"), "1000");
  EXPECT_EQ(Header(p, "ETag"), "\"abc\"");
  EXPECT_EQ(Header(p, "Vary"), "Accept-Encoding");
  EXPECT_EQ(Header(p, "Content-Type"), "text/plain");
  EXPECT_EQ(Header(p, "Last-Modified"), FormatHttpDate(1700000000123456));
}

TEST(ServePlanTest, GzipDecodedWhenNotAccepted) {
  auto p = PlanServe(GzipMeta(), {.accepts_gzip = false});
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, ServePlan::Body::kDecoded);
  EXPECT_EQ(p.length, 5000u);
  EXPECT_EQ(Header(p, "Content-Encoding"), "<absent>");
  EXPECT_EQ(Header(p, "Content-Length"), "5000");
  EXPECT_EQ(Header(p, "ETag"), "\"abc-gunzip\"");
  EXPECT_EQ(Header(p, "Accept-Ranges"), "bytes");
}

TEST(ServePlanTest, GzipWithoutOriginalSizeStreamsWholeDecodedForm) {
  ObjectMeta m = GzipMeta();
  m.original_size.reset();
  auto p = PlanServe(m, {.accepts_gzip = false, .range = "bytes=0-10"});
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, ServePlan::Body::kDecoded);
  EXPECT_FALSE(p.length.has_value());
  EXPECT_EQ(Header(p, "Content-Length"), "<absent>");
  EXPECT_EQ(Header(p, "Accept-Ranges"), "<absent>");
}

TEST(ServePlanTest, PlainObjectServedAsStored) {
  auto p = PlanServe(PlainMeta(), {.accepts_gzip = true});
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, ServePlan::Body::kStored);
  EXPECT_EQ(Header(p, "Content-Encoding"), "<absent>");
  EXPECT_EQ(Header(p, "Vary"), "<absent>");
  EXPECT_EQ(Header(p, "Content-Type"), "application/octet-stream");
  EXPECT_EQ(Header(p, "ETag"), "\"plain\"");
}

TEST(ServePlanTest, IfNoneMatch) {
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_none_match = "\"abc\""}).status, 304);
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_none_match = "W/\"abc\""}).status,
            304);
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_none_match = "\"x\", \"abc\""}).status,
            304);
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_none_match = "*"}).status, 304);
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_none_match = "\"other\""}).status,
            200);
  // The decoded representation has its own validator.
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = false, .if_none_match = "\"abc\""}).status, 200);
  EXPECT_EQ(
      PlanServe(GzipMeta(), {.accepts_gzip = false, .if_none_match = "\"abc-gunzip\""}).status,
      304);
  auto p = PlanServe(GzipMeta(), {.accepts_gzip = true, .if_none_match = "\"abc\""});
  EXPECT_EQ(p.body, ServePlan::Body::kNone);
  EXPECT_EQ(Header(p, "ETag"), "\"abc\"");
  EXPECT_EQ(Header(p, "Content-Length"), "<absent>");
}

TEST(ServePlanTest, IfModifiedSince) {
  const std::string at = FormatHttpDate(1700000000000000);
  const std::string before = FormatHttpDate(1699999999000000);
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_modified_since = at}).status, 304)
      << "sub-second part of Last-Modified is ignored";
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_modified_since = before}).status, 200);
  EXPECT_EQ(PlanServe(GzipMeta(), {.accepts_gzip = true, .if_modified_since = "garbage"}).status,
            200);
  // If-None-Match wins over If-Modified-Since.
  EXPECT_EQ(PlanServe(GzipMeta(),
                      {.accepts_gzip = true, .if_none_match = "\"no\"", .if_modified_since = at})
                .status,
            200);
}

TEST(ServePlanTest, RangeOfGzipObjectAddressesDecodedBytes) {
  for (bool gz : {false, true}) {
    auto p = PlanServe(GzipMeta(), {.accepts_gzip = gz, .range = "bytes=100-199"});
    EXPECT_EQ(p.status, 206);
    EXPECT_EQ(p.body, ServePlan::Body::kDecoded);
    EXPECT_EQ(p.offset, 100u);
    EXPECT_EQ(p.length, 100u);
    EXPECT_EQ(Header(p, "Content-Range"), "bytes 100-199/5000");
    EXPECT_EQ(Header(p, "Content-Length"), "100");
    EXPECT_EQ(Header(p, "Content-Encoding"), "<absent>");
  }
}

TEST(ServePlanTest, RangeForms) {
  auto suffix = PlanServe(PlainMeta(), {.range = "bytes=-50"});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, ServePlan::Body::kStored);
  EXPECT_EQ(suffix.offset, 250u);
  EXPECT_EQ(suffix.length, 50u);
  auto open = PlanServe(PlainMeta(), {.range = "bytes=290-"});
  EXPECT_EQ(Header(open, "Content-Range"), "bytes 290-299/300");
  auto clipped = PlanServe(PlainMeta(), {.range = "bytes=0-100000"});
  EXPECT_EQ(clipped.length, 300u);
  auto unsat = PlanServe(PlainMeta(), {.range = "bytes=300-"});
  EXPECT_EQ(unsat.status, 416);
  EXPECT_EQ(Header(unsat, "Content-Range"), "bytes */300");
  EXPECT_EQ(unsat.body, ServePlan::Body::kNone);
  EXPECT_EQ(PlanServe(PlainMeta(), {.range = "bytes=0-1,5-6"}).status, 200)
      << "multi-range → whole";
  EXPECT_EQ(PlanServe(PlainMeta(), {.range = "items=0-1"}).status, 200);
  EXPECT_EQ(PlanServe(PlainMeta(), {.range = "bytes=9-2"}).status, 200);
  EXPECT_EQ(PlanServe(PlainMeta(), {.range = "bytes=x-2"}).status, 200);
}

TEST(ServePlanTest, IfRange) {
  auto match = PlanServe(GzipMeta(), {.range = "bytes=0-9", .if_range = "\"abc-gunzip\""});
  EXPECT_EQ(match.status, 206);
  auto mismatch =
      PlanServe(GzipMeta(), {.accepts_gzip = true, .range = "bytes=0-9", .if_range = "\"abc\""});
  EXPECT_EQ(mismatch.status, 200) << "a stale validator gets the whole representation";
  EXPECT_EQ(Header(mismatch, "Content-Encoding"), "gzip");
  auto date =
      PlanServe(PlainMeta(), {.range = "bytes=0-9", .if_range = FormatHttpDate(1700000000000000)});
  EXPECT_EQ(date.status, 206);
  auto old_date =
      PlanServe(PlainMeta(), {.range = "bytes=0-9", .if_range = FormatHttpDate(1600000000000000)});
  EXPECT_EQ(old_date.status, 200);
}

}  // namespace
}  // namespace sigil::download
