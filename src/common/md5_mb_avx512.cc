// AVX-512 kernel of md5_mb: sixteen streams per 512-bit vector. Against the AVX2 kernel each step
// takes one instruction for the round function (vpternlogd) and one for the rotation (vprold)
// where AVX2 needs two or three for each. On the reference machine (AMD EPYC, 2 cores) one group
// of 16 lanes hashes 5.5-5.9 GB/s against AVX2's 3.7-4.0 GB/s for two groups of 8; the rounds are
// bound by instruction throughput, not latency (eight lanes in 256-bit AVX-512VL vectors take as
// long per round as sixteen in 512-bit ones, and two interleaved 256-bit groups no less than one
// 512-bit group), so neither narrower vectors for few lanes nor a second group pay.
#include <immintrin.h>

#include <algorithm>

#include "common/md5_mb_kernels.h"

// GCC 12's unpack intrinsics pass _mm512_undefined_epi32() (a self-initialized variable) as the
// unused merge source, which -Wmaybe-uninitialized reports wherever they are inlined.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace sigil::md5_kernels {
namespace {

constexpr size_t kLanes = 16;

#define SIGIL_AVX512 __attribute__((target("avx512f")))

// Truth tables of the round functions for vpternlogd with operands (b, c, d): bit (4b + 2c + d)
// of the immediate is f(b, c, d).
constexpr int kF = 0xca;  // b ? c : d
constexpr int kG = 0xe4;  // d ? b : c
constexpr int kH = 0x96;  // b ^ c ^ d
constexpr int kI = 0x39;  // c ^ (b | ~d)

template <int kTable, int S>
SIGIL_AVX512 inline void Step(__m512i& a, __m512i b, __m512i c, __m512i d, __m512i w, uint32_t k) {
  // a + w + k first: those terms do not wait for the previous step.
  __m512i early = _mm512_add_epi32(a, _mm512_add_epi32(w, _mm512_set1_epi32(static_cast<int>(k))));
  __m512i f = _mm512_ternarylogic_epi32(b, c, d, kTable);
  a = _mm512_add_epi32(b, _mm512_rol_epi32(_mm512_add_epi32(early, f), S));
}

// Transposes 16 rows of 16 words: out[i] holds word i of every row (row j in element j).
SIGIL_AVX512 inline void Transpose16(const __m512i r[16], __m512i out[16]) {
  // u[g][x]: in each 128-bit quarter q, word 4q + x of rows 4g .. 4g + 3.
  __m512i u[4][4];
  for (int g = 0; g < 4; ++g) {
    const __m512i* rows = r + 4 * g;
    __m512i t0 = _mm512_unpacklo_epi32(rows[0], rows[1]);
    __m512i t1 = _mm512_unpackhi_epi32(rows[0], rows[1]);
    __m512i t2 = _mm512_unpacklo_epi32(rows[2], rows[3]);
    __m512i t3 = _mm512_unpackhi_epi32(rows[2], rows[3]);
    u[g][0] = _mm512_unpacklo_epi64(t0, t2);
    u[g][1] = _mm512_unpackhi_epi64(t0, t2);
    u[g][2] = _mm512_unpacklo_epi64(t1, t3);
    u[g][3] = _mm512_unpackhi_epi64(t1, t3);
  }
  // Then quarter q of u[0..3][x] side by side is word 4q + x of rows 0 .. 15.
  for (int x = 0; x < 4; ++x) {
    __m512i v0 = _mm512_shuffle_i32x4(u[0][x], u[1][x], 0x44);  // q0 q1 of u0, q0 q1 of u1
    __m512i v1 = _mm512_shuffle_i32x4(u[0][x], u[1][x], 0xee);  // q2 q3 of u0, q2 q3 of u1
    __m512i v2 = _mm512_shuffle_i32x4(u[2][x], u[3][x], 0x44);
    __m512i v3 = _mm512_shuffle_i32x4(u[2][x], u[3][x], 0xee);
    out[x] = _mm512_shuffle_i32x4(v0, v2, 0x88);       // q0 of u0, u1, u2, u3
    out[4 + x] = _mm512_shuffle_i32x4(v0, v2, 0xdd);   // q1
    out[8 + x] = _mm512_shuffle_i32x4(v1, v3, 0x88);   // q2
    out[12 + x] = _mm512_shuffle_i32x4(v1, v3, 0xdd);  // q3
  }
}

#define SIGIL_MD5_AVX512_STEP(R, S, A, B, C, D, W, K) Step<k##R, S>(A, B, C, D, w[W], K);

SIGIL_AVX512 void Compress16(uint32_t* const h[], const unsigned char* const p[],
                             const size_t step[], size_t blocks) {
  alignas(64) uint32_t state[4][kLanes];
  for (size_t j = 0; j < kLanes; ++j) {
    for (int word = 0; word < 4; ++word) state[word][j] = h[j][word];
  }
  __m512i sa = _mm512_load_si512(state[0]), sb = _mm512_load_si512(state[1]);
  __m512i sc = _mm512_load_si512(state[2]), sd = _mm512_load_si512(state[3]);
  const unsigned char* q[kLanes];
  std::copy(p, p + kLanes, q);
  for (; blocks > 0; --blocks) {
    __m512i rows[kLanes], w[16];
    for (size_t j = 0; j < kLanes; ++j) rows[j] = _mm512_loadu_si512(q[j]);
    Transpose16(rows, w);
    __m512i a = sa, b = sb, c = sc, d = sd;
    SIGIL_MD5_STEPS(SIGIL_MD5_AVX512_STEP)
    sa = _mm512_add_epi32(sa, a);
    sb = _mm512_add_epi32(sb, b);
    sc = _mm512_add_epi32(sc, c);
    sd = _mm512_add_epi32(sd, d);
    for (size_t j = 0; j < kLanes; ++j) q[j] += step[j];
  }
  _mm512_store_si512(state[0], sa);
  _mm512_store_si512(state[1], sb);
  _mm512_store_si512(state[2], sc);
  _mm512_store_si512(state[3], sd);
  for (size_t j = 0; j < kLanes; ++j) {
    for (int word = 0; word < 4; ++word) h[j][word] = state[word][j];
  }
}
#undef SIGIL_MD5_AVX512_STEP

}  // namespace

void CompressAvx512(uint32_t* const h[], const unsigned char* const p[], const size_t step[],
                    size_t blocks) {
  Compress16(h, p, step, blocks);
}

}  // namespace sigil::md5_kernels
