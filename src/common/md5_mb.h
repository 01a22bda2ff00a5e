// MD5 of several independent byte streams at once (multi-buffer): each 32-bit lane of a vector
// register carries one stream through the compression function. With AVX-512, sixteen streams
// share one 512-bit vector (a step's round function and rotation are one instruction each); with
// AVX2, eight streams share a 256-bit vector and nine to sixteen run as two such groups
// interleaved (about 4x and 6.5x one stream's speed). For callers that hash many inputs in the
// same thread (the upload pipeline hashes the original bytes of several archive members side by
// side). Results are plain MD5 (the same as Md5Hex / Digest). The CPU is checked at run time;
// without AVX2, or with fewer streams than a vector round is worth (five with AVX-512, six with
// AVX2: a round costs the same however many lanes carry data), portable code hashes two streams at
// a time with their steps interleaved (each stream's chain of steps is bound by latency, so a pair
// takes ~1.05x the time of one stream).
//
// Thread safety: an Md5Stream is owned by one thread at a time; the functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sigil {

class Md5Stream;

// Instruction sets Md5UpdateMany can use, in order.
enum class Md5Simd { kNone, kAvx2, kAvx512 };

// The best of them this CPU has.
Md5Simd Md5BestSimd();

// Hashes data[i] into *streams[i] for every i (the spans have the same size; the streams are
// distinct), with the best instruction set this CPU has up to `max_simd` (tests compare them).
void Md5UpdateMany(std::span<Md5Stream* const> streams, std::span<const std::string_view> data,
                   Md5Simd max_simd = Md5Simd::kAvx512);

// One stream's running MD5.
class Md5Stream {
 public:
  Md5Stream();
  // Hashes `data` on its own (no other streams to share the work with).
  void Update(std::string_view data);
  // Lower-case hex digest of everything hashed; the stream may not be updated afterwards.
  std::string FinishHex();

 private:
  friend void Md5UpdateMany(std::span<Md5Stream* const>, std::span<const std::string_view>,
                            Md5Simd);
  // Takes bytes from the front of `*data` into the partial block; hashes it once full.
  void FillTail(std::string_view* data);

  uint32_t h_[4];
  uint64_t length_ = 0;     // bytes hashed so far
  unsigned char tail_[64];  // a partial block
  size_t tail_size_ = 0;
};

}  // namespace sigil
