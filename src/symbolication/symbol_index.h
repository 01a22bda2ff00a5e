// SymbolIndex: a read-only, memory-mapped symbol index (docs/symbol-index-format.md) and its
// lookups.
//
// Open() maps the file and checks it once: magic, version, sizes, checksum, and every reference
// between tables (string references, file indexes, parents, slices), so a lookup never reads
// outside the mapping even if the file is corrupt. There is no parsing step: lookups read the
// tables in place.
//
// Thread-safe after construction: any number of threads may call Lookup concurrently. Strings in a
// LookupResult point into the mapping and live as long as the SymbolIndex.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "symbolication/index_format.h"

namespace sigil::symbolication {

struct InlineFrame {
  std::string_view function;
  uint64_t function_base = 0;
  std::string_view file;  // "" when unknown
  int32_t line = 0;
};

// What Breakpad's resolver reports for one module offset.
struct LookupResult {
  bool found = false;  // a FUNC or PUBLIC covers the address
  std::string_view function;
  uint64_t function_base = 0;  // function_offset = address - function_base
  bool is_multiple = false;    // the `m` flag
  bool is_public = false;
  std::string_view file;  // after inline adjustment: the call site of the outermost inline
  int32_t line = 0;
  bool has_line_record = false;      // a line record covers the address
  uint64_t line_base = 0;            // start of that line record
  std::vector<InlineFrame> inlines;  // innermost first

  void Clear();
};

struct OpenOptions {
  bool verify_checksum = true;  // CRC-32 of the whole file (one sequential read at memory speed)
  // LookupBatch walks groups of addresses stage by stage with prefetches only for indexes of at
  // least this size; smaller ones stay in the CPU cache and get a plain loop of Lookup.
  uint64_t batch_prefetch_min_bytes = uint64_t{4} << 20;
};

class SymbolIndex {
 public:
  ~SymbolIndex();
  SymbolIndex(const SymbolIndex&) = delete;
  SymbolIndex& operator=(const SymbolIndex&) = delete;

  // Maps and validates an index file. kNotFound if absent; kInvalidArgument if the file is not a
  // valid index of this version (the message says what is wrong).
  static Result<std::unique_ptr<SymbolIndex>> Open(const std::string& path,
                                                   const OpenOptions& options = {});
  // Validates and uses an in-memory copy of an index (tests, fuzzing, freshly built indexes).
  static Result<std::unique_ptr<SymbolIndex>> FromBytes(std::string bytes,
                                                        const OpenOptions& options = {});

  // Looks up a module offset. Returns result->found. `result` is cleared first (its vector capacity
  // is reused, so a caller looping over addresses allocates nothing).
  bool Lookup(uint64_t address, LookupResult* result) const;

  // Looks up many offsets at once: results[i] answers addresses[i] exactly as Lookup would
  // (results.size() >= addresses.size(); each result's vector capacity is reused). Runs the
  // addresses through a software pipeline of prefetching stages, so the cache misses of up to
  // kStages * kGroup lookups overlap: much faster than a Lookup loop when the index is larger
  // than the CPU cache (under OpenOptions::batch_prefetch_min_bytes it is that loop).
  void LookupBatch(std::span<const uint64_t> addresses, std::span<LookupResult> results) const;

  // Module metadata from the .sym header lines ("" when absent).
  std::string_view module_os() const { return String(header_->module_os); }
  std::string_view module_arch() const { return String(header_->module_arch); }
  std::string_view debug_id() const { return String(header_->module_id); }
  std::string_view debug_file() const { return String(header_->module_name); }
  std::string_view code_id() const { return String(header_->code_id); }
  std::string_view code_file() const { return String(header_->code_file); }
  uint64_t source_size() const { return header_->source_size; }
  uint64_t parse_errors() const { return header_->parse_errors; }
  uint64_t func_count() const { return header_->func_count; }
  uint64_t public_count() const { return header_->public_count; }
  uint64_t size_bytes() const { return size_; }  // of the file
  // Memory the index holds: the mapping (or copy) plus the inflated string data.
  uint64_t memory_bytes() const { return size_ + strings_inflated_.size(); }
  uint64_t line_stream_bytes() const { return line_stream_size_; }
  uint64_t inline_nodes() const { return inlines_count_; }

 private:
  SymbolIndex() = default;
  static Result<std::unique_ptr<SymbolIndex>> Init(std::unique_ptr<SymbolIndex> index,
                                                   const OpenOptions& options);
  Status Validate(const OpenOptions& options);
  Status InflateStrings();
  // References were checked at open: offset + size lie inside the string data.
  std::string_view String(format::StringRef ref) const {
    return std::string_view(string_data_ + ref.offset, ref.size);
  }
  std::string_view File(uint32_t index) const {
    return index < files_count_ ? String(files_[index]) : std::string_view();
  }
  // Index of the range containing `address`, or kNoRange (no range at or below it).
  static constexpr uint64_t kNoRange = ~uint64_t{0};
  static constexpr size_t kGroup = 16;  // addresses LookupBatch walks together
  uint64_t Bucket(uint64_t address) const;
  uint64_t FindRange(uint64_t address) const;
  // Answers `address` in range `idx`. `skip` and `node` are the results of the restart-point and
  // inline-node searches when the caller has already done them (LookupBatch), else kNoRange.
  bool Resolve(uint64_t idx, uint64_t address, LookupResult* result, uint64_t skip = kNoRange,
               uint64_t node = kNoRange) const;
  // LookupBatch (symbol_index_batch.cc): addresses in flight, and one pipeline stage (0 ..
  // kStages - 1) run on a group of m <= kGroup of them.
  static constexpr size_t kStages = 7;
  struct BatchSlot;
  void RunBatchStage(size_t stage, BatchSlot* slots, size_t m, const uint64_t* addresses,
                     LookupResult* results) const;
  // Range idx's length, capped at 2^32 (the last range: 2^32), for the searches' guesses.
  uint64_t Span(uint64_t idx) const;
  // First restart point / inline node of range idx starting above `off` (the range's begin index
  // when none), found from a guess at where `off` lies in the range.
  uint64_t FindSkip(uint64_t idx, uint32_t off, uint64_t span) const;
  uint64_t FindNode(uint64_t idx, uint32_t off, uint64_t span) const;
  uint64_t InlineBase(uint32_t node_index, uint64_t address, uint64_t fallback) const;

  // Storage: either a mapping or an owned string; inflated string data when it is compressed.
  void* map_ = nullptr;
  std::string owned_;
  std::string strings_inflated_;
  const char* data_ = nullptr;
  uint64_t size_ = 0;
  // At least OpenOptions::batch_prefetch_min_bytes: LookupBatch walks stage by stage and the
  // searches prefetch their next probes.
  bool large_ = false;

  const format::Header* header_ = nullptr;
  const format::SymbolRecord* symbols_ = nullptr;
  uint64_t symbols_count_ = 0;
  const uint64_t* starts_ = nullptr;
  uint64_t ranges_count_ = 0;
  const format::RangeEntry* entries_ = nullptr;
  const uint32_t* direct_ = nullptr;
  uint64_t buckets_ = 0;  // RangeDirect has buckets_ + 1 entries
  uint32_t direct_shift_ = 0;
  const uint8_t* line_stream_ = nullptr;
  uint64_t line_stream_size_ = 0;
  const format::LineSkip* skips_ = nullptr;
  uint64_t skips_count_ = 0;
  const uint32_t* inline_starts_ = nullptr;
  const format::InlineNode* inlines_ = nullptr;
  uint64_t inlines_count_ = 0;
  const format::InlineSite* sites_ = nullptr;
  uint64_t sites_count_ = 0;
  const format::InlineBaseException* inline_bases_ = nullptr;
  uint64_t inline_bases_count_ = 0;
  const format::InlineRange* inline_ranges_ = nullptr;
  uint64_t inline_ranges_count_ = 0;
  const format::StringRef* files_ = nullptr;
  uint64_t files_count_ = 0;
  const char* string_data_ = nullptr;
  uint64_t string_data_size_ = 0;
};

}  // namespace sigil::symbolication
