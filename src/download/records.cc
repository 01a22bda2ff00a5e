#include "download/records.h"

#include <charconv>
#include <vector>

#include "db/database.h"
#include "storage/object_store.h"

namespace sigil::download {
namespace {

// Encoding: a version byte, then fields as "<decimal length>:<bytes>".
constexpr char kVersion = '1';

void Put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

class FieldReader {
 public:
  explicit FieldReader(std::string_view s) : s_(s) {}
  std::optional<std::string_view> Next() {
    size_t colon = s_.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 20) return std::nullopt;
    size_t len = 0;
    auto [p, ec] = std::from_chars(s_.data(), s_.data() + colon, len);
    if (ec != std::errc() || p != s_.data() + colon || len > s_.size() - colon - 1)
      return std::nullopt;
    std::string_view field = s_.substr(colon + 1, len);
    s_.remove_prefix(colon + 1 + len);
    return field;
  }
  std::optional<uint64_t> NextUint() {
    auto f = Next();
    if (!f) return std::nullopt;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(f->data(), f->data() + f->size(), v);
    if (ec != std::errc() || p != f->data() + f->size()) return std::nullopt;
    return v;
  }
  bool done() const { return s_.empty(); }

 private:
  std::string_view s_;
};

std::optional<uint64_t> ParseUint(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ObjectMeta ObjectMeta::FromInfo(const storage::ObjectInfo& info) {
  ObjectMeta m;
  m.size = info.size;
  m.content_type = info.content_type;
  m.content_encoding = info.content_encoding;
  if (auto it = info.metadata.find("original_size"); it != info.metadata.end())
    m.original_size = ParseUint(it->second);
  m.last_modified = info.last_modified;
  m.etag = info.etag;
  return m;
}

std::string ObjectMetaCodec::Encode(const ObjectMeta& m) {
  std::string out(1, kVersion);
  Put(out, std::to_string(m.size));
  Put(out, m.content_type);
  Put(out, m.content_encoding);
  Put(out, m.original_size ? std::to_string(*m.original_size) : std::string());
  Put(out, std::to_string(m.last_modified));
  Put(out, m.etag);
  return out;
}

std::optional<ObjectMeta> ObjectMetaCodec::Decode(std::string_view s) {
  if (s.empty() || s[0] != kVersion) return std::nullopt;
  FieldReader r(s.substr(1));
  ObjectMeta m;
  auto size = r.NextUint();
  auto type = r.Next();
  auto encoding = r.Next();
  auto original = r.Next();
  auto modified = r.NextUint();
  auto etag = r.Next();
  if (!size || !type || !encoding || !original || !modified || !etag || !r.done())
    return std::nullopt;
  m.size = *size;
  m.content_type = *type;
  m.content_encoding = *encoding;
  if (!original->empty()) {
    m.original_size = ParseUint(*original);
    if (!m.original_size) return std::nullopt;
  }
  m.last_modified = static_cast<TimestampMicros>(*modified);
  m.etag = *etag;
  return m;
}

SymbolRecord SymbolRecord::FromFileUpload(const db::FileUpload& f) {
  return SymbolRecord{f.debug_filename, f.debug_id, f.code_file, f.code_id, f.generator, f.key};
}

std::string SymbolRecordCodec::Encode(const SymbolRecord& r) {
  std::string out(1, kVersion);
  for (const std::string* f :
       {&r.debug_filename, &r.debug_id, &r.code_file, &r.code_id, &r.generator, &r.key}) {
    Put(out, *f);
  }
  return out;
}

std::optional<SymbolRecord> SymbolRecordCodec::Decode(std::string_view s) {
  if (s.empty() || s[0] != kVersion) return std::nullopt;
  FieldReader reader(s.substr(1));
  SymbolRecord r;
  for (std::string* f :
       {&r.debug_filename, &r.debug_id, &r.code_file, &r.code_id, &r.generator, &r.key}) {
    auto v = reader.Next();
    if (!v) return std::nullopt;
    *f = std::string(*v);
  }
  if (!reader.done()) return std::nullopt;
  return r;
}

}  // namespace sigil::download
