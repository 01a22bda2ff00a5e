// Breakpad .sym text parser: one pass over a byte buffer, no allocation per line.
//
// The parser reads records exactly as Breakpad's BasicSourceLineResolver does (see
// ../shared/spec/breakpad-sym-format.md): lines split on CR and LF (empty lines skipped), fields
// split on single or repeated spaces, the last field of a named record runs to the end of the line,
// numbers read with C strtoull/strtol rules (so "0x10" and "+5" parse as they do there), FILE ids
// and line numbers truncated to 32 bits like Breakpad's int32 fields. A NUL byte inside the data
// reads as '_'. Malformed lines are counted and skipped; the records before and after them stay
// usable. Unlike Breakpad, an INLINE with no current FUNC is skipped (counted) instead of crashing.
//
// The parser only tokenizes and validates; what records mean (overlaps, nesting) is the index
// builder's. Thread-compatible: a parse holds no global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sigil::symbolication {

struct AddressRange {
  uint64_t address = 0;
  uint64_t size = 0;
};

struct ModuleRecord {
  std::string_view os, arch, id, name;  // name runs to the end of the line
};

struct FuncRecord {
  bool is_multiple = false;
  uint64_t address = 0;
  uint64_t size = 0;
  std::string_view name;  // may contain spaces
};

struct PublicRecord {
  bool is_multiple = false;
  uint64_t address = 0;
  std::string_view name;
};

struct LineRecord {
  uint64_t address = 0;
  uint64_t size = 0;
  int32_t line = 0;
  int32_t file_id = 0;
};

struct FileRecord {
  int32_t id = 0;
  std::string_view name;
};

struct InlineOriginRecord {
  int32_t id = 0;
  std::string_view name;
};

struct InlineRecord {
  bool has_call_site_file = false;  // new form (even field count)
  int32_t nest_level = 0;
  int32_t call_site_line = 0;
  int32_t call_site_file_id = 0;
  int32_t origin_id = 0;
  std::vector<AddressRange> ranges;  // at least one
};

// Why a line was skipped.
enum class ParseError : uint8_t {
  kNulInData,  // NUL bytes in the middle of the data (counted once, read as '_')
  kBadFile,
  kBadStack,
  kBadFunc,
  kBadPublic,  // malformed, or a second PUBLIC at an address already taken
  kBadInline,
  kBadInlineOrigin,
  kInlineWithoutFunc,  // INLINE before any FUNC or right after a PUBLIC (Breakpad crashes here)
  kLineWithoutFunc,    // a line record before any FUNC, right after a PUBLIC or after a bad FUNC
  kBadLine,
};
constexpr int kParseErrorKinds = 10;
std::string_view ParseErrorName(ParseError e);

// Receives records in file order. Lines, INLINEs belong to the last OnFunc (the parser reports
// kLineWithoutFunc / kInlineWithoutFunc itself when there is none).
class SymVisitor {
 public:
  virtual ~SymVisitor() = default;
  virtual void OnModule(const ModuleRecord& r) = 0;
  // INFO CODE_ID <code_id> [<code_file>]; code_file is empty when absent or when more fields
  // follow.
  virtual void OnCodeId(std::string_view code_id, std::string_view code_file) = 0;
  virtual void OnFile(const FileRecord& r) = 0;
  virtual void OnInlineOrigin(const InlineOriginRecord& r) = 0;
  virtual void OnFunc(const FuncRecord& r) = 0;
  virtual void OnLine(const LineRecord& r) = 0;
  virtual void OnInline(const InlineRecord& r) = 0;
  // A PUBLIC record (address 0 included: the builder drops those, as Breakpad does). Returns false
  // if the symbol is rejected (address already taken), which Breakpad counts as a parse error.
  virtual bool OnPublic(const PublicRecord& r) = 0;
  virtual void OnError(ParseError e, uint64_t line_number) { (void)e, (void)line_number; }
};

struct ParseOptions {
  // Stop after this many errors (Breakpad stops after 100; -1 = never). Errors of INLINE and
  // INLINE_ORIGIN records do not count toward the limit, as in Breakpad.
  int64_t max_errors = -1;
};

struct ParseStats {
  uint64_t lines = 0;           // non-empty lines read
  uint64_t errors = 0;          // all skipped lines
  uint64_t counted_errors = 0;  // the ones that count toward max_errors
  uint64_t errors_by_kind[kParseErrorKinds] = {};
  bool stopped_early = false;  // max_errors reached
};

// Parses `data` (the whole .sym file) and feeds `visitor`. Never fails: bad lines are reported via
// OnError and counted. Names passed to the visitor are views into `data` (or into an internal copy
// when the data contains NUL bytes; valid until ParseSym returns).
ParseStats ParseSym(std::string_view data, SymVisitor& visitor, const ParseOptions& options = {});

// ---- Building blocks, exposed for tests and the fuzzer ----

// C strtoull/strtol on a token that is not NUL-terminated: returns the value and the number of
// bytes consumed (0 if no digits; the caller treats that as "end = start of token").
struct NumberParse {
  uint64_t value = 0;
  size_t consumed = 0;
};
NumberParse StrToULL(std::string_view s, int base);
// Returns the value as int64 (long on LP64).
struct SignedParse {
  int64_t value = 0;
  size_t consumed = 0;
};
SignedParse StrToL(std::string_view s, int base);

// Breakpad's Tokenize(): up to max_tokens-1 space-separated tokens, then the rest of the line as
// the last token. Returns true if exactly max_tokens tokens were found. `tokens` is cleared first.
bool Tokenize(std::string_view line, size_t max_tokens, std::vector<std::string_view>* tokens);

}  // namespace sigil::symbolication
