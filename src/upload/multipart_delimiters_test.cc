// MultipartDelimiters against a brute-force search, and ParseMultipart with the index against
// ParseMultipart searching the body itself.
#include "upload/multipart_delimiters.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "upload/multipart_parser.h"

namespace sigil::upload {
namespace {

std::vector<uint64_t> BruteForce(std::string_view body, std::string_view pattern) {
  std::vector<uint64_t> at;
  for (size_t i = 0; i + pattern.size() <= body.size(); ++i) {
    if (body.substr(i, pattern.size()) == pattern) at.push_back(i);
  }
  return at;
}

// Feeds `body` in pieces of 1 to max_piece bytes.
void FeedInPieces(MultipartDelimiters& d, std::string_view body, std::mt19937& rng,
                  size_t max_piece) {
  for (size_t at = 0; at < body.size();) {
    size_t piece = std::min<size_t>(1 + rng() % max_piece, body.size() - at);
    d.Feed(body.substr(at, piece));
    at += piece;
  }
}

// Bytes from an alphabet rich in pieces of the delimiter, so occurrences (whole, overlapping,
// split across pieces, almost-but-not-quite) are common.
std::string DelimiterSoup(std::mt19937& rng, const std::string& boundary, size_t pieces) {
  const std::vector<std::string> alphabet = {
      "\r\n--" + boundary,   "\r\n--", "\r\n",       "-",       "\r",
      boundary.substr(0, 2), "x",      "PK\x03\x04", "\r\n\r\n"};
  std::string s;
  for (size_t i = 0; i < pieces; ++i) s += alphabet[rng() % alphabet.size()];
  return s;
}

TEST(MultipartDelimitersTest, FindsEveryOccurrenceHoweverTheBodyIsSplit) {
  std::mt19937 rng(5);
  for (const std::string boundary : {"b", "XyZ", "----WebKitFormBoundary7MA4YWxkTrZu0gW"}) {
    const std::string delimiter = "\r\n--" + boundary;
    for (int round = 0; round < 200; ++round) {
      const std::string body = DelimiterSoup(rng, boundary, 1 + rng() % 300);
      for (size_t max_piece : {1, 3, 17, 4096}) {
        MultipartDelimiters d(boundary);
        FeedInPieces(d, body, rng, max_piece);
        ASSERT_EQ(d.occurrences(), BruteForce(body, delimiter))
            << "boundary " << boundary << ", pieces up to " << max_piece;
        EXPECT_TRUE(d.complete(body.size()));
        EXPECT_FALSE(d.complete(body.size() + 1));
      }
    }
  }
}

TEST(MultipartDelimitersTest, GivesUpPastTheCap) {
  MultipartDelimiters d("b");
  std::string many;
  for (size_t i = 0; i <= MultipartDelimiters::kMaxOccurrences; ++i) many += "\r\n--b";
  d.Feed(many);
  EXPECT_EQ(d.occurrences().size(), MultipartDelimiters::kMaxOccurrences);
  EXPECT_FALSE(d.complete(many.size()));
  // Past the cap it only counts bytes (a body of nothing but delimiters costs no search per one).
  d.Feed(many);
  EXPECT_EQ(d.occurrences().size(), MultipartDelimiters::kMaxOccurrences);
  EXPECT_FALSE(d.complete(2 * many.size()));
}

void ExpectSameParse(std::string_view body, const std::string& boundary,
                     const MultipartDelimiters* delimiters) {
  auto source = MemoryBodySource(body);
  MultipartLimits limits;
  limits.max_parts = 6;
  limits.max_header_bytes = 300;
  auto plain = ParseMultipart(*source, boundary, limits);
  auto indexed = ParseMultipart(*source, boundary, limits, delimiters);
  ASSERT_EQ(plain.ok(), indexed.ok()) << (plain.ok() ? indexed : plain).status().ToString();
  if (!plain.ok()) {
    EXPECT_EQ(plain.status().code(), indexed.status().code());
    EXPECT_EQ(plain.status().message(), indexed.status().message());
    return;
  }
  EXPECT_TRUE(*plain == *indexed);
}

std::string Form(const std::string& boundary, const std::string& preamble,
                 const std::string& file_content, bool closed) {
  std::string body = preamble + "--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"a.zip\"; filename=\"a.zip\"\r\n"
                     "Content-Type: application/zip\r\n\r\n" +
                     file_content + "\r\n--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"try\"\r\n\r\n1\r\n--" + boundary;
  if (closed) body += "--\r\n";
  return body;
}

// Well-formed forms (with and without a preamble), truncated ones, delimiters inside content,
// a wrong boundary's index (ignored), an incomplete index (ignored), and random soups: the same
// parts or the same error either way.
TEST(MultipartDelimitersTest, ParsesAsTheBodySearchDoes) {
  std::mt19937 rng(11);
  const std::string boundary = "XyZ";
  std::vector<std::string> bodies = {
      Form(boundary, "", std::string(100000, 'z'), true),
      Form(boundary, "preamble line\r\n", "PK\x03\x04 data", true),
      Form(boundary, "", "data \r\n--XyZ inside", true),
      Form(boundary, "", "data", false),
      Form(boundary, "", "", true),
  };
  for (int i = 0; i < 300; ++i) {
    std::string soup = DelimiterSoup(rng, boundary, 1 + rng() % 60);
    bodies.push_back(rng() % 2 ? soup : Form(boundary, "", soup, rng() % 4 != 0));
    bodies.push_back("--" + boundary + DelimiterSoup(rng, boundary, 1 + rng() % 60));
  }
  for (const std::string& body : bodies) {
    SCOPED_TRACE(testing::PrintToString(body.substr(0, 200)));
    MultipartDelimiters d(boundary);
    FeedInPieces(d, body, rng, 64);
    ExpectSameParse(body, boundary, &d);

    MultipartDelimiters other("Other");
    other.Feed(body);
    ExpectSameParse(body, boundary, &other);

    if (body.size() > 1) {
      MultipartDelimiters partial(boundary);
      partial.Feed(std::string_view(body).substr(0, body.size() / 2));
      ExpectSameParse(body, boundary, &partial);
    }
  }
}

// With a complete index the parser reads only part headers and fields, not file content: a source
// whose file bytes cannot be read still parses.
TEST(MultipartDelimitersTest, SkipsFileContent) {
  const std::string boundary = "XyZ";
  const std::string body = Form(boundary, "", std::string(8 << 20, 'z'), true);
  class HolePunchedSource final : public BodySource {
   public:
    explicit HolePunchedSource(std::string_view body) : body_(body) {}
    uint64_t size() const override { return body_.size(); }
    Result<size_t> ReadAt(uint64_t offset, char* buf, size_t size) const override {
      const uint64_t hole_begin = 4 << 20, hole_end = 6 << 20;
      if (offset < hole_end && offset + size > hole_begin) {
        return Internal("read inside the file content");
      }
      return MemoryBodySource(body_)->ReadAt(offset, buf, size);
    }

   private:
    std::string_view body_;
  };
  HolePunchedSource source(body);
  EXPECT_FALSE(ParseMultipart(source, boundary).ok());
  MultipartDelimiters d(boundary);
  d.Feed(body);
  auto parts = ParseMultipart(source, boundary, {}, &d);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].length, 8u << 20);
  EXPECT_EQ((*parts)[1].value, "1");
}

}  // namespace
}  // namespace sigil::upload
