// MD5 of several independent byte streams at once (multi-buffer): with AVX2, eight streams share
// each round of the compression function, one per 32-bit vector lane, which hashes them about four
// times faster than one after another; nine to sixteen streams run as two such groups interleaved,
// about 1.6 times faster again (one group's steps wait on each other's results; two fill the
// vector units). For callers that hash many inputs in the same thread (the
// upload pipeline hashes the original bytes of several archive members side by side). Results are
// plain MD5 (the same as Md5Hex / Digest). The CPU is checked at run time; without AVX2 (or with
// fewer than two streams to hash) the portable one-stream code runs.
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

// Hashes data[i] into *streams[i] for every i (the spans have the same size; the streams are
// distinct). `allow_simd` false forces the one-stream code (tests compare the two).
void Md5UpdateMany(std::span<Md5Stream* const> streams, std::span<const std::string_view> data,
                   bool allow_simd = true);

// Whether Md5UpdateMany can use AVX2 on this CPU.
bool Md5ManyHasSimd();

// One stream's running MD5.
class Md5Stream {
 public:
  Md5Stream();
  // Hashes `data` on its own (no other streams to share the work with).
  void Update(std::string_view data);
  // Lower-case hex digest of everything hashed; the stream may not be updated afterwards.
  std::string FinishHex();

 private:
  friend void Md5UpdateMany(std::span<Md5Stream* const>, std::span<const std::string_view>, bool);
  // Takes bytes from the front of `*data` into the partial block; hashes it once full.
  void FillTail(std::string_view* data);

  uint32_t h_[4];
  uint64_t length_ = 0;     // bytes hashed so far
  unsigned char tail_[64];  // a partial block
  size_t tail_size_ = 0;
};

}  // namespace sigil
