#include "download/serve_plan.h"

#include <charconv>

#include "common/clock.h"

namespace sigil::download {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view StripWeak(std::string_view tag) {
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// '"abc"' -> '"abc-gunzip"'.
std::string DecodedEtag(const std::string& etag) {
  if (etag.size() >= 2 && etag.back() == '"') return etag.substr(0, etag.size() - 1) + "-gunzip\"";
  return etag.empty() ? etag : etag + "-gunzip";
}

TimestampMicros WholeSeconds(TimestampMicros t) { return t - t % 1000000; }

}  // namespace

RangeParse ParseRange(std::string_view header, uint64_t size, ByteRange* out) {
  header = Trim(header);
  if (!header.starts_with("bytes=")) return RangeParse::kNone;
  std::string_view spec = Trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos)
    return RangeParse::kNone;  // multi-range: send it whole
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeParse::kNone;
  std::string_view first = Trim(spec.substr(0, dash));
  std::string_view last = Trim(spec.substr(dash + 1));
  if (first.empty()) {  // suffix range: the last n bytes
    auto n = ParseDecimal(last);
    if (!n) return RangeParse::kNone;
    if (*n == 0 || size == 0) return RangeParse::kUnsatisfiable;
    uint64_t len = std::min(*n, size);
    *out = ByteRange{size - len, len};
    return RangeParse::kSatisfiable;
  }
  auto start = ParseDecimal(first);
  if (!start) return RangeParse::kNone;
  uint64_t end = size == 0 ? 0 : size - 1;
  if (!last.empty()) {
    auto e = ParseDecimal(last);
    if (!e || *e < *start) return RangeParse::kNone;
    end = std::min(*e, end);
  }
  if (*start >= size) return RangeParse::kUnsatisfiable;
  *out = ByteRange{*start, end - *start + 1};
  return RangeParse::kSatisfiable;
}

bool IfNoneMatchMatches(std::string_view header, std::string_view etag) {
  header = Trim(header);
  if (header == "*") return true;
  std::string_view want = StripWeak(etag);
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    if (!tag.empty() && StripWeak(tag) == want) return true;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return false;
}

ServePlan PlanServe(const ObjectMeta& meta, const ServeRequest& req) {
  ServePlan plan;
  const bool gzip = meta.gzip();
  const std::optional<uint64_t> decoded_size = meta.decoded_size();
  const std::string decoded_etag = gzip ? DecodedEtag(meta.etag) : meta.etag;
  const std::string last_modified = FormatHttpDate(meta.last_modified);

  // Range applies to the decoded form when its size is known and If-Range (if any) still holds.
  ByteRange range;
  RangeParse range_state = RangeParse::kNone;
  if (req.range && decoded_size) {
    bool if_range_ok = true;
    if (req.if_range) {
      std::string_view v = Trim(*req.if_range);
      if (v.starts_with("\"")) {
        if_range_ok = v == decoded_etag;  // strong comparison: no W/ tags
      } else {
        auto date = ParseHttpDate(v);
        if_range_ok = date && *date == WholeSeconds(meta.last_modified);
      }
    }
    if (if_range_ok) range_state = ParseRange(*req.range, *decoded_size, &range);
  }

  const bool passthrough = gzip && req.accepts_gzip && range_state == RangeParse::kNone;
  const std::string& etag = passthrough || !gzip ? meta.etag : decoded_etag;

  auto add = [&](std::string name, std::string value) {
    plan.headers.emplace_back(std::move(name), std::move(value));
  };
  if (!etag.empty()) add("ETag", etag);
  if (meta.last_modified > 0) add("Last-Modified", last_modified);
  if (gzip) add("Vary", "Accept-Encoding");

  // Conditionals first.
  bool not_modified = false;
  if (req.if_none_match) {
    not_modified = !etag.empty() && IfNoneMatchMatches(*req.if_none_match, etag);
  } else if (req.if_modified_since && meta.last_modified > 0) {
    auto since = ParseHttpDate(Trim(*req.if_modified_since));
    not_modified = since && WholeSeconds(meta.last_modified) <= *since;
  }
  if (not_modified) {
    plan.status = 304;
    return plan;
  }

  add("Content-Type", meta.content_type.empty() ? "application/octet-stream" : meta.content_type);
  if (decoded_size) add("Accept-Ranges", "bytes");

  if (range_state == RangeParse::kUnsatisfiable) {
    plan.status = 416;
    add("Content-Range", "bytes */" + std::to_string(*decoded_size));
    add("Content-Length", "0");
    return plan;
  }
  if (range_state == RangeParse::kSatisfiable) {
    plan.status = 206;
    add("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                             std::to_string(range.offset + range.length - 1) + "/" +
                             std::to_string(*decoded_size));
    add("Content-Length", std::to_string(range.length));
    plan.body = gzip ? ServePlan::Body::kDecoded : ServePlan::Body::kStored;
    plan.offset = range.offset;
    plan.length = range.length;
    return plan;
  }

  plan.status = 200;
  if (passthrough) {
    add("Content-Encoding", "gzip");
    add("Content-Length", std::to_string(meta.size));
    plan.body = ServePlan::Body::kStored;
    plan.length = meta.size;
  } else if (gzip) {
    if (decoded_size) add("Content-Length", std::to_string(*decoded_size));
    plan.body = ServePlan::Body::kDecoded;
    plan.length = decoded_size;
  } else {
    add("Content-Length", std::to_string(meta.size));
    plan.body = ServePlan::Body::kStored;
    plan.length = meta.size;
  }
  return plan;
}

}  // namespace sigil::download
