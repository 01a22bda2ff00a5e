#include "storage/s3/s3_xml.h"

#include <gtest/gtest.h>

namespace sigil::storage::s3 {
namespace {

// A real AWS ListObjectsV2 response (trimmed), with entities in keys.
constexpr const char* kListPage = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix>p/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
<Contents><Key>p/a&amp;b &lt;c&gt; &#39;d&#x27; &#x20AC;.sym</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>
<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size><StorageClass>STANDARD</StorageClass>
<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>x</DisplayName></Owner></Contents>
<Contents><Key>p/z.sym</Key><LastModified>2024-01-02T03:04:05Z</LastModified><ETag>"e"</ETag><Size>0</Size></Contents>
</ListBucketResult>)";

TEST(S3Xml, ParsesListObjectsV2) {
  auto page = ParseListObjectsV2(kListPage);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a&b <c> 'd' \xe2\x82\xac.sym");
  EXPECT_EQ(page->objects[0].size, 434234u);
  EXPECT_EQ(page->objects[0].etag, "\"fba9dede5f27731c9771645a39863328\"");
  EXPECT_EQ(page->objects[0].last_modified, 1255369830LL * 1000000);
  EXPECT_EQ(page->objects[1].key, "p/z.sym");
  EXPECT_EQ(page->objects[1].size, 0u);
  EXPECT_EQ(page->objects[1].last_modified, 1704164645LL * 1000000);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_continuation_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
}

TEST(S3Xml, EmptyListing) {
  auto page = ParseListObjectsV2(
      "<ListBucketResult><Name>b</Name><Prefix/><KeyCount>0</KeyCount><IsTruncated>false</"
      "IsTruncated>"
      "</ListBucketResult>");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_FALSE(page->truncated);
}

TEST(S3Xml, MalformedListingsAreUpstreamErrors) {
  for (const char* xml : {
           "<Error><Code>AccessDenied</Code></Error>",
           "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>12x</Size></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>k</Key><Size>1</Size><LastModified>yesterday"
           "</LastModified></Contents></ListBucketResult>",
           "<ListBucketResult><Contents><Key>a&bogus;</Key><Size>1</Size></Contents></"
           "ListBucketResult>",
           "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
       }) {
    auto page = ParseListObjectsV2(xml);
    ASSERT_FALSE(page.ok()) << xml;
    EXPECT_EQ(page.status().code(), StatusCode::kUpstream) << xml;
  }
}

TEST(S3Xml, ErrorDocuments) {
  constexpr const char* kError = R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match &amp; so on</Message><StringToSign>AWS4</StringToSign><RequestId>4442587FB7D0A2F9</RequestId></Error>)";
  S3ErrorBody e = ParseErrorBody(kError);
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.message, "The request signature we calculated does not match & so on");
  EXPECT_TRUE(IsErrorDocument(kError));
  EXPECT_TRUE(IsErrorDocument("\n\n<Error><Code>InternalError</Code></Error>"));
  EXPECT_FALSE(
      IsErrorDocument("<CompleteMultipartUploadResult><Location>x</Location>"
                      "</CompleteMultipartUploadResult>"));
  EXPECT_FALSE(IsErrorDocument(""));
  EXPECT_EQ(ParseErrorBody("not xml at all").code, "");
  EXPECT_EQ(ParseErrorBody("").message, "");
}

TEST(S3Xml, InitiateMultipartUpload) {
  auto id = ParseInitiateMultipartUpload(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE&amp;x"
      "</UploadId></InitiateMultipartUploadResult>");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "VXBsb2FkIElE&x");
  EXPECT_EQ(ParseInitiateMultipartUpload("<InitiateMultipartUploadResult/>").status().code(),
            StatusCode::kUpstream);
}

TEST(S3Xml, DecodeAndEscape) {
  EXPECT_EQ(XmlDecode("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;"),
            "a&b<>\"'AB\xf0\x9f\x98\x80");
  EXPECT_EQ(XmlDecode("&unknown;"), std::nullopt);
  EXPECT_EQ(XmlDecode("&amp"), std::nullopt);
  EXPECT_EQ(XmlDecode("&#0;"), std::nullopt);
  EXPECT_EQ(XmlDecode("&#xD800;"), std::nullopt);
  EXPECT_EQ(XmlDecode("&#x110000;"), std::nullopt);
  EXPECT_EQ(XmlEscape("<a & 'b' \"c\">"), "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;");
  EXPECT_EQ(*XmlDecode(XmlEscape("round & trip <'\">")), "round & trip <'\">");
}

TEST(S3Xml, ElementsAreFoundInOrderAndUnterminatedOnesIgnored) {
  auto all = XmlElements("<a>1</a><b/><a/><a>3</a><a>unterminated", "a");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], "1");
  EXPECT_EQ(all[1], "");
  EXPECT_EQ(all[2], "3");
  // A tag name that is a prefix of another is not confused with it.
  EXPECT_EQ(XmlText("<KeyCount>2</KeyCount><Key>k</Key>", "Key"), "k");
}

TEST(S3Xml, Iso8601) {
  EXPECT_EQ(ParseIso8601("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601("2024-01-02T03:04:05.123456Z"), 1704164645123456LL);
  EXPECT_EQ(ParseIso8601("2024-01-02T03:04:05.1Z"), 1704164645100000LL);
  EXPECT_EQ(ParseIso8601("2024-13-02T03:04:05Z"), std::nullopt);
  EXPECT_EQ(ParseIso8601("2024-01-02 03:04:05Z"), std::nullopt);
  EXPECT_EQ(ParseIso8601("2024-01-02T03:04:05"), std::nullopt);
  EXPECT_EQ(ParseIso8601("2024-01-02T03:04:05.Z"), std::nullopt);
  EXPECT_EQ(ParseIso8601(""), std::nullopt);
}

}  // namespace
}  // namespace sigil::storage::s3
