#include "http/message.h"

#include <algorithm>
#include <cstdlib>

namespace sigil::http {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a qvalue ("1", "0.5", "0.000"); malformed values count as 1 (lenient, like most servers).
double ParseQ(std::string_view q) {
  q = Trim(q);
  if (q.empty()) return 1.0;
  std::string tmp(q);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (end == tmp.c_str()) return 1.0;
  return v;
}

// Length of the valid UTF-8 sequence at the start of `s` (which starts with a byte >= 0x80), or 0
// when it is not one (stray continuation byte, overlong form, surrogate, > U+10FFFF, truncated).
size_t Utf8SequenceLength(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

void Headers::Set(std::string_view name, std::string value) {
  size_t out = 0;
  bool replaced = false;
  for (size_t i = 0; i < items_.size(); ++i) {
    if (EqualsIgnoreCase(items_[i].first, name)) {
      if (replaced) continue;  // drop later duplicates
      items_[i].second = std::move(value);
      replaced = true;
    }
    if (out != i) items_[out] = std::move(items_[i]);
    ++out;
  }
  items_.resize(out);
  if (!replaced) items_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [n, v] : items_) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

bool Principal::Has(std::string_view permission) const {
  for (const auto& p : permissions) {
    if (p == permission) return true;
  }
  return false;
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::optional<std::string> key = PercentDecode(raw_key, /*plus_as_space=*/true);
    if (!key || *key != name) continue;
    if (eq == std::string_view::npos) return std::string();
    std::optional<std::string> value = PercentDecode(pair.substr(eq + 1), /*plus_as_space=*/true);
    if (!value) continue;  // malformed escape: treat this occurrence as absent
    return value;
  }
  return std::nullopt;
}

bool Request::AcceptsGzip() const {
  // Every Accept-Encoding header counts (a client may send several).
  bool gzip_q_set = false;
  double gzip_q = 0;
  double star_q = -1;
  for (const auto& [n, v] : headers.items()) {
    if (!EqualsIgnoreCase(n, "accept-encoding")) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      size_t semi = item.find(';');
      std::string_view coding = Trim(item.substr(0, semi));
      double q = 1.0;
      if (semi != std::string_view::npos) {
        std::string_view params = item.substr(semi + 1);
        while (!params.empty()) {
          size_t next = params.find(';');
          std::string_view param = Trim(params.substr(0, next));
          params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
          size_t eq = param.find('=');
          if (eq != std::string_view::npos && EqualsIgnoreCase(Trim(param.substr(0, eq)), "q")) {
            q = ParseQ(param.substr(eq + 1));
          }
        }
      }
      if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
        gzip_q = gzip_q_set ? std::max(gzip_q, q) : q;
        gzip_q_set = true;
      } else if (coding == "*") {
        star_q = std::max(star_q, q);
      }
    }
  }
  if (gzip_q_set) return gzip_q > 0;
  return star_q > 0;
}

Response Response::Json(int status, std::string json_body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(json_body);
  return r;
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", std::move(content_type));
  r.body = std::move(text);
  return r;
}

Response Response::Error(int status, std::string_view message) {
  std::string body = "{\"error\": ";
  body += JsonQuote(message);
  body += '}';
  return Json(status, std::move(body));
}

std::string JsonQuote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Valid UTF-8 passes through; each invalid byte becomes U+FFFD so the output is always valid
      // JSON.
      size_t len = Utf8SequenceLength(s.substr(i));
      if (len == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(s.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
  return out;
}

std::optional<std::string> PercentDecode(std::string_view s, bool plus_as_space) {
  if (s.find('%') == std::string_view::npos &&
      (!plus_as_space || s.find('+') == std::string_view::npos)) {
    return std::string(s);  // the common case: nothing to decode
  }
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace sigil::http
