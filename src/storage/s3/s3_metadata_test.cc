#include "storage/s3/s3_metadata.h"

#include <gtest/gtest.h>

#include "storage/s3/s3_upload.h"

namespace sigil::storage::s3 {
namespace {

TEST(S3Metadata, PutOptionsBecomeHeaders) {
  PutOptions o;
  o.content_type = "text/plain";
  o.content_encoding = "gzip";
  o.metadata = {{"original_size", "10"}, {"original_md5_hash", "abc"}};
  auto h = ObjectHeaders(o);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, (HeaderList{{"Content-Type", "text/plain"},
                            {"Content-Encoding", "gzip"},
                            {"x-amz-meta-original_md5_hash", "abc"},
                            {"x-amz-meta-original_size", "10"}}));
  EXPECT_TRUE(ObjectHeaders(PutOptions{})->empty());
}

TEST(S3Metadata, RejectsWhatCannotBeAHeader) {
  for (const char* name : {"", "Upper", "dot.ted", "sp ace", "colon:"}) {
    PutOptions o;
    o.metadata = {{name, "v"}};
    EXPECT_EQ(ObjectHeaders(o).status().code(), StatusCode::kInvalidArgument) << name;
  }
  PutOptions o;
  o.metadata = {{"k", "a\r\nX-Injected: 1"}};
  EXPECT_EQ(ObjectHeaders(o).status().code(), StatusCode::kInvalidArgument);
  o.metadata = {{"k", "caf\xc3\xa9"}};
  EXPECT_EQ(ObjectHeaders(o).status().code(), StatusCode::kInvalidArgument);
  o.metadata = {{"k", std::string(2047, 'v')}};
  EXPECT_TRUE(ObjectHeaders(o).ok());
  o.metadata = {{"k", std::string(2048, 'v')}};
  EXPECT_EQ(ObjectHeaders(o).status().code(), StatusCode::kInvalidArgument);
  PutOptions ct;
  ct.content_type = "text/plain\n";
  EXPECT_EQ(ObjectHeaders(ct).status().code(), StatusCode::kInvalidArgument);
}

TEST(S3Metadata, ResponseHeadersBecomeObjectInfo) {
  HttpResponse r;
  r.status = 200;
  r.headers = {{"content-length", "1234"},
               {"content-type", "text/plain"},
               {"content-encoding", "gzip"},
               {"etag", "\"abc\""},
               {"last-modified", "Tue, 02 Jan 2024 03:04:05 GMT"},
               {"x-amz-meta-original_size", "99"},
               {"x-amz-meta-", "ignored"},
               {"x-amz-request-id", "not metadata"}};
  ObjectInfo info = ObjectInfoFromResponse(r);
  EXPECT_EQ(info.size, 1234u);
  EXPECT_EQ(info.content_type, "text/plain");
  EXPECT_EQ(info.content_encoding, "gzip");
  EXPECT_EQ(info.etag, "\"abc\"");
  EXPECT_EQ(info.last_modified, 1704164645LL * 1000000);
  EXPECT_EQ(info.metadata, (std::map<std::string, std::string>{{"original_size", "99"}}));
  // A ranged response reports the object's size, not the range's.
  r.headers.emplace_back("content-range", "bytes 100-1333/5000");
  EXPECT_EQ(ObjectInfoFromResponse(r).size, 5000u);
}

TEST(S3Upload, PartSizeStaysWithin10000Parts) {
  constexpr uint64_t kMiB = 1 << 20;
  EXPECT_EQ(EffectivePartSize(100 * kMiB, 16 * kMiB), 16 * kMiB);
  EXPECT_EQ(EffectivePartSize(160000 * kMiB, 16 * kMiB), 16 * kMiB);
  EXPECT_EQ(EffectivePartSize(160001 * kMiB, 16 * kMiB), 17 * kMiB);
  const uint64_t five_tib = 5ull << 40;
  uint64_t part = EffectivePartSize(five_tib, 16 * kMiB);
  EXPECT_LE((five_tib + part - 1) / part, 10000u);
  EXPECT_EQ(part % kMiB, 0u);
}

}  // namespace
}  // namespace sigil::storage::s3
