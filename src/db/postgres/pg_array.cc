#include "db/postgres/pg_array.h"

namespace sigil::db::postgres {

std::string EncodeTextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string EncodeInt64Array(const std::vector<int64_t>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(items[i]);
  }
  out += '}';
  return out;
}

Result<std::vector<std::string>> DecodeTextArray(std::string_view s) {
  auto corrupt = [&](const char* why) {
    return Internal(std::string("unexpected PostgreSQL array literal (") + why +
                    "): " + std::string(s.substr(0, 200)));
  };
  std::vector<std::string> items;
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return corrupt("not {...}");
  size_t i = 1;
  const size_t end = s.size() - 1;
  if (i == end) return items;
  while (true) {
    std::string item;
    if (s[i] == '"') {
      ++i;
      while (true) {
        if (i >= end) return corrupt("unterminated quote");
        char c = s[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= end) return corrupt("dangling backslash");
          c = s[i++];
        }
        item += c;
      }
    } else {
      size_t start = i;
      while (i < end && s[i] != ',') {
        if (s[i] == '{' || s[i] == '"') return corrupt("nested or misplaced quote");
        ++i;
      }
      item = std::string(s.substr(start, i - start));
      if (item == "NULL") return corrupt("NULL element");
    }
    items.push_back(std::move(item));
    if (i == end) return items;
    if (s[i] != ',') return corrupt("junk after an element");
    ++i;
  }
}

}  // namespace sigil::db::postgres
