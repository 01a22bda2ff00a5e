#include "symbolication/sym_parser.h"

#include <algorithm>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <limits>
#include <string>

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

// IsValidAfterNumber(): the number must end the token or be followed by whitespace (" \r\n").
inline bool ValidAfter(std::string_view token, size_t consumed) {
  return consumed == token.size() || token[consumed] == ' ';
}

bool ParseHex64(std::string_view token, uint64_t* out) {
  NumberParse n = StrToULL(token, 16);
  *out = n.value;
  return ValidAfter(token, n.consumed) && n.value != kU64Max;
}

// strtol(token, 10|16) with Breakpad's "valid after" and "!= LONG_MAX" checks.
bool ParseLong(std::string_view token, int base, int64_t* out) {
  SignedParse n = StrToL(token, base);
  *out = n.value;
  return ValidAfter(token, n.consumed) && n.value != kLongMax;
}

// strtok_r emulation over one line (which holds no CR/LF, so the separator is ' ').
class StrTok {
 public:
  explicit StrTok(std::string_view s) : s_(s) {}
  bool Next(std::string_view* token) {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
    if (pos_ >= s_.size()) return false;
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ') ++pos_;
    *token = s_.substr(start, pos_ - start);
    if (pos_ < s_.size()) ++pos_;  // strtok overwrites the delimiter and resumes after it
    return true;
  }
  // strtok_r(NULL, "\r\n"): everything after the last delimiter, or nothing.
  bool Rest(std::string_view* token) const {
    if (pos_ >= s_.size()) return false;
    *token = s_.substr(pos_);
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

// Plain-digit scanners for the fast paths: no sign, no "0x", no leading space. They accept only
// what strtoull/strtol would read the same way and report failure otherwise (the caller falls
// back).
inline bool PlainHex(const char*& p, const char* e, size_t max_digits, uint64_t* out) {
  const char* start = p;
  uint64_t x = 0;
  while (p < e) {
    unsigned c = static_cast<unsigned char>(*p);
    unsigned d;
    if (c - '0' < 10) {
      d = c - '0';
    } else if ((c | 0x20) - 'a' < 6) {
      d = (c | 0x20) - 'a' + 10;
    } else {
      break;
    }
    x = (x << 4) | d;
    ++p;
  }
  size_t n = static_cast<size_t>(p - start);
  if (n == 0 || n > max_digits || x == kU64Max) return false;
  *out = x;
  return true;
}

inline bool PlainDec(const char*& p, const char* e, uint32_t* out) {
  const char* start = p;
  uint32_t x = 0;
  while (p < e && static_cast<unsigned>(*p - '0') < 10) {
    x = x * 10 + static_cast<uint32_t>(*p - '0');
    ++p;
  }
  size_t n = static_cast<size_t>(p - start);
  if (n == 0 || n > 9) return false;
  *out = x;
  return true;
}

// The same scanners without a loop over the digits (whose data-dependent exit is mispredicted
// about once per number): SSE2 classifies 16 bytes at once for hex, SWAR 8 bytes for decimal.
// They read a whole block at p, so they need that many readable bytes below `limit` (the end of
// the text; `e` is the end of the field's line) and fall back to the loops otherwise, and when
// the block is all digits (the number may go on).
inline bool PlainHexFast(const char*& p, const char* e, const char* limit, size_t max_digits,
                         uint64_t* out) {
#if defined(__SSE2__) && defined(__x86_64__)
  if (limit - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    const __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                        _mm_cmplt_epi8(lower, _mm_set1_epi8('f' + 1)));
    const unsigned hex = static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(digit, alpha)));
    size_t n = static_cast<size_t>(__builtin_ctz(~hex));  // leading hex digits, <= 16
    if (n < 16) {
      n = std::min(n, static_cast<size_t>(e - p));
      if (n == 0 || n > max_digits) return false;
      // Nibble values (garbage past the digits is masked to 4 bits and shifted out below).
      const __m128i nib = _mm_and_si128(
          _mm_or_si128(_mm_and_si128(digit, _mm_sub_epi8(v, _mm_set1_epi8('0'))),
                       _mm_andnot_si128(digit, _mm_sub_epi8(lower, _mm_set1_epi8('a' - 10)))),
          _mm_set1_epi8(0x0F));
      // Pairs of nibbles into bytes (first digit high), then 8 bytes, most significant first.
      const __m128i bytes = _mm_or_si128(
          _mm_slli_epi16(_mm_and_si128(nib, _mm_set1_epi16(0xFF)), 4), _mm_srli_epi16(nib, 8));
      const uint64_t all = __builtin_bswap64(
          static_cast<uint64_t>(_mm_cvtsi128_si64(_mm_packus_epi16(bytes, bytes))));
      const uint64_t x = all >> (4 * (16 - n));
      if (x == kU64Max) return false;
      *out = x;
      p += n;
      return true;
    }
  }
#endif
  return PlainHex(p, e, max_digits, out);
}

inline bool PlainDecFast(const char*& p, const char* e, const char* limit, uint32_t* out) {
  if (limit - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    // Bit 7 of each byte that is not '0'..'9'. Exact up to the first such byte, which is all
    // that is used: bytes before it are digits, so no carry or borrow reaches it.
    const uint64_t non_digit =
        ((w + 0x4646464646464646ull) | (w - 0x3030303030303030ull)) & 0x8080808080808080ull;
    if (non_digit != 0) {
      size_t n = static_cast<size_t>(__builtin_ctzll(non_digit)) / 8;
      n = std::min(n, static_cast<size_t>(e - p));
      if (n == 0) return false;
      // Right-align the n digits (leading zero digits), then the 8-digit SWAR conversion.
      uint64_t d = (w - 0x3030303030303030ull) << (8 * (8 - n));
      d = (d * 10) + (d >> 8);
      d = (((d & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
           (((d >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
          32;
      *out = static_cast<uint32_t>(d);
      p += n;
      return true;
    }
  }
  return PlainDec(p, e, out);
}

// Fast path for the common line record "<hex> <hex> <dec> <dec>" with plain digits. Returns false
// when the line needs the general (strtoull-faithful) path.
inline bool FastLineRecord(std::string_view l, const char* limit, LineRecord* r) {
  const char* p = l.data();
  const char* e = p + l.size();
  uint32_t line, file;
  if (!PlainHexFast(p, e, limit, 16, &r->address) || p == e || *p++ != ' ') return false;
  if (!PlainHexFast(p, e, limit, 16, &r->size) || p == e || *p++ != ' ') return false;
  if (!PlainDecFast(p, e, limit, &line) || p == e || *p++ != ' ') return false;
  if (!PlainDecFast(p, e, limit, &file) || p != e) return false;
  r->line = static_cast<int32_t>(line);
  r->file_id = static_cast<int32_t>(file);
  return true;
}

// Next '\n' in [p, e) or e; inline SSE2 beats a memchr call on short lines.
inline const char* FindNewline(const char* p, const char* e) {
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n');
  while (e - p >= 16) {
    int m =
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), nl));
    if (m != 0) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  while (p < e && *p != '\n') ++p;
  return p;
}

// "[m ]<hex> <hex> <hex> <name>" with single spaces (what dump_syms writes).
inline bool FastFuncRecord(std::string_view rest, const char* limit, FuncRecord* r) {
  const char* p = rest.data();
  const char* e = p + rest.size();
  r->is_multiple = rest.size() > 2 && p[0] == 'm' && p[1] == ' ';
  if (r->is_multiple) p += 2;
  uint64_t param;
  if (!PlainHexFast(p, e, limit, 16, &r->address) || p == e || *p++ != ' ') return false;
  if (!PlainHexFast(p, e, limit, 16, &r->size) || p == e || *p++ != ' ') return false;
  if (!PlainHexFast(p, e, limit, 15, &param) || p == e || *p++ != ' ' || p == e) return false;
  r->name = std::string_view(p, static_cast<size_t>(e - p));
  return true;
}

// "<dec> <dec> [<dec>] <dec> (<hex> <hex>)+" with single spaces, at most 511 fields.
inline bool FastInlineRecord(std::string_view rest, const char* limit, InlineRecord* r) {
  const char* p = rest.data();
  const char* e = p + rest.size();
  uint32_t dec[4];
  size_t fields = 0, ndec = 0;
  uint64_t hex[2];
  r->ranges.clear();
  // Count fields first: parity decides the form.
  size_t spaces = 0;
  const char* q = p;
#if defined(__SSE2__)
  const __m128i sp = _mm_set1_epi8(' ');
  for (; e - q >= 16; q += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    spaces += static_cast<size_t>(
        __builtin_popcount(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, sp)))));
  }
#endif
  for (; q < e; ++q) spaces += *q == ' ';
  fields = spaces + 1;
  if (fields < 5 || fields > 511) return false;
  r->has_call_site_file = fields % 2 == 0;
  ndec = r->has_call_site_file ? 4 : 3;
  for (size_t i = 0; i < ndec; ++i) {
    if (!PlainDecFast(p, e, limit, &dec[i]) || p == e || *p++ != ' ') return false;
  }
  while (p < e) {
    if (!PlainHexFast(p, e, limit, 16, &hex[0]) || p == e || *p++ != ' ') return false;
    if (!PlainHexFast(p, e, limit, 16, &hex[1])) return false;
    if (p < e && *p++ != ' ') return false;
    r->ranges.push_back(AddressRange{hex[0], hex[1]});
    if (p == e && rest.back() == ' ') return false;
  }
  r->nest_level = static_cast<int32_t>(dec[0]);
  r->call_site_line = static_cast<int32_t>(dec[1]);
  r->call_site_file_id = r->has_call_site_file ? static_cast<int32_t>(dec[2]) : 0;
  r->origin_id = static_cast<int32_t>(dec[ndec - 1]);
  return !r->ranges.empty();
}

class Parser {
 public:
  Parser(SymVisitor& visitor, const ParseOptions& options) : v_(visitor), options_(options) {}

  ParseStats Run(std::string_view data) {
    // Breakpad ignores trailing NULs and reads inner ones as '_'.
    std::string fixed;
    size_t end = data.size();
    while (end > 0 && data[end - 1] == '\0') --end;
    data = data.substr(0, end);
    if (std::memchr(data.data(), '\0', data.size()) != nullptr) {
      fixed.assign(data);
      for (char& c : fixed) {
        if (c == '\0') c = '_';
      }
      data = fixed;
      Error(ParseError::kNulInData, 0);
    }
    limit_ = data.data() + data.size();
    const bool has_cr = std::memchr(data.data(), '\r', data.size()) != nullptr;
    const char* p = data.data();
    const char* e = p + data.size();
    while (p < e && !stop_) {
      const char* nl;
      if (!has_cr) {
        nl = FindNewline(p, e);
      } else {
        nl = p;
        while (nl < e && *nl != '\n' && *nl != '\r') ++nl;
      }
      if (nl > p) Line(std::string_view(p, static_cast<size_t>(nl - p)));
      p = nl + 1;
    }
    return stats_;
  }

 private:
  void Error(ParseError kind, uint64_t line_number) {
    ++stats_.errors;
    ++stats_.errors_by_kind[static_cast<int>(kind)];
    bool counted = kind != ParseError::kBadInline && kind != ParseError::kBadInlineOrigin &&
                   kind != ParseError::kInlineWithoutFunc;
    if (counted) ++stats_.counted_errors;
    v_.OnError(kind, line_number);
    if (options_.max_errors >= 0 &&
        stats_.counted_errors > static_cast<uint64_t>(options_.max_errors)) {
      stats_.stopped_early = true;
      stop_ = true;
    }
  }

  void Line(std::string_view l) {
    uint64_t n = ++stats_.lines;
    switch (l[0]) {
      case 'F':
        if (StartsWith(l, "FILE ")) return File(l.substr(5), n);
        if (StartsWith(l, "FUNC ")) return Func(l.substr(5), n);
        break;
      case 'S':
        if (StartsWith(l, "STACK CFI ") && l.size() > 10 && l[10] != ' ' &&
            l.compare(10, 5, "INIT ") != 0) {
          // The common delta record "STACK CFI <address> <rules>": valid when rules follow. The
          // address is short: a plain loop beats a memchr call.
          size_t sp = 11;
          while (sp < l.size() && l[sp] != ' ') ++sp;
          if (sp + 1 >= l.size()) Error(ParseError::kBadStack, n);
          return;
        }
        if (StartsWith(l, "STACK ")) {
          if (!Stack(l.substr(6))) Error(ParseError::kBadStack, n);
          return;
        }
        break;
      case 'P':
        if (StartsWith(l, "PUBLIC ")) return Public(l.substr(7), n);
        break;
      case 'M':
        if (StartsWith(l, "MODULE ")) return Module(l.substr(7));
        break;
      case 'I':
        if (StartsWith(l, "INFO ")) return Info(l.substr(5));
        if (StartsWith(l, "INLINE ")) return Inline(l.substr(7), n);
        if (StartsWith(l, "INLINE_ORIGIN ")) return InlineOrigin(l.substr(14), n);
        break;
      default:
        break;
    }
    if (!have_func_) return Error(ParseError::kLineWithoutFunc, n);
    LineRecord r;
    if (FastLineRecord(l, limit_, &r) || SlowLineRecord(l, &r)) {
      v_.OnLine(r);
    } else {
      Error(ParseError::kBadLine, n);
    }
  }

  bool SlowLineRecord(std::string_view l, LineRecord* r) {
    if (!Tokenize(l, 4, &tok_)) return false;
    int64_t line, file;
    if (!ParseHex64(tok_[0], &r->address) || !ParseHex64(tok_[1], &r->size)) return false;
    if (!ParseLong(tok_[2], 10, &line)) return false;
    if (!ParseLong(tok_[3], 10, &file) || file < 0) return false;
    if (line < 0) return false;
    r->line = static_cast<int32_t>(line);
    r->file_id = static_cast<int32_t>(file);
    return true;
  }

  void File(std::string_view rest, uint64_t n) {
    int64_t id;
    if (!Tokenize(rest, 2, &tok_) || !ParseLong(tok_[0], 10, &id) || id < 0) {
      return Error(ParseError::kBadFile, n);
    }
    v_.OnFile(FileRecord{static_cast<int32_t>(id), tok_[1]});
  }

  // TokenizeWithOptionalField(line, "m", max_tokens).
  bool TokenizeOptionalM(std::string_view rest, size_t max_tokens) {
    if (!Tokenize(rest, max_tokens - 1, &tok_)) return false;
    if (tok_.front() == "m") {
      std::string_view last = tok_.back();
      if (!Tokenize(last, 2, &tok2_)) return false;
      tok_.pop_back();
      tok_.push_back(tok2_[0]);
      tok_.push_back(tok2_[1]);
    }
    return true;
  }

  void Func(std::string_view rest, uint64_t n) {
    FuncRecord r;
    if (FastFuncRecord(rest, limit_, &r)) {
      have_func_ = true;
      return v_.OnFunc(r);
    }
    int64_t param_size;
    bool ok = TokenizeOptionalM(rest, 5);
    if (ok) {
      r.is_multiple = tok_[0] == "m";
      size_t i = r.is_multiple ? 1 : 0;
      ok = ParseHex64(tok_[i], &r.address) && ParseHex64(tok_[i + 1], &r.size) &&
           ParseLong(tok_[i + 2], 16, &param_size) && param_size >= 0;
      if (ok) r.name = tok_[i + 3];
    }
    if (!ok) {
      have_func_ = false;
      return Error(ParseError::kBadFunc, n);
    }
    have_func_ = true;
    v_.OnFunc(r);
  }

  void Public(std::string_view rest, uint64_t n) {
    have_func_ = false;  // public symbols carry no lines
    PublicRecord r;
    int64_t param_size;
    bool ok = TokenizeOptionalM(rest, 4);
    if (ok) {
      r.is_multiple = tok_[0] == "m";
      size_t i = r.is_multiple ? 1 : 0;
      ok = ParseHex64(tok_[i], &r.address) && ParseLong(tok_[i + 1], 16, &param_size) &&
           param_size >= 0;
      if (ok) r.name = tok_[i + 2];
    }
    if (!ok || !v_.OnPublic(r)) Error(ParseError::kBadPublic, n);
  }

  void Module(std::string_view rest) {
    // Breakpad ignores MODULE lines; a malformed one is not an error.
    if (Tokenize(rest, 4, &tok_)) v_.OnModule(ModuleRecord{tok_[0], tok_[1], tok_[2], tok_[3]});
  }

  void Info(std::string_view rest) {
    if (!StartsWith(rest, "CODE_ID ")) return;
    StrTok t(rest.substr(8));
    std::string_view parts[3];
    size_t count = 0;
    std::string_view tok;
    while (count < 3 && t.Next(&tok)) parts[count++] = tok;
    if (count == 0) return;
    v_.OnCodeId(parts[0], count == 2 ? parts[1] : std::string_view());
  }

  void InlineOrigin(std::string_view rest, uint64_t n) {
    int64_t id, file_id;
    if (!Tokenize(rest, 2, &tok_) || !ParseLong(tok_[0], 10, &id) || id < 0) {
      return Error(ParseError::kBadInlineOrigin, n);
    }
    std::string_view remaining = tok_[1];
    bool has_file_id = true;
    for (size_t i = 0; i < remaining.size() && remaining[i] != ' ' && has_file_id; ++i) {
      if (remaining[i] == '-' && i == 0) continue;
      has_file_id = remaining[i] >= '0' && remaining[i] <= '9';
    }
    std::string_view name = remaining;
    if (has_file_id) {
      if (!Tokenize(remaining, 2, &tok_) || !ParseLong(tok_[0], 10, &file_id) || file_id < -1) {
        return Error(ParseError::kBadInlineOrigin, n);
      }
      name = tok_[1];
    }
    v_.OnInlineOrigin(InlineOriginRecord{static_cast<int32_t>(id), name});
  }

  void Inline(std::string_view rest, uint64_t n) {
    InlineRecord& r = inline_;
    if (FastInlineRecord(rest, limit_, &r)) {
      if (!have_func_) return Error(ParseError::kInlineWithoutFunc, n);
      return v_.OnInline(r);
    }
    Tokenize(rest, 512, &tok_);
    r.ranges.clear();
    r.has_call_site_file = tok_.size() % 2 == 0;
    bool ok = tok_.size() >= 5;
    size_t i = 0;
    int64_t level = 0, line = 0, file = 0, origin = 0;
    if (ok) ok = ParseLong(tok_[i++], 10, &level) && level >= 0;
    if (ok) ok = ParseLong(tok_[i++], 10, &line) && line >= 0;
    if (ok && r.has_call_site_file) ok = ParseLong(tok_[i++], 10, &file) && file >= -1;
    if (ok) ok = ParseLong(tok_[i++], 10, &origin) && origin >= 0;
    while (ok && i + 1 < tok_.size()) {
      AddressRange range;
      ok = ParseHex64(tok_[i], &range.address) && ParseHex64(tok_[i + 1], &range.size);
      i += 2;
      if (ok) r.ranges.push_back(range);
    }
    if (!ok) return Error(ParseError::kBadInline, n);
    if (!have_func_) return Error(ParseError::kInlineWithoutFunc, n);
    r.nest_level = static_cast<int32_t>(level);
    r.call_site_line = static_cast<int32_t>(line);
    r.call_site_file_id = static_cast<int32_t>(file);
    r.origin_id = static_cast<int32_t>(origin);
    v_.OnInline(r);
  }

  // ParseStackInfo(): validates STACK WIN / STACK CFI records the way Breakpad does; their content
  // is not needed for symbolication.
  bool Stack(std::string_view rest) {
    size_t i = 0;
    while (i < rest.size() && rest[i] == ' ') ++i;
    size_t start = i;
    while (i < rest.size() && rest[i] != ' ') ++i;
    std::string_view platform = rest.substr(start, i - start);
    if (i >= rest.size()) return false;  // nothing after the platform
    std::string_view body = rest.substr(i + 1);
    if (platform == "WIN") {
      if (!Tokenize(body, 11, &tok_)) return false;
      int type = static_cast<int>(StrToL(tok_[0], 16).value);
      return type >= 0 && type <= 4;
    }
    if (platform == "CFI") {
      StrTok t(body);
      std::string_view first, field, rules;
      if (!t.Next(&first)) return false;
      if (first == "INIT") {
        if (!t.Next(&field) || !t.Next(&field)) return false;
      }
      return t.Rest(&rules);
    }
    return false;
  }

  SymVisitor& v_;
  ParseOptions options_;
  ParseStats stats_;
  bool have_func_ = false;
  bool stop_ = false;
  const char* limit_ = nullptr;  // end of the text: fast scanners may read up to here
  std::vector<std::string_view> tok_;
  std::vector<std::string_view> tok2_;
  InlineRecord inline_;
};

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
  StrTok t(line);
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
  Parser parser(visitor, options);
  return parser.Run(data);
}

}  // namespace sigil::symbolication
