// The .sym parser as a template over its visitor (internal to the symbolication core).
//
// ParseSym (sym_parser.h) runs it with the virtual SymVisitor; the index builder runs it with its
// own final visitor class, so the per-record calls are direct and inlined into the parse loop.
// Semantics are those documented in sym_parser.h. A visitor with an OnEnd() member has it called
// after the last record, while the views passed to it are still valid.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "symbolication/sym_parser.h"
#include "symbolication/sym_scan.h"

namespace sigil::symbolication::internal {

constexpr int64_t kLongMax = std::numeric_limits<int64_t>::max();

// IsValidAfterNumber(): the number must end the token or be followed by whitespace (" \r\n").
inline bool ValidAfter(std::string_view token, size_t consumed) {
  return consumed == token.size() || token[consumed] == ' ';
}

inline bool ParseHex64(std::string_view token, uint64_t* out) {
  NumberParse n = StrToULL(token, 16);
  *out = n.value;
  return ValidAfter(token, n.consumed) && n.value != scan::kU64Max;
}

// strtol(token, 10|16) with Breakpad's "valid after" and "!= LONG_MAX" checks.
inline bool ParseLong(std::string_view token, int base, int64_t* out) {
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

inline bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

template <class Visitor>
class Parser {
 public:
  Parser(Visitor& visitor, const ParseOptions& options) : v_(visitor), options_(options) {}

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
    const char* p = data.data();
    const char* e = p + data.size();
    while (p < e && !stop_) {
      // Line records (most of a file) are read in one go up to their '\n', without finding the
      // line end first; anything else (CR endings included), or a line record the scanner
      // refuses, is split off at the next CR or LF and dispatched by Line.
      if (have_func_ && scan::IsHexDigit(*p)) {
        LineRecord r;
        if (const char* line_end = scan::ScanLineRecord(p, e, &r)) {
          ++stats_.lines;
          v_.OnLine(r);
          p = line_end + 1;
          continue;
        }
      }
      const char* nl = scan::FindLineEnd(p, e);
      if (nl > p) Line(std::string_view(p, static_cast<size_t>(nl - p)));
      p = nl + 1;
    }
    if constexpr (requires { v_.OnEnd(); }) v_.OnEnd();  // views into `fixed` are valid here
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
        if (l.size() > 10 && StartsWith(l, "STACK CFI ") && l[10] != ' ' &&
            !(l.size() >= 15 && std::memcmp(l.data() + 10, "INIT ", 5) == 0)) {
          // The common delta record "STACK CFI <address> <rules>": valid when rules follow.
          const char* sp = scan::FindSpace(l.data() + 11, l.data() + l.size(), limit_);
          if (sp + 1 >= l.data() + l.size()) Error(ParseError::kBadStack, n);
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
    if (scan::FastLineRecord(l, limit_, &r) || SlowLineRecord(l, &r)) {
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
    FileRecord fast;
    if (scan::FastFileRecord(rest, limit_, &fast)) return v_.OnFile(fast);
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
    if (scan::FastFuncRecord(rest, limit_, &r)) {
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
    if (scan::FastPublicRecord(rest, limit_, &r)) {
      if (!v_.OnPublic(r)) Error(ParseError::kBadPublic, n);
      return;
    }
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
    InlineOriginRecord fast;
    if (scan::FastInlineOriginRecord(rest, limit_, &fast)) return v_.OnInlineOrigin(fast);
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
    if (scan::FastInlineRecord(rest, limit_, &r)) {
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
    const char* b = body.data();
    const char* be = b + body.size();
    if (platform == "WIN") {
      // Single-spaced (what dump_syms writes): 10 fields and a rest; the type is the first field.
      if (const char* tenth = scan::NthSingleSpace(b, be, limit_, 10)) {
        if (tenth + 1 == be) return false;  // no rest
        if (b[1] == ' ' && *b >= '0' && *b <= '4') return true;
        const char* first_end = scan::FindSpace(b, be, limit_);
        const int type = static_cast<int>(
            StrToL(std::string_view(b, static_cast<size_t>(first_end - b)), 16).value);
        return type >= 0 && type <= 4;
      }
      if (!Tokenize(body, 11, &tok_)) return false;
      int type = static_cast<int>(StrToL(tok_[0], 16).value);
      return type >= 0 && type <= 4;
    }
    if (platform == "CFI") {
      // "INIT <address> <size> <rules>", single-spaced: rules after the third space.
      if (body.size() > 5 && std::memcmp(b, "INIT ", 5) == 0) {
        if (const char* third = scan::NthSingleSpace(b + 5, be, limit_, 2)) return third + 1 < be;
      }
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

  Visitor& v_;
  ParseOptions options_;
  ParseStats stats_;
  bool have_func_ = false;
  bool stop_ = false;
  const char* limit_ = nullptr;  // end of the text: fast scanners may read up to here
  std::vector<std::string_view> tok_;
  std::vector<std::string_view> tok2_;
  InlineRecord inline_;
};

// ParseSym over any visitor type with SymVisitor's member functions (a final class: direct calls).
template <class Visitor>
ParseStats ParseSymWith(std::string_view data, Visitor& visitor, const ParseOptions& options) {
  Parser<Visitor> parser(visitor, options);
  return parser.Run(data);
}

}  // namespace sigil::symbolication::internal
