// Fuzzes the multipart/form-data parser: the first input line is the Content-Type header, the rest
// the body. Any input must either be rejected with a Status or give parts that lie inside the body
// and respect the limits; nothing may read out of bounds, hang or allocate without bound. The body
// is also fed to MultipartDelimiters in pieces whose sizes come from the body's own bytes, and the
// parse that takes its part ends from that index must give exactly the same result.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upload/multipart_delimiters.h"
#include "upload/multipart_parser.h"

using namespace sigil::upload;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  if (eol == std::string_view::npos) return 0;
  auto boundary = MultipartBoundary(input.substr(0, eol));
  if (!boundary.ok()) return 0;
  const std::string_view body = input.substr(eol + 1);
  MultipartLimits limits;
  limits.max_parts = 8;
  limits.max_header_bytes = 512;
  limits.max_field_bytes = 1024;
  auto source = MemoryBodySource(body);
  auto parts = ParseMultipart(*source, *boundary, limits);

  MultipartDelimiters delimiters(*boundary);
  for (size_t at = 0, i = 0; at < body.size(); ++i) {
    const size_t piece = 1 + static_cast<unsigned char>(body[i % body.size()]) % 97;
    delimiters.Feed(body.substr(at, piece));
    at += std::min(piece, body.size() - at);
  }
  auto indexed = ParseMultipart(*source, *boundary, limits, &delimiters);
  if (parts.ok() != indexed.ok()) __builtin_trap();
  if (!parts.ok()) {
    if (parts.status().code() != indexed.status().code() ||
        parts.status().message() != indexed.status().message()) {
      __builtin_trap();
    }
    return 0;
  }
  if (*indexed != *parts) __builtin_trap();
  if (parts->size() > limits.max_parts) __builtin_trap();
  for (const MultipartPart& p : *parts) {
    if (p.offset > body.size() || p.length > body.size() - p.offset) __builtin_trap();
    if (p.value.size() > limits.max_field_bytes) __builtin_trap();
    if (!p.filename && p.value != body.substr(p.offset, p.length)) __builtin_trap();
  }
  return 0;
}
