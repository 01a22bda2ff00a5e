#include "common/md5_mb.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/hashing.h"

namespace sigil {
namespace {

// Lanes of one AVX2 vector (32-bit words), and the most streams hashed at once (two vectors).
constexpr size_t kLanes = 8;
constexpr size_t kMaxLanes = 2 * kLanes;

inline uint32_t Rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// One step of each round: a = b + rotl(a + f(b, c, d) + w + k, s).
template <int S>
inline void StepF(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t w, uint32_t k) {
  a = b + Rotl(a + (d ^ (b & (c ^ d))) + w + k, S);
}
template <int S>
inline void StepG(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t w, uint32_t k) {
  a = b + Rotl(a + (c ^ (d & (b ^ c))) + w + k, S);
}
template <int S>
inline void StepH(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t w, uint32_t k) {
  a = b + Rotl(a + (b ^ c ^ d) + w + k, S);
}
template <int S>
inline void StepI(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t w, uint32_t k) {
  a = b + Rotl(a + (c ^ (b | ~d)) + w + k, S);
}

// The MD5 compression function over `blocks` consecutive 64-byte blocks of one stream.
void CompressBlocks(uint32_t h[4], const unsigned char* p, size_t blocks) {
  for (; blocks > 0; --blocks, p += 64) {
    uint32_t w[16];
    std::memcpy(w, p, 64);  // MD5 words are little-endian, as x86 (the only SIMD target here)
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (uint32_t& x : w) x = __builtin_bswap32(x);
#endif
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    StepF<7>(a, b, c, d, w[0], 0xd76aa478u);
    StepF<12>(d, a, b, c, w[1], 0xe8c7b756u);
    StepF<17>(c, d, a, b, w[2], 0x242070dbu);
    StepF<22>(b, c, d, a, w[3], 0xc1bdceeeu);
    StepF<7>(a, b, c, d, w[4], 0xf57c0fafu);
    StepF<12>(d, a, b, c, w[5], 0x4787c62au);
    StepF<17>(c, d, a, b, w[6], 0xa8304613u);
    StepF<22>(b, c, d, a, w[7], 0xfd469501u);
    StepF<7>(a, b, c, d, w[8], 0x698098d8u);
    StepF<12>(d, a, b, c, w[9], 0x8b44f7afu);
    StepF<17>(c, d, a, b, w[10], 0xffff5bb1u);
    StepF<22>(b, c, d, a, w[11], 0x895cd7beu);
    StepF<7>(a, b, c, d, w[12], 0x6b901122u);
    StepF<12>(d, a, b, c, w[13], 0xfd987193u);
    StepF<17>(c, d, a, b, w[14], 0xa679438eu);
    StepF<22>(b, c, d, a, w[15], 0x49b40821u);
    StepG<5>(a, b, c, d, w[1], 0xf61e2562u);
    StepG<9>(d, a, b, c, w[6], 0xc040b340u);
    StepG<14>(c, d, a, b, w[11], 0x265e5a51u);
    StepG<20>(b, c, d, a, w[0], 0xe9b6c7aau);
    StepG<5>(a, b, c, d, w[5], 0xd62f105du);
    StepG<9>(d, a, b, c, w[10], 0x02441453u);
    StepG<14>(c, d, a, b, w[15], 0xd8a1e681u);
    StepG<20>(b, c, d, a, w[4], 0xe7d3fbc8u);
    StepG<5>(a, b, c, d, w[9], 0x21e1cde6u);
    StepG<9>(d, a, b, c, w[14], 0xc33707d6u);
    StepG<14>(c, d, a, b, w[3], 0xf4d50d87u);
    StepG<20>(b, c, d, a, w[8], 0x455a14edu);
    StepG<5>(a, b, c, d, w[13], 0xa9e3e905u);
    StepG<9>(d, a, b, c, w[2], 0xfcefa3f8u);
    StepG<14>(c, d, a, b, w[7], 0x676f02d9u);
    StepG<20>(b, c, d, a, w[12], 0x8d2a4c8au);
    StepH<4>(a, b, c, d, w[5], 0xfffa3942u);
    StepH<11>(d, a, b, c, w[8], 0x8771f681u);
    StepH<16>(c, d, a, b, w[11], 0x6d9d6122u);
    StepH<23>(b, c, d, a, w[14], 0xfde5380cu);
    StepH<4>(a, b, c, d, w[1], 0xa4beea44u);
    StepH<11>(d, a, b, c, w[4], 0x4bdecfa9u);
    StepH<16>(c, d, a, b, w[7], 0xf6bb4b60u);
    StepH<23>(b, c, d, a, w[10], 0xbebfbc70u);
    StepH<4>(a, b, c, d, w[13], 0x289b7ec6u);
    StepH<11>(d, a, b, c, w[0], 0xeaa127fau);
    StepH<16>(c, d, a, b, w[3], 0xd4ef3085u);
    StepH<23>(b, c, d, a, w[6], 0x04881d05u);
    StepH<4>(a, b, c, d, w[9], 0xd9d4d039u);
    StepH<11>(d, a, b, c, w[12], 0xe6db99e5u);
    StepH<16>(c, d, a, b, w[15], 0x1fa27cf8u);
    StepH<23>(b, c, d, a, w[2], 0xc4ac5665u);
    StepI<6>(a, b, c, d, w[0], 0xf4292244u);
    StepI<10>(d, a, b, c, w[7], 0x432aff97u);
    StepI<15>(c, d, a, b, w[14], 0xab9423a7u);
    StepI<21>(b, c, d, a, w[5], 0xfc93a039u);
    StepI<6>(a, b, c, d, w[12], 0x655b59c3u);
    StepI<10>(d, a, b, c, w[3], 0x8f0ccc92u);
    StepI<15>(c, d, a, b, w[10], 0xffeff47du);
    StepI<21>(b, c, d, a, w[1], 0x85845dd1u);
    StepI<6>(a, b, c, d, w[8], 0x6fa87e4fu);
    StepI<10>(d, a, b, c, w[15], 0xfe2ce6e0u);
    StepI<15>(c, d, a, b, w[6], 0xa3014314u);
    StepI<21>(b, c, d, a, w[13], 0x4e0811a1u);
    StepI<6>(a, b, c, d, w[4], 0xf7537e82u);
    StepI<10>(d, a, b, c, w[11], 0xbd3af235u);
    StepI<15>(c, d, a, b, w[2], 0x2ad7d2bbu);
    StepI<21>(b, c, d, a, w[9], 0xeb86d391u);
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
  }
}

#if defined(__x86_64__)
#define SIGIL_MD5_AVX2 __attribute__((target("avx2")))

SIGIL_MD5_AVX2 inline __m256i VRotl(__m256i x, int s) {
  return _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - s));
}
// a + w + k: the terms known before the step's b, added first, so only f and what follows it are
// on the dependency chain from one step to the next.
SIGIL_MD5_AVX2 inline __m256i VEarly(__m256i a, __m256i w, uint32_t k) {
  return _mm256_add_epi32(a, _mm256_add_epi32(w, _mm256_set1_epi32(static_cast<int>(k))));
}
template <int S>
SIGIL_MD5_AVX2 inline void VF(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i f = _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(VEarly(a, w, k), f), S));
}
// G = (b & d) | (c & ~d); the two halves have no bit in common, so | is +, and c & ~d is added
// early.
template <int S>
SIGIL_MD5_AVX2 inline void VG(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i early = _mm256_add_epi32(VEarly(a, w, k), _mm256_andnot_si256(d, c));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(early, _mm256_and_si256(b, d)), S));
}
template <int S>
SIGIL_MD5_AVX2 inline void VH(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i f = _mm256_xor_si256(b, _mm256_xor_si256(c, d));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(VEarly(a, w, k), f), S));
}
template <int S>
SIGIL_MD5_AVX2 inline void VI(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i not_d = _mm256_xor_si256(d, _mm256_set1_epi32(-1));
  __m256i f = _mm256_xor_si256(c, _mm256_or_si256(b, not_d));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(VEarly(a, w, k), f), S));
}

// Transposes 8 rows of 8 words: out[i] holds word i of every row (row j in element j).
SIGIL_MD5_AVX2 inline void Transpose8(const __m256i r[8], __m256i out[8]) {
  __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]), t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]), t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]), t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]), t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
  __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
  __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
  __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
  out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// Word `word` of the eight states h[0..7].
SIGIL_MD5_AVX2 inline __m256i Gather(uint32_t* const h[], int word) {
  return _mm256_setr_epi32(static_cast<int>(h[0][word]), static_cast<int>(h[1][word]),
                           static_cast<int>(h[2][word]), static_cast<int>(h[3][word]),
                           static_cast<int>(h[4][word]), static_cast<int>(h[5][word]),
                           static_cast<int>(h[6][word]), static_cast<int>(h[7][word]));
}

// One step for each of the G groups, issued together: a group's steps form one dependency chain
// (each needs the previous step's result), so a second group's independent chain fills the
// vector units while the first waits on its own latency (2 groups: ~1.6x the bytes per second of
// one on the reference machine).
#define SIGIL_MD5_STEP(F, S, A, B, C, D, W, K)             \
  _Pragma("GCC unroll 2") for (size_t g = 0; g < G; ++g) { \
    F<S>(A[g], B[g], C[g], D[g], w[g][W], K);              \
  }

// `blocks` 64-byte blocks of G x 8 streams at once: h[j] and p[j] are stream j's state and input;
// lane j moves on by step[j] bytes per block (0 for an idle lane, which rereads one dummy block).
template <size_t G>
SIGIL_MD5_AVX2 void CompressBlocksSimd(uint32_t* const h[], const unsigned char* const p[],
                                       const size_t step[], size_t blocks) {
  __m256i sa[G], sb[G], sc[G], sd[G];
  for (size_t g = 0; g < G; ++g) {
    sa[g] = Gather(h + g * kLanes, 0);
    sb[g] = Gather(h + g * kLanes, 1);
    sc[g] = Gather(h + g * kLanes, 2);
    sd[g] = Gather(h + g * kLanes, 3);
  }
  const unsigned char* q[G * kLanes];
  std::copy(p, p + G * kLanes, q);
  for (; blocks > 0; --blocks) {
    __m256i w[G][16], rows[kLanes];
    for (size_t g = 0; g < G; ++g) {
      for (size_t half = 0; half < 2; ++half) {
        for (size_t j = 0; j < kLanes; ++j) {
          rows[j] =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q[g * kLanes + j] + half * 32));
        }
        Transpose8(rows, w[g] + half * 8);
      }
    }
    __m256i a[G], b[G], c[G], d[G];
    for (size_t g = 0; g < G; ++g) {
      a[g] = sa[g];
      b[g] = sb[g];
      c[g] = sc[g];
      d[g] = sd[g];
    }
    SIGIL_MD5_STEP(VF, 7, a, b, c, d, 0, 0xd76aa478u);
    SIGIL_MD5_STEP(VF, 12, d, a, b, c, 1, 0xe8c7b756u);
    SIGIL_MD5_STEP(VF, 17, c, d, a, b, 2, 0x242070dbu);
    SIGIL_MD5_STEP(VF, 22, b, c, d, a, 3, 0xc1bdceeeu);
    SIGIL_MD5_STEP(VF, 7, a, b, c, d, 4, 0xf57c0fafu);
    SIGIL_MD5_STEP(VF, 12, d, a, b, c, 5, 0x4787c62au);
    SIGIL_MD5_STEP(VF, 17, c, d, a, b, 6, 0xa8304613u);
    SIGIL_MD5_STEP(VF, 22, b, c, d, a, 7, 0xfd469501u);
    SIGIL_MD5_STEP(VF, 7, a, b, c, d, 8, 0x698098d8u);
    SIGIL_MD5_STEP(VF, 12, d, a, b, c, 9, 0x8b44f7afu);
    SIGIL_MD5_STEP(VF, 17, c, d, a, b, 10, 0xffff5bb1u);
    SIGIL_MD5_STEP(VF, 22, b, c, d, a, 11, 0x895cd7beu);
    SIGIL_MD5_STEP(VF, 7, a, b, c, d, 12, 0x6b901122u);
    SIGIL_MD5_STEP(VF, 12, d, a, b, c, 13, 0xfd987193u);
    SIGIL_MD5_STEP(VF, 17, c, d, a, b, 14, 0xa679438eu);
    SIGIL_MD5_STEP(VF, 22, b, c, d, a, 15, 0x49b40821u);
    SIGIL_MD5_STEP(VG, 5, a, b, c, d, 1, 0xf61e2562u);
    SIGIL_MD5_STEP(VG, 9, d, a, b, c, 6, 0xc040b340u);
    SIGIL_MD5_STEP(VG, 14, c, d, a, b, 11, 0x265e5a51u);
    SIGIL_MD5_STEP(VG, 20, b, c, d, a, 0, 0xe9b6c7aau);
    SIGIL_MD5_STEP(VG, 5, a, b, c, d, 5, 0xd62f105du);
    SIGIL_MD5_STEP(VG, 9, d, a, b, c, 10, 0x02441453u);
    SIGIL_MD5_STEP(VG, 14, c, d, a, b, 15, 0xd8a1e681u);
    SIGIL_MD5_STEP(VG, 20, b, c, d, a, 4, 0xe7d3fbc8u);
    SIGIL_MD5_STEP(VG, 5, a, b, c, d, 9, 0x21e1cde6u);
    SIGIL_MD5_STEP(VG, 9, d, a, b, c, 14, 0xc33707d6u);
    SIGIL_MD5_STEP(VG, 14, c, d, a, b, 3, 0xf4d50d87u);
    SIGIL_MD5_STEP(VG, 20, b, c, d, a, 8, 0x455a14edu);
    SIGIL_MD5_STEP(VG, 5, a, b, c, d, 13, 0xa9e3e905u);
    SIGIL_MD5_STEP(VG, 9, d, a, b, c, 2, 0xfcefa3f8u);
    SIGIL_MD5_STEP(VG, 14, c, d, a, b, 7, 0x676f02d9u);
    SIGIL_MD5_STEP(VG, 20, b, c, d, a, 12, 0x8d2a4c8au);
    SIGIL_MD5_STEP(VH, 4, a, b, c, d, 5, 0xfffa3942u);
    SIGIL_MD5_STEP(VH, 11, d, a, b, c, 8, 0x8771f681u);
    SIGIL_MD5_STEP(VH, 16, c, d, a, b, 11, 0x6d9d6122u);
    SIGIL_MD5_STEP(VH, 23, b, c, d, a, 14, 0xfde5380cu);
    SIGIL_MD5_STEP(VH, 4, a, b, c, d, 1, 0xa4beea44u);
    SIGIL_MD5_STEP(VH, 11, d, a, b, c, 4, 0x4bdecfa9u);
    SIGIL_MD5_STEP(VH, 16, c, d, a, b, 7, 0xf6bb4b60u);
    SIGIL_MD5_STEP(VH, 23, b, c, d, a, 10, 0xbebfbc70u);
    SIGIL_MD5_STEP(VH, 4, a, b, c, d, 13, 0x289b7ec6u);
    SIGIL_MD5_STEP(VH, 11, d, a, b, c, 0, 0xeaa127fau);
    SIGIL_MD5_STEP(VH, 16, c, d, a, b, 3, 0xd4ef3085u);
    SIGIL_MD5_STEP(VH, 23, b, c, d, a, 6, 0x04881d05u);
    SIGIL_MD5_STEP(VH, 4, a, b, c, d, 9, 0xd9d4d039u);
    SIGIL_MD5_STEP(VH, 11, d, a, b, c, 12, 0xe6db99e5u);
    SIGIL_MD5_STEP(VH, 16, c, d, a, b, 15, 0x1fa27cf8u);
    SIGIL_MD5_STEP(VH, 23, b, c, d, a, 2, 0xc4ac5665u);
    SIGIL_MD5_STEP(VI, 6, a, b, c, d, 0, 0xf4292244u);
    SIGIL_MD5_STEP(VI, 10, d, a, b, c, 7, 0x432aff97u);
    SIGIL_MD5_STEP(VI, 15, c, d, a, b, 14, 0xab9423a7u);
    SIGIL_MD5_STEP(VI, 21, b, c, d, a, 5, 0xfc93a039u);
    SIGIL_MD5_STEP(VI, 6, a, b, c, d, 12, 0x655b59c3u);
    SIGIL_MD5_STEP(VI, 10, d, a, b, c, 3, 0x8f0ccc92u);
    SIGIL_MD5_STEP(VI, 15, c, d, a, b, 10, 0xffeff47du);
    SIGIL_MD5_STEP(VI, 21, b, c, d, a, 1, 0x85845dd1u);
    SIGIL_MD5_STEP(VI, 6, a, b, c, d, 8, 0x6fa87e4fu);
    SIGIL_MD5_STEP(VI, 10, d, a, b, c, 15, 0xfe2ce6e0u);
    SIGIL_MD5_STEP(VI, 15, c, d, a, b, 6, 0xa3014314u);
    SIGIL_MD5_STEP(VI, 21, b, c, d, a, 13, 0x4e0811a1u);
    SIGIL_MD5_STEP(VI, 6, a, b, c, d, 4, 0xf7537e82u);
    SIGIL_MD5_STEP(VI, 10, d, a, b, c, 11, 0xbd3af235u);
    SIGIL_MD5_STEP(VI, 15, c, d, a, b, 2, 0x2ad7d2bbu);
    SIGIL_MD5_STEP(VI, 21, b, c, d, a, 9, 0xeb86d391u);
    for (size_t g = 0; g < G; ++g) {
      sa[g] = _mm256_add_epi32(sa[g], a[g]);
      sb[g] = _mm256_add_epi32(sb[g], b[g]);
      sc[g] = _mm256_add_epi32(sc[g], c[g]);
      sd[g] = _mm256_add_epi32(sd[g], d[g]);
    }
    for (size_t j = 0; j < G * kLanes; ++j) q[j] += step[j];
  }
  for (size_t g = 0; g < G; ++g) {
    alignas(32) uint32_t out[4][kLanes];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[0]), sa[g]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[1]), sb[g]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[2]), sc[g]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out[3]), sd[g]);
    for (size_t j = 0; j < kLanes; ++j) {
      for (int word = 0; word < 4; ++word) h[g * kLanes + j][word] = out[word][j];
    }
  }
}
#undef SIGIL_MD5_STEP

bool DetectAvx2() { return __builtin_cpu_supports("avx2"); }
#else
bool DetectAvx2() { return false; }
#endif

}  // namespace

Md5Stream::Md5Stream() : h_{0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u} {}

void Md5Stream::FillTail(std::string_view* data) {
  size_t take = std::min(data->size(), sizeof tail_ - tail_size_);
  std::memcpy(tail_ + tail_size_, data->data(), take);
  tail_size_ += take;
  data->remove_prefix(take);
  if (tail_size_ == sizeof tail_) {
    CompressBlocks(h_, tail_, 1);
    tail_size_ = 0;
  }
}

void Md5Stream::Update(std::string_view data) {
  Md5Stream* self = this;
  Md5UpdateMany(std::span<Md5Stream* const>(&self, 1), std::span<const std::string_view>(&data, 1),
                /*allow_simd=*/false);
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

bool Md5ManyHasSimd() {
  static const bool has = DetectAvx2();
  return has;
}

void Md5UpdateMany(std::span<Md5Stream* const> streams, std::span<const std::string_view> data,
                   bool allow_simd) {
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
#if defined(__x86_64__)
    if (allow_simd && Md5ManyHasSimd()) {
      // While two or more streams have blocks left: all of them, as many blocks as the shortest
      // has, in one group of 8 lanes or two (idle lanes hash a dummy block into a scratch state).
      static constexpr unsigned char kDummy[64] = {};
      for (;;) {
        uint32_t* h[kMaxLanes];
        const unsigned char* p[kMaxLanes];
        size_t step[kMaxLanes];
        uint32_t scratch[kMaxLanes][4] = {};
        size_t active = 0, common = SIZE_MAX;
        for (size_t i = 0; i < n; ++i) {
          if (jobs[i].blocks == 0) continue;
          h[active] = jobs[i].stream->h_;
          p[active] = jobs[i].next;
          step[active] = 64;
          common = std::min(common, jobs[i].blocks);
          ++active;
        }
        if (active < 2) break;
        const size_t lanes = active > kLanes ? kMaxLanes : kLanes;
        for (size_t j = active; j < lanes; ++j) {
          h[j] = scratch[j];
          p[j] = kDummy;
          step[j] = 0;
        }
        if (lanes == kMaxLanes) {
          CompressBlocksSimd<2>(h, p, step, common);
        } else {
          CompressBlocksSimd<1>(h, p, step, common);
        }
        for (size_t i = 0; i < n; ++i) {
          if (jobs[i].blocks == 0) continue;
          jobs[i].next += 64 * common;
          jobs[i].blocks -= common;
        }
      }
    }
#endif
    for (size_t i = 0; i < n; ++i) CompressBlocks(jobs[i].stream->h_, jobs[i].next, jobs[i].blocks);
  }
}

}  // namespace sigil
