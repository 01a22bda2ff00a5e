// Internal to md5_mb: MD5's compression function over many streams at once, one implementation
// per instruction set. Each kernel hashes `blocks` 64-byte blocks of every lane: lane j starts
// from state h[j] and input p[j] and moves on by step[j] bytes per block (0 for an idle lane,
// which rereads one dummy block into a scratch state). Callers pass exactly as many lanes as the
// kernel's width. The kernels for an instruction set must only run where the CPU has it.
//
// Thread safety: the kernels are pure functions of their arguments.
#pragma once

#include <cstddef>
#include <cstdint>

// The 64 steps of the MD5 compression function (RFC 1321 §3.4), in order, for every
// implementation to expand: X(round function, shift, a, b, c, d, message word, constant), where
// the step computes a = b + rotl(a + f(b, c, d) + w[word] + constant, shift).
#define SIGIL_MD5_STEPS(X)              \
  X(F, 7, a, b, c, d, 0, 0xd76aa478u)   \
  X(F, 12, d, a, b, c, 1, 0xe8c7b756u)  \
  X(F, 17, c, d, a, b, 2, 0x242070dbu)  \
  X(F, 22, b, c, d, a, 3, 0xc1bdceeeu)  \
  X(F, 7, a, b, c, d, 4, 0xf57c0fafu)   \
  X(F, 12, d, a, b, c, 5, 0x4787c62au)  \
  X(F, 17, c, d, a, b, 6, 0xa8304613u)  \
  X(F, 22, b, c, d, a, 7, 0xfd469501u)  \
  X(F, 7, a, b, c, d, 8, 0x698098d8u)   \
  X(F, 12, d, a, b, c, 9, 0x8b44f7afu)  \
  X(F, 17, c, d, a, b, 10, 0xffff5bb1u) \
  X(F, 22, b, c, d, a, 11, 0x895cd7beu) \
  X(F, 7, a, b, c, d, 12, 0x6b901122u)  \
  X(F, 12, d, a, b, c, 13, 0xfd987193u) \
  X(F, 17, c, d, a, b, 14, 0xa679438eu) \
  X(F, 22, b, c, d, a, 15, 0x49b40821u) \
  X(G, 5, a, b, c, d, 1, 0xf61e2562u)   \
  X(G, 9, d, a, b, c, 6, 0xc040b340u)   \
  X(G, 14, c, d, a, b, 11, 0x265e5a51u) \
  X(G, 20, b, c, d, a, 0, 0xe9b6c7aau)  \
  X(G, 5, a, b, c, d, 5, 0xd62f105du)   \
  X(G, 9, d, a, b, c, 10, 0x02441453u)  \
  X(G, 14, c, d, a, b, 15, 0xd8a1e681u) \
  X(G, 20, b, c, d, a, 4, 0xe7d3fbc8u)  \
  X(G, 5, a, b, c, d, 9, 0x21e1cde6u)   \
  X(G, 9, d, a, b, c, 14, 0xc33707d6u)  \
  X(G, 14, c, d, a, b, 3, 0xf4d50d87u)  \
  X(G, 20, b, c, d, a, 8, 0x455a14edu)  \
  X(G, 5, a, b, c, d, 13, 0xa9e3e905u)  \
  X(G, 9, d, a, b, c, 2, 0xfcefa3f8u)   \
  X(G, 14, c, d, a, b, 7, 0x676f02d9u)  \
  X(G, 20, b, c, d, a, 12, 0x8d2a4c8au) \
  X(H, 4, a, b, c, d, 5, 0xfffa3942u)   \
  X(H, 11, d, a, b, c, 8, 0x8771f681u)  \
  X(H, 16, c, d, a, b, 11, 0x6d9d6122u) \
  X(H, 23, b, c, d, a, 14, 0xfde5380cu) \
  X(H, 4, a, b, c, d, 1, 0xa4beea44u)   \
  X(H, 11, d, a, b, c, 4, 0x4bdecfa9u)  \
  X(H, 16, c, d, a, b, 7, 0xf6bb4b60u)  \
  X(H, 23, b, c, d, a, 10, 0xbebfbc70u) \
  X(H, 4, a, b, c, d, 13, 0x289b7ec6u)  \
  X(H, 11, d, a, b, c, 0, 0xeaa127fau)  \
  X(H, 16, c, d, a, b, 3, 0xd4ef3085u)  \
  X(H, 23, b, c, d, a, 6, 0x04881d05u)  \
  X(H, 4, a, b, c, d, 9, 0xd9d4d039u)   \
  X(H, 11, d, a, b, c, 12, 0xe6db99e5u) \
  X(H, 16, c, d, a, b, 15, 0x1fa27cf8u) \
  X(H, 23, b, c, d, a, 2, 0xc4ac5665u)  \
  X(I, 6, a, b, c, d, 0, 0xf4292244u)   \
  X(I, 10, d, a, b, c, 7, 0x432aff97u)  \
  X(I, 15, c, d, a, b, 14, 0xab9423a7u) \
  X(I, 21, b, c, d, a, 5, 0xfc93a039u)  \
  X(I, 6, a, b, c, d, 12, 0x655b59c3u)  \
  X(I, 10, d, a, b, c, 3, 0x8f0ccc92u)  \
  X(I, 15, c, d, a, b, 10, 0xffeff47du) \
  X(I, 21, b, c, d, a, 1, 0x85845dd1u)  \
  X(I, 6, a, b, c, d, 8, 0x6fa87e4fu)   \
  X(I, 10, d, a, b, c, 15, 0xfe2ce6e0u) \
  X(I, 15, c, d, a, b, 6, 0xa3014314u)  \
  X(I, 21, b, c, d, a, 13, 0x4e0811a1u) \
  X(I, 6, a, b, c, d, 4, 0xf7537e82u)   \
  X(I, 10, d, a, b, c, 11, 0xbd3af235u) \
  X(I, 15, c, d, a, b, 2, 0x2ad7d2bbu)  \
  X(I, 21, b, c, d, a, 9, 0xeb86d391u)

namespace sigil::md5_kernels {

// One stream, portable.
void CompressBlocks(uint32_t h[4], const unsigned char* p, size_t blocks);
// Two streams, portable, their steps interleaved.
void CompressBlocks2(uint32_t h0[4], const unsigned char* p0, uint32_t h1[4],
                     const unsigned char* p1, size_t blocks);

#if defined(__x86_64__)
// AVX2: `groups` (1 or 2) groups of 8 lanes, 8 * groups lanes.
void CompressAvx2(size_t groups, uint32_t* const h[], const unsigned char* const p[],
                  const size_t step[], size_t blocks);
// AVX-512F: 16 lanes in one 512-bit vector.
void CompressAvx512(uint32_t* const h[], const unsigned char* const p[], const size_t step[],
                    size_t blocks);
#endif

}  // namespace sigil::md5_kernels
