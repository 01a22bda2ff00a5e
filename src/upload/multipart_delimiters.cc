#include "upload/multipart_delimiters.h"

#include <algorithm>
#include <cstring>

namespace sigil::upload {

MultipartDelimiters::MultipartDelimiters(std::string_view boundary)
    : delimiter_("\r\n--" + std::string(boundary)) {}

void MultipartDelimiters::Add(uint64_t offset) {
  if (occurrences_.size() >= kMaxOccurrences) {
    overflow_ = true;
    return;
  }
  occurrences_.push_back(offset);
}

void MultipartDelimiters::FindIn(std::string_view hay, uint64_t base, size_t starts_before) {
  for (size_t at = 0; at < starts_before && !overflow_;) {
    const void* hit =
        ::memmem(hay.data() + at, hay.size() - at, delimiter_.data(), delimiter_.size());
    if (hit == nullptr) break;
    const size_t pos = static_cast<size_t>(static_cast<const char*>(hit) - hay.data());
    if (pos >= starts_before) break;
    Add(base + pos);
    at = pos + 1;
  }
}

void MultipartDelimiters::Feed(std::string_view bytes) {
  if (overflow_) {
    // Given up: a body full of delimiters must not cost a search per occurrence to the end.
    fed_ += bytes.size();
    return;
  }
  const size_t keep = delimiter_.size() - 1;
  // Occurrences that begin in the carried tail and end in `bytes`, then those wholly in `bytes`.
  if (!carry_.empty() && !bytes.empty()) {
    FindIn(carry_ + std::string(bytes.substr(0, keep)), fed_ - carry_.size(), carry_.size());
  }
  FindIn(bytes, fed_, bytes.size());
  if (bytes.size() >= keep) {
    carry_.assign(bytes.substr(bytes.size() - keep));
  } else {
    carry_.append(bytes);
    if (carry_.size() > keep) carry_.erase(0, carry_.size() - keep);
  }
  fed_ += bytes.size();
}

}  // namespace sigil::upload
