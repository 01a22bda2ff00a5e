#include "storage/s3/s3_xml.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace sigil::storage::s3 {
namespace {

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Status Malformed(std::string_view what) {
  return UpstreamError("S3 sent a malformed XML response: " + std::string(what));
}

}  // namespace

std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string empty = "<" + std::string(tag) + "/>";
  const std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while (pos < xml.size()) {
    size_t a = xml.find(open, pos);
    size_t b = xml.find(empty, pos);
    if (a == std::string_view::npos && b == std::string_view::npos) break;
    if (b < a) {
      out.emplace_back();
      pos = b + empty.size();
      continue;
    }
    size_t start = a + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string_view::npos) break;  // unterminated: ignore the rest
    out.push_back(xml.substr(start, end - start));
    pos = end + close.size();
  }
  return out;
}

std::optional<std::string> XmlDecode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      out.push_back(raw[i]);
      continue;
    }
    size_t semi = raw.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return std::nullopt;
    std::string_view ent = raw.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out.push_back('&');
    } else if (ent == "lt") {
      out.push_back('<');
    } else if (ent == "gt") {
      out.push_back('>');
    } else if (ent == "quot") {
      out.push_back('"');
    } else if (ent == "apos") {
      out.push_back('\'');
    } else if (ent.size() >= 2 && ent[0] == '#') {
      const bool hex = ent[1] == 'x' || ent[1] == 'X';
      std::string_view digits = ent.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() || cp == 0 ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return std::nullopt;
      }
      AppendUtf8(cp, out);
    } else {
      return std::nullopt;
    }
    i = semi;
  }
  return out;
}

std::optional<std::string> XmlText(std::string_view xml, std::string_view tag) {
  auto all = XmlElements(xml, tag);
  if (all.empty()) return std::nullopt;
  return XmlDecode(all.front());
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::optional<TimestampMicros> ParseIso8601(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  if (s.size() < 20 || s.back() != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t len, int& out) {
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, out);
    return ec == std::errc() && p == s.data() + pos + len;
  };
  std::tm tm{};
  int year = 0, mon = 0;
  if (!num(0, 4, year) || !num(5, 2, mon) || !num(8, 2, tm.tm_mday) || !num(11, 2, tm.tm_hour) ||
      !num(14, 2, tm.tm_min) || !num(17, 2, tm.tm_sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  int64_t micros = 0;
  std::string_view rest = s.substr(19, s.size() - 20);
  if (!rest.empty()) {
    if (rest[0] != '.' || rest.size() < 2) return std::nullopt;
    int64_t scale = 100000;
    for (size_t i = 1; i < rest.size(); ++i) {
      if (rest[i] < '0' || rest[i] > '9') return std::nullopt;
      micros += (rest[i] - '0') * scale;
      scale /= 10;
    }
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  return static_cast<TimestampMicros>(timegm(&tm)) * 1000000 + micros;
}

S3ErrorBody ParseErrorBody(std::string_view xml) {
  S3ErrorBody e;
  auto errors = XmlElements(xml, "Error");
  std::string_view scope = errors.empty() ? xml : errors.front();
  e.code = XmlText(scope, "Code").value_or("");
  e.message = XmlText(scope, "Message").value_or("");
  return e;
}

bool IsErrorDocument(std::string_view xml) {
  size_t start = xml.find('<');
  while (start != std::string_view::npos && start + 1 < xml.size() &&
         (xml[start + 1] == '?' || xml[start + 1] == '!')) {
    start = xml.find('<', start + 1);  // skip <?xml ...?> and comments/doctype
  }
  return start != std::string_view::npos && xml.substr(start, 7) == "<Error>";
}

Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos) {
    return Malformed("expected a ListBucketResult");
  }
  ListObjectsPage page;
  for (std::string_view entry : XmlElements(xml, "Contents")) {
    ListedObject o;
    auto key = XmlText(entry, "Key");
    if (!key || key->empty()) return Malformed("a Contents entry without Key");
    o.key = std::move(*key);
    std::string size = XmlText(entry, "Size").value_or("");
    auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
    if (size.empty() || ec != std::errc() || p != size.data() + size.size()) {
      return Malformed("bad Size for key '" + o.key + "'");
    }
    if (auto lm = XmlText(entry, "LastModified")) {
      auto t = ParseIso8601(*lm);
      if (!t) return Malformed("bad LastModified '" + *lm + "' for key '" + o.key + "'");
      o.last_modified = *t;
    }
    o.etag = XmlText(entry, "ETag").value_or("");
    page.objects.push_back(std::move(o));
  }
  // IsTruncated/NextContinuationToken are top-level; Contents blocks contain neither.
  page.truncated = XmlText(xml, "IsTruncated").value_or("false") == "true";
  if (page.truncated) {
    page.next_continuation_token = XmlText(xml, "NextContinuationToken").value_or("");
    if (page.next_continuation_token.empty()) {
      return Malformed("IsTruncated without NextContinuationToken");
    }
  }
  return page;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view xml) {
  auto id = XmlText(xml, "UploadId");
  if (!id || id->empty()) return Malformed("InitiateMultipartUploadResult without UploadId");
  return *id;
}

}  // namespace sigil::storage::s3
