// ServePlan: how to answer a GET/HEAD of a stored object that sigil serves itself (filesystem
// storage): which status, which headers, and which bytes. Pure HTTP semantics over plain types (no
// http/ types), so every rule is unit-tested without sockets.
//
// Representations. A gzip object (content_encoding "gzip") is sent as stored, with
// `Content-Encoding: gzip`, when the client accepts gzip; otherwise it is decoded on the fly. Its
// ETag is the stored one for the gzip form and the stored one with a "-gunzip" suffix for the
// decoded form (strong validators must differ between representations), and responses carry `Vary:
// Accept-Encoding`. Other objects have one representation: the stored bytes.
//
// Ranges (single `bytes=` ranges; several ranges or a malformed header → the whole object, as RFC
// 9110 allows) always address the DECODED bytes: a Range request of a gzip object is answered from
// the decoded form even when the client accepts gzip, because byte offsets into a gzip stream are
// useless to a symbol consumer. A gzip object without original_size metadata has no known decoded
// size, so its decoded form is streamed whole (Range ignored). Unsatisfiable → 416 with
// `Content-Range: bytes */N`. `If-Range` (ETag, strong comparison, or exact Last-Modified date)
// guards the Range.
//
// Conditionals (RFC 9110 §13.2.2 order): If-None-Match (weak comparison, "*" matches) → 304; else
// If-Modified-Since (second precision) → 304.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "download/records.h"

namespace sigil::download {

struct ServeRequest {
  bool accepts_gzip = false;
  std::optional<std::string_view> if_none_match;
  std::optional<std::string_view> if_modified_since;
  std::optional<std::string_view> range;
  std::optional<std::string_view> if_range;
};

struct ServePlan {
  enum class Body {
    kNone,     // 304 / 416
    kStored,   // stored bytes [offset, offset + length)
    kDecoded,  // decoded bytes [offset, offset + length), or from offset to the end when length is
               // unset
  };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // includes Content-Length when known
  Body body = Body::kNone;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

ServePlan PlanServe(const ObjectMeta& meta, const ServeRequest& request);

// A single byte range resolved against a representation of `size` bytes.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};
enum class RangeParse { kNone, kSatisfiable, kUnsatisfiable };
// Parses "bytes=a-b", "bytes=a-", "bytes=-n" (one range). kNone for absent, malformed or
// multi-range.
RangeParse ParseRange(std::string_view header, uint64_t size, ByteRange* out);

// True if an If-None-Match header value lists `etag` under weak comparison, or is "*".
bool IfNoneMatchMatches(std::string_view header, std::string_view etag);

}  // namespace sigil::download
