#include "symbolication/sym_parser.h"

#include <cstring>
#include <limits>
#include <string>

#include "symbolication/sym_parser_impl.h"

namespace sigil::symbolication {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kLongMin = std::numeric_limits<int64_t>::min();

inline bool IsCSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

inline int DigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// Sign and "0x" prefix handling shared by StrToULL/StrToL. Returns the index of the first digit.
size_t SkipPrefix(std::string_view s, int base, bool* negative) {
  size_t i = 0;
  while (i < s.size() && IsCSpace(s[i])) ++i;
  *negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    *negative = s[i] == '-';
    ++i;
  }
  if (base == 16 && i + 2 < s.size() && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') &&
      DigitValue(s[i + 2]) < 16) {
    i += 2;
  }
  return i;
}

}  // namespace

std::string_view ParseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kNulInData:
      return "nul_in_data";
    case ParseError::kBadFile:
      return "bad_file";
    case ParseError::kBadStack:
      return "bad_stack";
    case ParseError::kBadFunc:
      return "bad_func";
    case ParseError::kBadPublic:
      return "bad_public";
    case ParseError::kBadInline:
      return "bad_inline";
    case ParseError::kBadInlineOrigin:
      return "bad_inline_origin";
    case ParseError::kInlineWithoutFunc:
      return "inline_without_func";
    case ParseError::kLineWithoutFunc:
      return "line_without_func";
    case ParseError::kBadLine:
      return "bad_line";
  }
  return "unknown";
}

NumberParse StrToULL(std::string_view s, int base) {
  bool negative;
  size_t i = SkipPrefix(s, base, &negative);
  size_t start = i;
  uint64_t value = 0;
  bool overflow = false;
  const uint64_t b = static_cast<uint64_t>(base);
  for (; i < s.size(); ++i) {
    uint64_t d = static_cast<uint64_t>(DigitValue(s[i]));
    if (d >= b) break;
    if (value > (kU64Max - d) / b) {
      overflow = true;
    } else {
      value = value * b + d;
    }
  }
  if (i == start) return {0, 0};
  if (overflow) return {kU64Max, i};
  return {negative ? 0 - value : value, i};
}

SignedParse StrToL(std::string_view s, int base) {
  bool negative;
  size_t i = SkipPrefix(s, base, &negative);
  size_t start = i;
  const uint64_t limit = negative ? uint64_t{1} << 63 : static_cast<uint64_t>(kLongMax);
  uint64_t value = 0;
  bool overflow = false;
  const uint64_t b = static_cast<uint64_t>(base);
  for (; i < s.size(); ++i) {
    uint64_t d = static_cast<uint64_t>(DigitValue(s[i]));
    if (d >= b) break;
    if (value > (limit - d) / b) {
      overflow = true;
    } else {
      value = value * b + d;
    }
  }
  if (i == start) return {0, 0};
  if (overflow) return {negative ? kLongMin : kLongMax, i};
  if (negative) return {value == (uint64_t{1} << 63) ? kLongMin : -static_cast<int64_t>(value), i};
  return {static_cast<int64_t>(value), i};
}

bool Tokenize(std::string_view line, size_t max_tokens, std::vector<std::string_view>* tokens) {
  tokens->clear();
  internal::StrTok t(line);
  size_t remaining = max_tokens;
  std::string_view token;
  bool have = t.Next(&token);
  while (have && --remaining > 0) {
    tokens->push_back(token);
    if (remaining > 1) have = t.Next(&token);
  }
  if (remaining == 0 && t.Rest(&token)) tokens->push_back(token);
  return tokens->size() == max_tokens;
}

ParseStats ParseSym(std::string_view data, SymVisitor& visitor, const ParseOptions& options) {
  return internal::ParseSymWith(data, visitor, options);
}

}  // namespace sigil::symbolication
