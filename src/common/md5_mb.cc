#include "common/md5_mb.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/hashing.h"
#include "common/md5_mb_kernels.h"

namespace sigil {
namespace md5_kernels {
namespace {

inline uint32_t Rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// Each step adds to `a` first what does not depend on `b` (the previous step's result), so the
// chain from one step to the next is as short as possible: the message word and constant, and for
// G the half of (b & d) | (c & ~d) without b (the halves have no bits in common, so | is +).
#define SIGIL_MD5_SCALAR_STEP(R, S, A, B, C, D, W, K) \
  {                                                   \
    uint32_t t = A + w[W] + K;                        \
    SIGIL_MD5_SCALAR_##R(t, B, C, D);                 \
    A = B + Rotl(t, S);                               \
  }
#define SIGIL_MD5_SCALAR_F(t, b, c, d) t += (d ^ (b & (c ^ d)))
#define SIGIL_MD5_SCALAR_G(t, b, c, d) \
  t += (c & ~d);                       \
  t += (b & d)
#define SIGIL_MD5_SCALAR_H(t, b, c, d) t += (b ^ (c ^ d))
#define SIGIL_MD5_SCALAR_I(t, b, c, d) t += (c ^ (b | ~d))

// A block's sixteen message words (little-endian).
inline void LoadBlock(const unsigned char* p, uint32_t w[16]) {
  std::memcpy(w, p, 64);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (int i = 0; i < 16; ++i) w[i] = __builtin_bswap32(w[i]);
#endif
}

inline void AddState(uint32_t h[4], uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
}

}  // namespace

void CompressBlocks(uint32_t h[4], const unsigned char* p, size_t blocks) {
  for (; blocks > 0; --blocks, p += 64) {
    uint32_t w[16];
    LoadBlock(p, w);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    SIGIL_MD5_STEPS(SIGIL_MD5_SCALAR_STEP)
    AddState(h, a, b, c, d);
  }
}
#undef SIGIL_MD5_SCALAR_STEP

// Two streams' steps interleaved: each stream's chain of steps is bound by latency, so the CPU
// runs the other stream's step in the same cycles (bench/hashing: two streams in ~1.05x the time
// of one).
#define SIGIL_MD5_SCALAR_STEP2(R, S, A, B, C, D, W, K) \
  {                                                    \
    uint32_t t0 = A##0 + w0[W] + K;                    \
    uint32_t t1 = A##1 + w1[W] + K;                    \
    SIGIL_MD5_SCALAR_##R(t0, B##0, C##0, D##0);        \
    SIGIL_MD5_SCALAR_##R(t1, B##1, C##1, D##1);        \
    A##0 = B##0 + Rotl(t0, S);                         \
    A##1 = B##1 + Rotl(t1, S);                         \
  }

void CompressBlocks2(uint32_t h0[4], const unsigned char* p0, uint32_t h1[4],
                     const unsigned char* p1, size_t blocks) {
  for (; blocks > 0; --blocks, p0 += 64, p1 += 64) {
    uint32_t w0[16], w1[16];
    LoadBlock(p0, w0);
    LoadBlock(p1, w1);
    uint32_t a0 = h0[0], b0 = h0[1], c0 = h0[2], d0 = h0[3];
    uint32_t a1 = h1[0], b1 = h1[1], c1 = h1[2], d1 = h1[3];
    SIGIL_MD5_STEPS(SIGIL_MD5_SCALAR_STEP2)
    AddState(h0, a0, b0, c0, d0);
    AddState(h1, a1, b1, c1, d1);
  }
}
#undef SIGIL_MD5_SCALAR_STEP2
#undef SIGIL_MD5_SCALAR_F
#undef SIGIL_MD5_SCALAR_G
#undef SIGIL_MD5_SCALAR_H
#undef SIGIL_MD5_SCALAR_I

}  // namespace md5_kernels

namespace {

// The most streams one kernel call takes, and the fewest worth one.
constexpr size_t kMaxLanes = 16;
// Fewer lanes than this go two at a time through the interleaved scalar kernel instead: a vector
// round costs the same however many of its lanes carry data, and a pair of scalar streams takes
// ~0.45x of an AVX-512 round, ~0.35x of an AVX2 one (bench/hashing: 4 lanes 1.46 GB/s with AVX-512,
// 1.10 with AVX2, against 1.60 for pairs).
size_t MinSimdLanes(Md5Simd simd) { return simd == Md5Simd::kAvx512 ? 5 : 6; }

Md5Simd DetectSimd() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return Md5Simd::kAvx512;
  if (__builtin_cpu_supports("avx2")) return Md5Simd::kAvx2;
#endif
  return Md5Simd::kNone;
}

// Hashes `blocks` blocks of `active` (MinSimdLanes(simd) to kMaxLanes) lanes with the kernel for
// `simd`;
// the kernel's idle lanes hash a dummy block into a scratch state.
void CompressMany(Md5Simd simd, size_t active, uint32_t* const h_in[],
                  const unsigned char* const p_in[], size_t blocks) {
  static constexpr unsigned char kDummy[64] = {};
  uint32_t* h[kMaxLanes];
  const unsigned char* p[kMaxLanes];
  size_t step[kMaxLanes];
  uint32_t scratch[kMaxLanes][4] = {};
  for (size_t j = 0; j < kMaxLanes; ++j) {
    const bool used = j < active;
    h[j] = used ? h_in[j] : scratch[j];
    p[j] = used ? p_in[j] : kDummy;
    step[j] = used ? 64 : 0;
  }
#if defined(__x86_64__)
  if (simd == Md5Simd::kAvx512) {
    md5_kernels::CompressAvx512(h, p, step, blocks);
    return;
  }
  md5_kernels::CompressAvx2(active > kMaxLanes / 2 ? 2 : 1, h, p, step, blocks);
#else
  (void)simd;
  (void)blocks;
#endif
}

}  // namespace

Md5Stream::Md5Stream() : h_{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u} {}

void Md5Stream::FillTail(std::string_view* data) {
  size_t take = std::min(data->size(), sizeof tail_ - tail_size_);
  std::memcpy(tail_ + tail_size_, data->data(), take);
  tail_size_ += take;
  data->remove_prefix(take);
  if (tail_size_ == sizeof tail_) {
    md5_kernels::CompressBlocks(h_, tail_, 1);
    tail_size_ = 0;
  }
}

void Md5Stream::Update(std::string_view data) {
  Md5Stream* self = this;
  Md5UpdateMany(std::span<Md5Stream* const>(&self, 1), std::span<const std::string_view>(&data, 1),
                Md5Simd::kNone);
}

std::string Md5Stream::FinishHex() {
  const uint64_t bits = length_ * 8;
  static constexpr unsigned char kPad[64] = {0x80};
  std::string_view pad(reinterpret_cast<const char*>(kPad),
                       (tail_size_ < 56 ? 56 : 120) - tail_size_);
  FillTail(&pad);
  FillTail(&pad);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (8 * i));
  std::string_view tail_len(reinterpret_cast<const char*>(len), 8);
  FillTail(&tail_len);
  char digest[16];
  for (int i = 0; i < 16; ++i) digest[i] = static_cast<char>(h_[i / 4] >> (8 * (i % 4)));
  return HexEncode(std::string_view(digest, sizeof digest));
}

Md5Simd Md5BestSimd() {
  static const Md5Simd best = DetectSimd();
  return best;
}

void Md5UpdateMany(std::span<Md5Stream* const> streams, std::span<const std::string_view> data,
                   Md5Simd max_simd) {
  const Md5Simd simd = std::min(max_simd, Md5BestSimd());
  struct Job {
    Md5Stream* stream;
    const unsigned char* next;
    size_t blocks;
  };
  Job jobs[kMaxLanes];
  // Up to kMaxLanes streams at a time.
  for (size_t first = 0; first < streams.size(); first += kMaxLanes) {
    const size_t n = std::min(kMaxLanes, streams.size() - first);
    for (size_t i = 0; i < n; ++i) {
      Md5Stream& s = *streams[first + i];
      std::string_view in = data[first + i];
      s.length_ += in.size();
      if (s.tail_size_ > 0) s.FillTail(&in);
      jobs[i] = Job{&s, reinterpret_cast<const unsigned char*>(in.data()), in.size() / 64};
      // The bytes after the whole blocks go to the partial block (hashed later).
      std::string_view rest = in.substr(jobs[i].blocks * 64);
      if (!rest.empty()) s.FillTail(&rest);
    }
    // While enough streams have blocks left: all of them, as many blocks as the shortest has. Fewer
    // streams go in pairs below (bench/hashing: a vector round costs the same
    // however many of its lanes carry data).
    while (simd != Md5Simd::kNone) {
      uint32_t* h[kMaxLanes];
      const unsigned char* p[kMaxLanes];
      size_t active = 0, common = SIZE_MAX;
      for (size_t i = 0; i < n; ++i) {
        if (jobs[i].blocks == 0) continue;
        h[active] = jobs[i].stream->h_;
        p[active] = jobs[i].next;
        common = std::min(common, jobs[i].blocks);
        ++active;
      }
      if (active < MinSimdLanes(simd)) break;
      CompressMany(simd, active, h, p, common);
      for (size_t i = 0; i < n; ++i) {
        if (jobs[i].blocks == 0) continue;
        jobs[i].next += 64 * common;
        jobs[i].blocks -= common;
      }
    }
    // What is left (or everything, without SIMD): two streams at a time while two have blocks.
    for (;;) {
      Job* x = nullptr;
      Job* y = nullptr;
      for (size_t i = 0; i < n && y == nullptr; ++i) {
        if (jobs[i].blocks == 0) continue;
        (x == nullptr ? x : y) = &jobs[i];
      }
      if (y == nullptr) {
        if (x != nullptr) md5_kernels::CompressBlocks(x->stream->h_, x->next, x->blocks);
        break;
      }
      const size_t common = std::min(x->blocks, y->blocks);
      md5_kernels::CompressBlocks2(x->stream->h_, x->next, y->stream->h_, y->next, common);
      for (Job* j : {x, y}) {
        j->next += 64 * common;
        j->blocks -= common;
      }
    }
  }
}

}  // namespace sigil
