// GzipCompressor: streaming gzip (RFC 1952) compression for stored symbol files. The ISA-L backend
// (igzip, levels 0..3) is the fast default; the zlib backend (levels 1..9) is the fallback when
// ISA-L cannot be initialised and the reference the benchmark compares against. Both produce
// standard gzip that any gunzip reads.
//
// Not thread-safe: one compressor per stream; create one per member (creation is cheap).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sigil::upload {

// Receives compressed output in order; an error stops the compressor and is returned by
// Write/Finish.
using GzipSink = std::function<Status(std::string_view chunk)>;

class GzipCompressor {
 public:
  enum class Backend { kIsal, kZlib };

  virtual ~GzipCompressor() = default;
  // Compresses `data` (any size, may be empty); output goes to the sink as it is produced.
  virtual Status Write(std::string_view data) = 0;
  // Flushes the rest and the gzip trailer. No Write after Finish.
  virtual Status Finish() = 0;
  virtual Backend backend() const = 0;
  // Uncompressed bytes written so far.
  virtual uint64_t bytes_in() const = 0;
};

// kIsal: `level` 0..3 (kInvalidArgument otherwise); falls back to zlib (level 1 + 2*level, capped
// at 9) when ISA-L fails to initialise. kZlib: `level` 1..9.
Result<std::unique_ptr<GzipCompressor>> MakeGzipCompressor(GzipCompressor::Backend backend,
                                                           int level, GzipSink sink);

// The gzip wrapper (RFC 1952) around an existing raw deflate stream: header + stream + trailer is a
// complete gzip member. The header is fixed (no name, mtime 0, OS unknown); the trailer holds the
// CRC-32 of the uncompressed bytes and their length mod 2^32, little-endian.
std::string_view GzipHeader();
std::string GzipTrailer(uint32_t crc, uint64_t uncompressed_size);

// One-shot helper: gzip of `data` as a string.
Result<std::string> GzipString(std::string_view data, GzipCompressor::Backend backend, int level);

}  // namespace sigil::upload
