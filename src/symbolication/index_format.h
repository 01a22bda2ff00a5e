// On-disk layout of a symbol index (".symidx"), version kIndexVersion. See
// docs/symbol-index-format.md.
//
// All integers little-endian; every section starts at an 8-byte aligned offset; references between
// sections are indexes, never pointers. Plain structs only: index_builder writes them, symbol_index
// reads them in place from an mmapped file after checking every bound once at open.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sigil::symbolication::format {

inline constexpr char kMagic[8] = {'S', 'I', 'G', 'I', 'L', 'S', 'Y', 'M'};
inline constexpr uint32_t kIndexVersion = 1;

inline constexpr uint32_t kNone = 0xFFFFFFFFu;  // "no symbol / no parent / no string"

enum Section : uint32_t {
  kSymbols = 0,    // SymbolRecord[]
  kRangeStarts,    // uint64_t[n]: start address of each range, ascending
  kRangeEntries,   // RangeEntry[n + 1]: what each range maps to (+ a sentinel)
  kRangeTop,       // uint64_t[ceil(n / kRangeBlock)]: RangeStarts[k * kRangeBlock], a search layer
  kLines,          // LineEntry[]: blocks per range, sorted by offset
  kLineBases,      // LineBaseException[] sorted by line index
  kInlines,        // InlineNode[]: blocks per range, pre-order (start ascending, parents first)
  kInlineBases,    // InlineBaseException[] sorted by node index
  kInlineRanges,   // InlineRange[] referenced by kInlineBases
  kFiles,          // uint32_t string id per file index
  kStringOffsets,  // uint64_t[strings + 1]
  kStringData,     // bytes
  kSectionCount
};

inline constexpr uint32_t kRangeBlock = 64;

struct SectionEntry {
  uint64_t offset;
  uint64_t size;  // bytes
};

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_size;    // sizeof(Header)
  uint64_t file_size;      // bytes of the whole index
  uint64_t source_size;    // bytes of the .sym it was built from
  uint32_t checksum;       // CRC-32 (gzip polynomial) of the whole file with this field zero
  uint32_t section_count;  // kSectionCount
  // Module metadata as string ids (kNone when absent).
  uint32_t module_os;
  uint32_t module_arch;
  uint32_t module_id;     // MODULE debug id as written
  uint32_t module_name;   // MODULE debug file name
  uint32_t code_id;       // INFO CODE_ID
  uint32_t code_file;     // INFO CODE_ID's PE name (4th field), the API's module name
  uint64_t parse_errors;  // malformed lines skipped
  uint64_t source_lines;  // non-empty lines read
  uint64_t func_count;    // FUNC records kept
  uint64_t public_count;  // PUBLIC records kept
  char debug_id[64];      // MODULE id, NUL-padded (truncated at 63 bytes); full value in module_id
  SectionEntry sections[kSectionCount];
};

inline constexpr uint32_t kSymbolMultiple = 1;  // the `m` flag
inline constexpr uint32_t kSymbolPublic = 2;    // a PUBLIC (no lines, no inlines)

struct SymbolRecord {
  uint64_t address;  // FUNC/PUBLIC address: function_base
  uint32_t name;     // string id
  uint32_t flags;
};

// Range i covers [RangeStarts[i], RangeStarts[i+1]) (the last one to the end of the address space).
// Its lines are Lines[line_begin, entries[i+1].line_begin), its inline nodes likewise. A FUNC
// longer than 4 GiB is split into several ranges so offsets fit 32 bits.
struct RangeEntry {
  uint32_t symbol;  // SymbolRecord index, or kNone: no symbol here
  uint32_t line_begin;
  uint32_t inline_begin;
};

// File field of a LineEntry.
inline constexpr uint32_t kLineFileMask = 0x7FFFFFFFu;
inline constexpr uint32_t kLineBaseFlag =
    0x80000000u;  // base in kLineBases (line starts before range)
inline constexpr uint32_t kLineNoFile = 0x7FFFFFFEu;  // a line record whose FILE id is unknown
inline constexpr uint32_t kLineGap = 0x7FFFFFFFu;     // no line record covers this offset

struct LineEntry {
  uint32_t offset;  // from the range start
  int32_t line;
  uint32_t file;  // file index | flags, see above
};

struct LineBaseException {
  uint32_t line_index;
  uint32_t reserved;
  uint64_t base;
};

// Call-site file field of an InlineNode.
inline constexpr uint32_t kCallFileMask = 0x7FFFFFFFu;
inline constexpr uint32_t kInlineBaseFlag = 0x80000000u;    // function_base from kInlineBases
inline constexpr uint32_t kCallFileFromLine = 0x7FFFFFFFu;  // old INLINE form / unknown FILE id

struct InlineNode {
  uint32_t start;      // offset from the range start (inclusive)
  uint32_t high;       // last covered offset (inclusive)
  uint32_t parent;     // InlineNode index (< this index), or kNone for an outermost inline
  uint32_t name;       // string id of the inline origin's name
  uint32_t call_file;  // file index | flags, see above
  int32_t call_line;
};

struct InlineBaseException {
  uint32_t node_index;
  uint32_t range_begin;  // InlineRange index
  uint32_t range_count;
  uint32_t reserved;
};

// One range of an INLINE record, as written: function_base is the first listed range containing the
// address (Breakpad's rule, which matters when an INLINE lists overlapping ranges).
struct InlineRange {
  uint64_t address;
  uint64_t size;
};

static_assert(sizeof(Header) % 8 == 0);
static_assert(sizeof(SymbolRecord) == 16);
static_assert(sizeof(RangeEntry) == 12);
static_assert(sizeof(LineEntry) == 12);
static_assert(sizeof(LineBaseException) == 16);
static_assert(sizeof(InlineNode) == 24);
static_assert(sizeof(InlineBaseException) == 16);
static_assert(sizeof(InlineRange) == 16);

}  // namespace sigil::symbolication::format
