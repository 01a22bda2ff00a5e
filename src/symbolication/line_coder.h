// The index builder's line-stream coder (docs/symbol-index-format.md, "Lines"): appends a range's
// line entries, varint-coded, to a byte buffer and records a restart point every
// format::kLineSkipEvery entries. Internal to the symbolication core; thread-compatible.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "symbolication/index_format.h"
#include "symbolication/pod_vector.h"

namespace sigil::symbolication {

// Append-only byte buffer written through a pointer: no call per append, and (unlike a resized
// std::string) no zero-filling of the room it reserves, so untouched pages stay untouched.
class ByteSink {
 public:
  explicit ByteSink(size_t expected) { Reset(expected); }
  // Starts over with room for `expected` bytes.
  void Reset(size_t expected) {
    buf_.reset(new char[std::max<size_t>(expected, 16)]);
    capacity_ = std::max<size_t>(expected, 16);
    used_ = 0;
  }
  // Room for `n` more bytes; returns where to write them (valid until the next Room).
  char* Room(size_t n) {
    if (used_ + n > capacity_) Grow(std::max(capacity_ * 2, used_ + n));
    return buf_.get() + used_;
  }
  void Commit(const char* end) { used_ = static_cast<size_t>(end - buf_.get()); }
  // Drops everything from `size` on (size <= size()).
  void Truncate(size_t size) { used_ = size; }
  size_t size() const { return used_; }
  const char* data() const { return buf_.get(); }
  char* data() { return buf_.get(); }

 private:
  void Grow(size_t capacity) {
    std::unique_ptr<char[]> bigger(new char[capacity]);
    std::memcpy(bigger.get(), buf_.get(), used_);
    buf_ = std::move(bigger);
    capacity_ = capacity;
  }
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  size_t used_ = 0;
};

// Appends v as a LEB128 varint at p (at most 10 bytes); returns the end.
[[gnu::always_inline]] inline char* PutVarint(char* p, uint64_t v) {
  if (v < 0x80) {  // most entries: one byte each
    *p = static_cast<char>(v);
    return p + 1;
  }
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

// Codes the entries of one range at a time into `stream`, restart points into `skips`. Entries come
// in ascending offset; the decoding state starts at zero at the range's first entry and at each
// restart point.
class LineCoder {
 public:
  LineCoder(ByteSink* stream, PodVector<format::LineSkip>* skips)
      : stream_(stream), skips_(skips) {}

  void BeginRange() {
    count_ = 0;
    prev_offset_ = prev_line_ = prev_file_ = 0;
  }
  // Entries coded since BeginRange (gaps included).
  uint32_t count() const { return count_; }

  // "No line record covers this offset and on".
  [[gnu::always_inline]] void Gap(uint32_t offset) {
    char* p = stream_->Room(10);
    p = PutVarint(p, Head(offset) | format::kLineGap);
    stream_->Commit(p);
  }

  // A line record entry; `has_base`: the record starts `base_distance` bytes before the entry.
  [[gnu::always_inline]] void Line(uint32_t offset, int32_t line, uint32_t file,
                                   bool has_base = false, uint64_t base_distance = 0) {
    uint64_t head = Head(offset);
    if (has_base) head |= format::kLineBase;
    if (file != prev_file_) head |= format::kLineFile;
    char* p = stream_->Room(40);  // four varints at most
    p = PutVarint(p, head);
    const uint32_t d = static_cast<uint32_t>(line) - prev_line_;
    p = PutVarint(p, (d << 1) ^ (0u - (d >> 31)));  // zigzag
    if (head & format::kLineFile) p = PutVarint(p, file);
    if (has_base) p = PutVarint(p, base_distance);
    stream_->Commit(p);
    prev_line_ = static_cast<uint32_t>(line);
    prev_file_ = file;
  }

 private:
  // Takes a restart point when one is due, then returns the entry's offset delta, shifted.
  [[gnu::always_inline]] uint64_t Head(uint32_t offset) {
    if (count_ != 0 && count_ % format::kLineSkipEvery == 0) {
      skips_->push_back(format::LineSkip{offset, static_cast<uint32_t>(stream_->size())});
      prev_offset_ = prev_line_ = prev_file_ = 0;
    }
    ++count_;
    const uint64_t head = uint64_t{offset - prev_offset_} << 3;
    prev_offset_ = offset;
    return head;
  }

  ByteSink* stream_;
  PodVector<format::LineSkip>* skips_;
  uint32_t count_ = 0;
  uint32_t prev_offset_ = 0, prev_line_ = 0, prev_file_ = 0;
};

}  // namespace sigil::symbolication
