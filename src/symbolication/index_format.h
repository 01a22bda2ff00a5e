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
inline constexpr uint32_t kIndexVersion = 3;

inline constexpr uint32_t kNone = 0xFFFFFFFFu;  // "no symbol / no parent / no string"

enum Section : uint32_t {
  kSymbols = 0,   // SymbolRecord[]
  kRangeStarts,   // uint64_t[n]: start address of each range, ascending
  kRangeEntries,  // RangeEntry[n + 1]: what each range maps to (+ a sentinel)
  kRangeDirect,   // uint32_t[buckets + 1]: per address bucket, the range covering its start
  kLineStream,    // bytes: each range's line entries, varint-coded (see below)
  kLineSkips,     // LineSkip[]: restart points into the line stream, per range
  kInlineStarts,  // uint32_t[]: start offset of each InlineNode (searched alone)
  kInlines,       // InlineNode[]: blocks per range, pre-order (start ascending, parents first)
  kInlineSites,   // InlineSite[]: distinct (name, call file, call line) of the nodes
  kInlineBases,   // InlineBaseException[] sorted by node index
  kInlineRanges,  // InlineRange[] referenced by kInlineBases
  kFiles,         // StringRef per file index
  kStringData,    // bytes
  kSectionCount
};

// A string: StringData[offset, offset + size) (once inflated). Records carry these directly, so a
// lookup reads a name without a string-table indirection. {0, 0} is the empty string ("absent").
struct StringRef {
  uint32_t offset;
  uint32_t size;
};

// Header flags.
inline constexpr uint32_t kStringsDeflated = 1;  // StringData is a raw DEFLATE stream

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_size;    // sizeof(Header)
  uint64_t file_size;      // bytes of the whole index
  uint64_t source_size;    // bytes of the .sym it was built from
  uint32_t checksum;       // CRC-32 (gzip polynomial) of the whole file with this field zero
  uint32_t section_count;  // kSectionCount
  // Module metadata ({0, 0} when absent).
  StringRef module_os;
  StringRef module_arch;
  StringRef module_id;    // MODULE debug id as written
  StringRef module_name;  // MODULE debug file name
  StringRef code_id;      // INFO CODE_ID
  StringRef code_file;    // INFO CODE_ID's PE name (4th field), the API's module name
  uint64_t parse_errors;  // malformed lines skipped
  uint64_t source_lines;  // non-empty lines read
  uint64_t func_count;    // FUNC records kept
  uint64_t public_count;  // PUBLIC records kept
  uint64_t string_bytes;  // size of the string data (after inflating, if kStringsDeflated)
  uint32_t flags;         // kStringsDeflated
  uint32_t direct_shift;  // log2 of the address span of one RangeDirect bucket
  // Byte size of each section. Sections follow the header in Section order, each starting at the
  // next 8-byte boundary (zero padding), so their offsets are implied (SectionOffsets).
  uint64_t section_sizes[kSectionCount];
};

// Offsets of the sections of a header whose sizes are already known to fit the file.
inline void SectionOffsets(const Header& h, uint64_t offsets[kSectionCount]) {
  uint64_t at = sizeof(Header);
  for (uint32_t s = 0; s < kSectionCount; ++s) {
    offsets[s] = at;
    at = (at + h.section_sizes[s] + 7) & ~uint64_t{7};
  }
}

// SymbolRecord::name_size_flags: the name's size in the low 30 bits, these flags above.
inline constexpr uint32_t kSymbolMultiple = 1u << 30;  // the `m` flag
inline constexpr uint32_t kSymbolPublic = 2u << 30;    // a PUBLIC (no lines, no inlines)
inline constexpr uint32_t kSymbolNameSizeMask = (1u << 30) - 1;

struct SymbolRecord {
  uint64_t address;  // FUNC/PUBLIC address: function_base
  uint32_t name_offset;
  uint32_t name_size_flags;  // name size | kSymbol* flags
};

// Range i covers [RangeStarts[i], RangeStarts[i+1]) (the last one to the end of the address space).
// Its line entries are the bytes LineStream[line_pos, entries[i+1].line_pos), its restart points
// LineSkips[skip_begin, entries[i+1].skip_begin), its inline nodes Inlines[inline_begin,
// entries[i+1].inline_begin). A FUNC longer than 4 GiB is split into several ranges so offsets fit
// 32 bits.
struct RangeEntry {
  uint32_t symbol;  // SymbolRecord index, or kNone: no symbol here
  uint32_t line_pos;
  uint32_t skip_begin;
  uint32_t inline_begin;
};

// Line stream. Each entry starts with a varint head = (offset delta << 3) | kLine* bits; the offset
// (from the range start) is the previous entry's plus the delta. A gap entry (no line record covers
// the offset from here on) has nothing more. Otherwise there follow: the line as a zigzag varint of
// its difference to the previous entry's line (32-bit wrapping); the file (varint) if kLineFile is
// set, else the previous entry's file is kept; and, if kLineBase is set, the varint distance from
// the line record's start up to the entry's address (a record that starts before its range).
// The decoding state (offset, line, file) starts at zero at the first entry of a range and at every
// LineSkip point; a skip lies every kLineSkipEvery entries of a range.
inline constexpr uint64_t kLineFile = 1;  // a file varint follows
inline constexpr uint64_t kLineGap = 2;   // no line record from this offset on
inline constexpr uint64_t kLineBase = 4;  // a base distance varint follows
inline constexpr uint32_t kLineSkipEvery = 4;
inline constexpr uint32_t kLineNoFile = 0x7FFFFFFEu;  // a line record whose FILE id is unknown

struct LineSkip {
  uint32_t offset;  // the entry's offset from the range start
  uint32_t pos;     // its byte position in LineStream
};

// Site field of an InlineNode.
inline constexpr uint32_t kSiteMask = 0x7FFFFFFFu;
inline constexpr uint32_t kInlineBaseFlag = 0x80000000u;    // function_base from kInlineBases
inline constexpr uint32_t kCallFileFromLine = 0x7FFFFFFFu;  // old INLINE form / unknown FILE id

// Node i starts at InlineStarts[i] (offset from the range start, inclusive); the starts are a
// separate array so the search over them touches a quarter of the bytes.
struct InlineNode {
  uint32_t high;    // last covered offset (inclusive)
  uint32_t parent;  // InlineNode index (< this index), or kNone for an outermost inline
  uint32_t site;    // InlineSite index | kInlineBaseFlag
};

struct InlineSite {
  StringRef name;      // the inline origin's name
  uint32_t call_file;  // file index, or kCallFileFromLine
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

static_assert(sizeof(Header) == 240);
static_assert(sizeof(SymbolRecord) == 16);
static_assert(sizeof(RangeEntry) == 16);
static_assert(sizeof(LineSkip) == 8);
static_assert(sizeof(InlineNode) == 12);
static_assert(sizeof(InlineSite) == 16);
static_assert(sizeof(StringRef) == 8);
static_assert(sizeof(InlineBaseException) == 16);
static_assert(sizeof(InlineRange) == 16);

}  // namespace sigil::symbolication::format
