#include "storage/s3/s3_metadata.h"

#include <charconv>

namespace sigil::storage::s3 {
namespace {

constexpr std::string_view kMetaPrefix = "x-amz-meta-";

bool PrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool ValidMetadataName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

uint64_t ParseU64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

Result<HeaderList> ObjectHeaders(const PutOptions& options) {
  HeaderList h;
  if (!PrintableAscii(options.content_type)) {
    return InvalidArgument("content type must be printable ASCII");
  }
  if (!PrintableAscii(options.content_encoding)) {
    return InvalidArgument("content encoding must be printable ASCII");
  }
  if (!options.content_type.empty()) h.emplace_back("Content-Type", options.content_type);
  if (!options.content_encoding.empty())
    h.emplace_back("Content-Encoding", options.content_encoding);
  size_t total = 0;
  for (const auto& [name, value] : options.metadata) {
    if (!ValidMetadataName(name)) {
      return InvalidArgument("metadata name '" + name.substr(0, 100) +
                             "' must be non-empty and use only a-z, 0-9, '_' and '-'");
    }
    if (!PrintableAscii(value)) {
      return InvalidArgument("metadata '" + name + "' value must be printable ASCII");
    }
    total += name.size() + value.size();
    h.emplace_back(std::string(kMetaPrefix) + name, value);
  }
  if (total > kMaxUserMetadataBytes) {
    return InvalidArgument("metadata is " + std::to_string(total) +
                           " bytes; S3 allows at most 2048 bytes of names and values");
  }
  return h;
}

ObjectInfo ObjectInfoFromResponse(const HttpResponse& r) {
  ObjectInfo info;
  for (const auto& [name, value] : r.headers) {
    if (name == "content-length") {
      info.size = ParseU64(value);
    } else if (name == "content-type") {
      info.content_type = value;
    } else if (name == "content-encoding") {
      info.content_encoding = value;
    } else if (name == "etag") {
      info.etag = value;
    } else if (name == "last-modified") {
      info.last_modified = ParseHttpDate(value).value_or(0);
    } else if (name.size() > kMetaPrefix.size() &&
               name.compare(0, kMetaPrefix.size(), kMetaPrefix) == 0) {
      info.metadata[name.substr(kMetaPrefix.size())] = value;
    }
  }
  if (const std::string* range = r.FindHeader("content-range")) {
    // "bytes 100-199/1234": the object's size is the total.
    size_t slash = range->rfind('/');
    if (slash != std::string::npos && (*range)[slash + 1] != '*') {
      info.size = ParseU64(std::string_view(*range).substr(slash + 1));
    }
  }
  return info;
}

}  // namespace sigil::storage::s3
