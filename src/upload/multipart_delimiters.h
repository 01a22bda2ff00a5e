// MultipartDelimiters: where a multipart body's delimiter ("\r\n--" + boundary) occurs, learned
// while the body streams past (e.g. as it is spooled), so ParseMultipart can jump from part to
// part instead of reading the whole body back to search it.
//
// Thread-compatible: one Feed at a time, in body order; const methods are safe once feeding is
// done.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sigil::upload {

class MultipartDelimiters {
 public:
  // At most this many occurrences are recorded; past it the index gives up (complete() is false)
  // and the parser searches the body itself. A form has at most MultipartLimits::max_parts + 1
  // delimiters; more can only come from delimiters inside content, which the parser rejects.
  static constexpr size_t kMaxOccurrences = 4096;

  explicit MultipartDelimiters(std::string_view boundary);

  // The next bytes of the body.
  void Feed(std::string_view bytes);

  // Offsets of every occurrence of the delimiter in the bytes fed so far, ascending (overlapping
  // ones too).
  const std::vector<uint64_t>& occurrences() const { return occurrences_; }
  // True when exactly `body_size` bytes were fed and no occurrence was dropped.
  bool complete(uint64_t body_size) const { return !overflow_ && fed_ == body_size; }
  // "\r\n--" + boundary.
  const std::string& delimiter() const { return delimiter_; }

 private:
  void Add(uint64_t offset);
  // Records the occurrences in `hay` (which starts at body offset `base`) that begin before
  // `starts_before`.
  void FindIn(std::string_view hay, uint64_t base, size_t starts_before);

  std::string delimiter_;
  std::string carry_;  // the last delimiter_.size() - 1 bytes fed (fewer at the start)
  uint64_t fed_ = 0;
  std::vector<uint64_t> occurrences_;
  bool overflow_ = false;
};

}  // namespace sigil::upload
