// Md5Stream / Md5UpdateMany against OpenSSL's MD5 (Md5Hex), with and without AVX2.
#include "common/md5_mb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <span>
#include <vector>

#include "common/hashing.h"

namespace sigil {
namespace {

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Md5Mb, KnownVectors) {
  for (const char* s : {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz"}) {
    Md5Stream md5;
    md5.Update(s);
    EXPECT_EQ(md5.FinishHex(), Md5Hex(s)) << s;
  }
  Md5Stream md5;
  md5.Update("12345678901234567890123456789012345678901234567890123456789012345678901234567890");
  EXPECT_EQ(md5.FinishHex(), "57edf4a22be3c955ac49da2e2107b67a");
}

// Every length up to 4 KiB (every partial-block size many times over), 2 to 16 streams of
// neighbouring lengths hashed together (too few for SIMD: pairs, and a pair and one; one vector
// with idle lanes; AVX2's one group, two with idle lanes, two full; AVX-512's one vector partly or
// wholly full), with each instruction set this CPU has and the portable code.
TEST(Md5Mb, EveryLengthUpTo4KiB) {
  std::mt19937_64 rng(1);
  const std::string data = RandomBytes(rng, 4096 + 16);
  for (Md5Simd simd : {Md5Simd::kAvx512, Md5Simd::kAvx2, Md5Simd::kNone}) {
    for (size_t count : {2, 3, 4, 5, 6, 8, 13, 16}) {
      for (size_t base = 0; base <= 4096; base += 8) {
        Md5Stream streams[16];
        Md5Stream* ptrs[16];
        std::string_view inputs[16];
        for (size_t j = 0; j < count; ++j) {
          ptrs[j] = &streams[j];
          inputs[j] = std::string_view(data).substr(j, base + j);
        }
        Md5UpdateMany(std::span(ptrs, count), std::span(inputs, count), simd);
        for (size_t j = 0; j < count; ++j) {
          ASSERT_EQ(streams[j].FinishHex(), Md5Hex(inputs[j]))
              << "length " << inputs[j].size() << " of " << count << " streams, simd "
              << static_cast<int>(simd);
        }
      }
    }
  }
}

// Inputs up to 1.2 MB in random chunks (odd sizes, empty chunks, streams finishing at different
// times), 19 streams (more than one call's 16, so two SIMD groups, then one, as streams finish),
// against hashing each input at once.
TEST(Md5Mb, LargeInputsInOddChunks) {
  std::mt19937_64 rng(7);
  for (Md5Simd simd : {Md5Simd::kAvx512, Md5Simd::kAvx2, Md5Simd::kNone}) {
    constexpr size_t kStreams = 19;
    std::vector<std::string> inputs;
    for (size_t j = 0; j < kStreams; ++j) {
      size_t len = j == 0 ? (1u << 20) + 1 : j == 1 ? 1200000 : rng() % 1200000;
      inputs.push_back(RandomBytes(rng, len));
    }
    std::vector<Md5Stream> streams(kStreams);
    std::vector<size_t> offset(kStreams, 0);
    for (;;) {
      std::vector<Md5Stream*> ptrs;
      std::vector<std::string_view> chunks;
      for (size_t j = 0; j < kStreams; ++j) {
        if (offset[j] == inputs[j].size()) continue;
        size_t want = rng() % 4 == 0 ? rng() % 200 : rng() % 150000;
        size_t take = std::min(want, inputs[j].size() - offset[j]);
        ptrs.push_back(&streams[j]);
        chunks.push_back(std::string_view(inputs[j]).substr(offset[j], take));
        offset[j] += take;
      }
      if (ptrs.empty()) break;
      Md5UpdateMany(ptrs, chunks, simd);
    }
    for (size_t j = 0; j < kStreams; ++j) {
      EXPECT_EQ(streams[j].FinishHex(), Md5Hex(inputs[j]))
          << "stream " << j << " simd " << static_cast<int>(simd);
    }
  }
}

TEST(Md5Mb, SingleStreamInPiecesOfEverySize) {
  std::mt19937_64 rng(3);
  const std::string data = RandomBytes(rng, 70000);
  for (size_t piece = 1; piece <= 200; ++piece) {
    Md5Stream md5;
    for (size_t at = 0; at < data.size(); at += piece) {
      md5.Update(std::string_view(data).substr(at, piece));
    }
    ASSERT_EQ(md5.FinishHex(), Md5Hex(data)) << "piece " << piece;
  }
}

}  // namespace
}  // namespace sigil
