// Builds a symbol index (docs/symbol-index-format.md) from the text of a Breakpad .sym file.
//
// One pass over the text (sym_parser) resolves Breakpad's rules as records arrive: the earlier of
// two overlapping FUNCs or line records wins, size-0 records are ignored, PUBLIC at 0 is ignored, a
// later PUBLIC at an address already taken is dropped, INLINE ranges nest like Breakpad's
// ContainedRangeMap. Memory is proportional to the input (no per-line allocation); time is linear
// for sorted input (what dump_syms writes) and O(n log n) otherwise. Pure: no I/O besides
// WriteIndexFile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "symbolication/sym_parser.h"

namespace sigil::symbolication {

struct BuildOptions {
  ParseOptions parse;
  // libdeflate level for the string data (0: stored raw). Kept only when it saves at least 1/8.
  int string_deflate_level = 1;
  // Always build inline trees with the ContainedRangeMap emulation, never the sorted sweep it
  // falls back from on partial overlaps. Both give the same index; tests and the fuzzer build
  // with both and compare.
  bool emulate_inline_tree = false;
};

struct BuildStats {
  ParseStats parse;
  uint64_t funcs = 0;         // FUNC records kept (after overlaps and size 0)
  uint64_t publics = 0;       // PUBLIC records kept
  uint64_t lines = 0;         // line entries in the index (gaps included)
  uint64_t inline_nodes = 0;  // inline ranges in the index
  uint64_t strings = 0;
  uint64_t index_bytes = 0;
};

struct BuiltIndex {
  std::string bytes;  // the whole index file
  BuildStats stats;
};

// Never fails on malformed text (bad lines are skipped and counted); fails only when the result
// would exceed the format's 32-bit counts (kTooLarge).
Result<BuiltIndex> BuildIndex(std::string_view sym_data, const BuildOptions& options = {});

// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
Status WriteIndexFile(const std::string& path, std::string_view bytes);

}  // namespace sigil::symbolication
