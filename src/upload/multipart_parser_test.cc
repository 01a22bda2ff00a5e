#include "upload/multipart_parser.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "upload/testing/zip_builder.h"

namespace sigil::upload {
namespace {

std::string Body(const std::string& boundary, const std::string& file_field,
                 const std::string& filename, const std::string& content) {
  return "--" + boundary + "\r\n" +
         "Content-Disposition: form-data; name=\"try\"\r\n\r\n"
         "1\r\n"
         "--" +
         boundary + "\r\n" + "Content-Disposition: form-data; name=\"" + file_field +
         "\"; filename=\"" + filename + "\"\r\nContent-Type: application/zip\r\n\r\n" + content +
         "\r\n--" + boundary + "--\r\n";
}

TEST(MultipartBoundaryTest, ParsesQuotedAndPlain) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data; charset=x; boundary=\"a;b c\""), "a;b c");
  EXPECT_FALSE(MultipartBoundary("application/json").ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").ok());
}

TEST(MultipartParserTest, FindsFieldsAndFileRange) {
  std::string content = "PK\x03\x04 binary \r\n--not-the-boundary \r\n-- data";
  std::string body = Body("XyZ", "sample.zip", "upload.bin", content);
  auto src = MemoryBodySource(body);
  auto parts = ParseMultipart(*src, "XyZ");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "try");
  EXPECT_FALSE((*parts)[0].filename.has_value());
  EXPECT_EQ((*parts)[0].value, "1");
  EXPECT_EQ((*parts)[1].name, "sample.zip");
  EXPECT_EQ((*parts)[1].filename.value(), "upload.bin");
  EXPECT_EQ((*parts)[1].content_type, "application/zip");
  EXPECT_EQ(body.substr((*parts)[1].offset, (*parts)[1].length), content);
}

TEST(MultipartParserTest, LargeFilePartFromSpooledFileAcrossChunks) {
  // 5 MB of content with boundary-like noise, parsed from a file: exercises the sliding window.
  std::string content;
  for (int i = 0; content.size() < (5u << 20); ++i) {
    content += "line " + std::to_string(i) + " \r\n--Boundar\r\n-";
  }
  std::string body = Body("Boundary123", "big.zip", "big.zip", content);
  std::string path = ::testing::TempDir() + "/multipart-body";
  testing::WriteFileOrDie(path, body);
  auto src = FileBodySource(path);
  ASSERT_TRUE(src.ok());
  auto parts = ParseMultipart(**src, "Boundary123");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[1].length, content.size());
  EXPECT_EQ(body.substr((*parts)[1].offset, (*parts)[1].length), content);
  std::remove(path.c_str());
}

TEST(MultipartParserTest, DelimiterAcrossEveryReadBoundaryOffset) {
  // The parser reads the body 1 MiB at a time: a delimiter that starts 0..20 bytes before a read
  // boundary (so split across two reads at every offset) is still found, and only there.
  const std::string probe = Body("Boundary123", "big.zip", "big.zip", "");
  const size_t prefix = probe.find("\r\n--Boundary123--");
  ASSERT_NE(prefix, std::string::npos);
  std::string path = ::testing::TempDir() + "/multipart-straddle";
  for (size_t j = 0; j <= 20; ++j) {
    std::string content((1u << 20) - prefix - j, 'x');
    content[content.size() / 2] = '\r';
    std::string body = Body("Boundary123", "big.zip", "big.zip", content);
    testing::WriteFileOrDie(path, body);
    auto src = FileBodySource(path);
    ASSERT_TRUE(src.ok());
    auto parts = ParseMultipart(**src, "Boundary123");
    ASSERT_TRUE(parts.ok()) << j << ": " << parts.status().ToString();
    ASSERT_EQ(parts->size(), 2u) << j;
    EXPECT_EQ((*parts)[1].length, content.size()) << j;
  }
  std::remove(path.c_str());
}

TEST(MultipartParserTest, Preamble) {
  std::string body = "ignored preamble\r\n" + Body("b", "f.zip", "f.zip", "abc");
  auto parts = ParseMultipart(*MemoryBodySource(body), "b");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(parts->size(), 2u);
}

TEST(MultipartParserTest, RejectsMalformedBodies) {
  std::string good = Body("b", "f.zip", "f.zip", "abc");
  // Truncated before the closing boundary.
  std::string truncated = good.substr(0, good.size() - 10);
  EXPECT_EQ(ParseMultipart(*MemoryBodySource(truncated), "b").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseMultipart(*MemoryBodySource("no boundary at all"), "b").ok());
  EXPECT_FALSE(ParseMultipart(*MemoryBodySource(""), "b").ok());
  std::string no_disposition = "--b\r\nContent-Type: x\r\n\r\nabc\r\n--b--\r\n";
  EXPECT_FALSE(ParseMultipart(*MemoryBodySource(no_disposition), "b").ok());
}

TEST(MultipartParserTest, EnforcesLimits) {
  std::string big_field = "--b\r\nContent-Disposition: form-data; name=\"url\"\r\n\r\n" +
                          std::string(100000, 'x') + "\r\n--b--\r\n";
  EXPECT_EQ(ParseMultipart(*MemoryBodySource(big_field), "b").status().code(),
            StatusCode::kTooLarge);
  std::string many;
  for (int i = 0; i < 20; ++i)
    many += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  many += "--b--\r\n";
  EXPECT_EQ(ParseMultipart(*MemoryBodySource(many), "b").status().code(), StatusCode::kTooLarge);
  std::string huge_header = "--b\r\nContent-Disposition: form-data; name=\"" +
                            std::string(20000, 'n') + "\"\r\n\r\nv\r\n--b--\r\n";
  EXPECT_EQ(ParseMultipart(*MemoryBodySource(huge_header), "b").status().code(),
            StatusCode::kTooLarge);
}

}  // namespace
}  // namespace sigil::upload
