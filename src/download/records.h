// The values the download service memoizes, with their cache codecs (cache/memoize.h Codec
// concept). Plain data; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace sigil::storage {
struct ObjectInfo;
}
namespace sigil::db {
struct FileUpload;
}

namespace sigil::download {

// What a GET/HEAD needs to know about a stored object (the memoized result of ObjectStore::Head).
struct ObjectMeta {
  uint64_t size = 0;                      // stored bytes
  std::string content_type;               // "" if unknown
  std::string content_encoding;           // "gzip" or ""
  std::optional<uint64_t> original_size;  // decoded size of gzip objects (metadata original_size)
  TimestampMicros last_modified = 0;
  std::string etag;  // quoted strong validator of the stored bytes

  bool gzip() const { return content_encoding == "gzip"; }
  // Size of the decoded form, when known.
  std::optional<uint64_t> decoded_size() const {
    return gzip() ? original_size : std::optional<uint64_t>(size);
  }

  static ObjectMeta FromInfo(const storage::ObjectInfo& info);
  bool operator==(const ObjectMeta&) const = default;
};

struct ObjectMetaCodec {
  static std::string Encode(const ObjectMeta& m);
  static std::optional<ObjectMeta> Decode(std::string_view s);
};

// A recorded .sym file found by (debug_filename, debug_id) or (code_file, code_id).
struct SymbolRecord {
  std::string debug_filename;
  std::string debug_id;
  std::string code_file;
  std::string code_id;
  std::string generator;
  std::string key;  // storage key ("try/..." for try symbols)

  static SymbolRecord FromFileUpload(const db::FileUpload& f);
  bool is_try() const { return key.starts_with("try/"); }
  // The URL path of the symbol file: "/" + key ("/try/<...>" for try symbols).
  std::string UrlPath() const { return "/" + key; }
  bool operator==(const SymbolRecord&) const = default;
};

struct SymbolRecordCodec {
  static std::string Encode(const SymbolRecord& r);
  static std::optional<SymbolRecord> Decode(std::string_view s);
};

}  // namespace sigil::download
