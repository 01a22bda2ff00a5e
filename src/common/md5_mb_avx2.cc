// AVX2 kernel of md5_mb: eight streams per 256-bit vector (one per 32-bit lane), one or two such
// groups interleaved (one group's steps wait on each other's results; a second group's
// independent chain fills the vector units meanwhile: ~1.6x the bytes per second of one group).
#include <immintrin.h>

#include <algorithm>

#include "common/md5_mb_kernels.h"

namespace sigil::md5_kernels {
namespace {

constexpr size_t kLanes = 8;

#define SIGIL_AVX2 __attribute__((target("avx2")))

SIGIL_AVX2 inline __m256i VRotl(__m256i x, int s) {
  return _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - s));
}
// a + w + k: the terms known before the step's b, added first, so only f and what follows it are
// on the dependency chain from one step to the next.
SIGIL_AVX2 inline __m256i VEarly(__m256i a, __m256i w, uint32_t k) {
  return _mm256_add_epi32(a, _mm256_add_epi32(w, _mm256_set1_epi32(static_cast<int>(k))));
}
template <int S>
SIGIL_AVX2 inline void VF(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i f = _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(VEarly(a, w, k), f), S));
}
// G = (b & d) | (c & ~d); the two halves have no bit in common, so | is +, and c & ~d is added
// early.
template <int S>
SIGIL_AVX2 inline void VG(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i early = _mm256_add_epi32(VEarly(a, w, k), _mm256_andnot_si256(d, c));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(early, _mm256_and_si256(b, d)), S));
}
template <int S>
SIGIL_AVX2 inline void VH(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i f = _mm256_xor_si256(b, _mm256_xor_si256(c, d));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(VEarly(a, w, k), f), S));
}
template <int S>
SIGIL_AVX2 inline void VI(__m256i& a, __m256i b, __m256i c, __m256i d, __m256i w, uint32_t k) {
  __m256i not_d = _mm256_xor_si256(d, _mm256_set1_epi32(-1));
  __m256i f = _mm256_xor_si256(c, _mm256_or_si256(b, not_d));
  a = _mm256_add_epi32(b, VRotl(_mm256_add_epi32(VEarly(a, w, k), f), S));
}

// Transposes 8 rows of 8 words: out[i] holds word i of every row (row j in element j).
SIGIL_AVX2 inline void Transpose8(const __m256i r[8], __m256i out[8]) {
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
SIGIL_AVX2 inline __m256i Gather(uint32_t* const h[], int word) {
  return _mm256_setr_epi32(static_cast<int>(h[0][word]), static_cast<int>(h[1][word]),
                           static_cast<int>(h[2][word]), static_cast<int>(h[3][word]),
                           static_cast<int>(h[4][word]), static_cast<int>(h[5][word]),
                           static_cast<int>(h[6][word]), static_cast<int>(h[7][word]));
}

// One step for each of the G groups, issued together.
#define SIGIL_MD5_AVX2_STEP(R, S, A, B, C, D, W, K)        \
  _Pragma("GCC unroll 2") for (size_t g = 0; g < G; ++g) { \
    V##R<S>(A[g], B[g], C[g], D[g], w[g][W], K);           \
  }

template <size_t G>
SIGIL_AVX2 void Compress(uint32_t* const h[], const unsigned char* const p[], const size_t step[],
                         size_t blocks) {
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
    SIGIL_MD5_STEPS(SIGIL_MD5_AVX2_STEP)
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
#undef SIGIL_MD5_AVX2_STEP

}  // namespace

void CompressAvx2(size_t groups, uint32_t* const h[], const unsigned char* const p[],
                  const size_t step[], size_t blocks) {
  if (groups == 2) {
    Compress<2>(h, p, step, blocks);
  } else {
    Compress<1>(h, p, step, blocks);
  }
}

}  // namespace sigil::md5_kernels
