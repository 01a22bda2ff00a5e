// Streaming multipart/form-data parser (RFC 7578) over a request body that may be a 2 GB spooled
// file. It reads the body once, sequentially, in fixed-size chunks, and returns where each part's
// content is (an offset range of the body) instead of copying it: the archive part is then read in
// place. Memory use is bounded by the chunk size plus the header and field limits, whatever the
// body size.
//
// Thread-compatible: parsing is a pure function of the body; BodySource reads are const and safe to
// run concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "upload/multipart_delimiters.h"

namespace sigil::upload {

// Random-access, read-only view of a request body.
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual uint64_t size() const = 0;
  // Reads up to `size` bytes at `offset` (fewer only at the end). Thread-safe.
  virtual Result<size_t> ReadAt(uint64_t offset, char* buf, size_t size) const = 0;
};

// A body held in memory; `data` must outlive the source.
std::unique_ptr<BodySource> MemoryBodySource(std::string_view data);
// A body spooled to a file (opened now; kInternal if it cannot be).
Result<std::unique_ptr<BodySource>> FileBodySource(const std::string& path);

struct MultipartPart {
  std::string name;                     // Content-Disposition name
  std::optional<std::string> filename;  // Content-Disposition filename, when present
  std::string content_type;             // "" when absent
  uint64_t offset = 0;                  // content range within the body
  uint64_t length = 0;
  std::string value;  // the content of parts without a filename (form fields)

  bool operator==(const MultipartPart&) const = default;
};

struct MultipartLimits {
  size_t max_parts = 16;
  size_t max_header_bytes = 16 * 1024;  // headers of one part
  size_t max_field_bytes = 64 * 1024;   // content of one part without a filename
};

// The boundary parameter of a multipart/form-data Content-Type; kInvalidArgument if it is not one.
Result<std::string> MultipartBoundary(std::string_view content_type);

// Parses the whole body. Errors are kInvalidArgument naming what is malformed, or kTooLarge for
// limits. With `delimiters` (fed the whole body, for this boundary) the parser takes the part ends
// from it instead of searching the body, and reads only the part headers and fields; the result
// is the same either way. An index that is not complete for this body is ignored.
Result<std::vector<MultipartPart>> ParseMultipart(const BodySource& body, std::string_view boundary,
                                                  const MultipartLimits& limits = {},
                                                  const MultipartDelimiters* delimiters = nullptr);

}  // namespace sigil::upload
