#include "upload/gzip_compressor.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "upload/testing/zip_builder.h"

namespace sigil::upload {
namespace {

std::string TextOf(size_t n) {
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < n) s += "FUNC " + std::to_string(rng() % 100000) + " 10 0 mozilla::Foo\n";
  s.resize(n);
  return s;
}

class GzipCompressorTest
    : public ::testing::TestWithParam<std::pair<GzipCompressor::Backend, int>> {};

TEST_P(GzipCompressorTest, RoundTripsThroughGunzip) {
  auto [backend, level] = GetParam();
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3} << 20}) {
    std::string input = TextOf(n);
    auto gz = GzipString(input, backend, level);
    ASSERT_TRUE(gz.ok()) << gz.status().ToString();
    ASSERT_GE(gz->size(), 18u);
    EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
    auto back = testing::Gunzip(*gz);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, input) << "size " << n;
    if (n > 1000) {
      EXPECT_LT(gz->size(), input.size() / 2);
    }
  }
}

TEST_P(GzipCompressorTest, StreamingWritesEqualOneShot) {
  auto [backend, level] = GetParam();
  std::string input = TextOf(1 << 20);
  std::string out;
  auto gz = MakeGzipCompressor(backend, level, [&](std::string_view c) {
    out.append(c);
    return Status::Ok();
  });
  ASSERT_TRUE(gz.ok());
  for (size_t i = 0; i < input.size(); i += 777) {
    ASSERT_TRUE((*gz)->Write(std::string_view(input).substr(i, 777)).ok());
  }
  ASSERT_TRUE((*gz)->Finish().ok());
  EXPECT_EQ((*gz)->bytes_in(), input.size());
  auto back = testing::Gunzip(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, input);
}

INSTANTIATE_TEST_SUITE_P(Backends, GzipCompressorTest,
                         ::testing::Values(std::make_pair(GzipCompressor::Backend::kIsal, 0),
                                           std::make_pair(GzipCompressor::Backend::kIsal, 1),
                                           std::make_pair(GzipCompressor::Backend::kIsal, 2),
                                           std::make_pair(GzipCompressor::Backend::kZlib, 6)));

TEST(GzipCompressorErrors, SinkErrorStopsCompression) {
  auto gz = MakeGzipCompressor(GzipCompressor::Backend::kIsal, 1,
                               [](std::string_view) { return Internal("disk full"); });
  ASSERT_TRUE(gz.ok());
  Status s = (*gz)->Write(TextOf(4 << 20));
  if (s.ok()) s = (*gz)->Finish();
  EXPECT_EQ(s.message(), "disk full");
}

TEST(GzipCompressorErrors, RejectsBadLevels) {
  auto sink = [](std::string_view) { return Status::Ok(); };
  EXPECT_FALSE(MakeGzipCompressor(GzipCompressor::Backend::kIsal, 4, sink).ok());
  EXPECT_FALSE(MakeGzipCompressor(GzipCompressor::Backend::kIsal, -1, sink).ok());
  EXPECT_FALSE(MakeGzipCompressor(GzipCompressor::Backend::kZlib, 0, sink).ok());
  EXPECT_FALSE(MakeGzipCompressor(GzipCompressor::Backend::kZlib, 10, sink).ok());
}

}  // namespace
}  // namespace sigil::upload
