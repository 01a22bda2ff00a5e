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

void MultipartDelimiters::Feed(std::string_view bytes) {
  if (overflow_) {
    // Given up: a body full of delimiters must not cost a search per occurrence to the end.
    fed_ += bytes.size();
    return;
  }
  const size_t keep = delimiter_.size() - 1;
  // Occurrences that begin in the carried tail and end in `bytes` (those wholly inside `bytes`
  // are found below).
  if (!carry_.empty() && !bytes.empty()) {
    const std::string joint = carry_ + std::string(bytes.substr(0, keep));
    const uint64_t joint_start = fed_ - carry_.size();
    for (size_t at = 0; at < carry_.size();) {
      const void* hit =
          ::memmem(joint.data() + at, joint.size() - at, delimiter_.data(), delimiter_.size());
      if (hit == nullptr) break;
      const size_t pos = static_cast<size_t>(static_cast<const char*>(hit) - joint.data());
      if (pos >= carry_.size()) break;
      Add(joint_start + pos);
      if (overflow_) break;
      at = pos + 1;
    }
  }
  for (size_t at = 0; at < bytes.size();) {
    const void* hit =
        ::memmem(bytes.data() + at, bytes.size() - at, delimiter_.data(), delimiter_.size());
    if (hit == nullptr) break;
    const size_t pos = static_cast<size_t>(static_cast<const char*>(hit) - bytes.data());
    Add(fed_ + pos);
    if (overflow_) break;
    at = pos + 1;
  }
  if (bytes.size() >= keep) {
    carry_.assign(bytes.substr(bytes.size() - keep));
  } else {
    carry_.append(bytes);
    if (carry_.size() > keep) carry_.erase(0, carry_.size() - keep);
  }
  fed_ += bytes.size();
}

}  // namespace sigil::upload
