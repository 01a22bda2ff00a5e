// Fuzzes the multipart/form-data parser: the first input line is the Content-Type header, the rest
// the body. Any input must either be rejected with a Status or give parts that lie inside the body
// and respect the limits; nothing may read out of bounds, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

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
  if (!parts.ok()) return 0;
  if (parts->size() > limits.max_parts) __builtin_trap();
  for (const MultipartPart& p : *parts) {
    if (p.offset > body.size() || p.length > body.size() - p.offset) __builtin_trap();
    if (p.value.size() > limits.max_field_bytes) __builtin_trap();
    if (!p.filename && p.value != body.substr(p.offset, p.length)) __builtin_trap();
  }
  return 0;
}
