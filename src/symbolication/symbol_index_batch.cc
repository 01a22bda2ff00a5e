// SymbolIndex::LookupBatch: many lookups at once, their cache misses overlapped.
//
// A lookup in an index larger than the CPU cache is a chain of dependent reads (direct table →
// range starts → range entry → restart point / inline start → line bytes / inline node → call
// site), each a likely DRAM miss. LookupBatch cuts the chain into stages that each use what the
// previous stage prefetched and prefetch what the next one reads, and runs them as a software
// pipeline over groups of kGroup addresses: in one round, stage s works on group t - s, so every
// prefetch has a whole round (the other stages' work on other groups) to arrive, and up to
// kStages * kGroup lookups are in flight.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "symbolication/sorted_search.h"
#include "symbolication/symbol_index.h"

namespace sigil::symbolication {

namespace f = format;

// One address on its way through the stages.
struct SymbolIndex::BatchSlot {
  uint64_t address;
  uint64_t bucket;      // of the direct table
  uint64_t lo, hi;      // the bucket's window of range starts
  uint64_t idx;         // the range from stage 2 on; kNoRange from any stage: nothing to answer
  uint64_t span;        // the range's length (Span)
  uint64_t skip, node;  // FindSkip / FindNode results
  uint32_t off;         // offset in the range, capped at 2^32 - 1
};

void SymbolIndex::LookupBatch(std::span<const uint64_t> addresses,
                              std::span<LookupResult> results) const {
  const size_t n = std::min(addresses.size(), results.size());
  if (!large_) {
    // Cache-resident: the staged walk would only add work.
    for (size_t i = 0; i < n; ++i) Lookup(addresses[i], &results[i]);
    return;
  }
  BatchSlot ring[kStages][kGroup];
  const size_t groups = (n + kGroup - 1) / kGroup;
  for (size_t round = 0; round < groups + kStages - 1; ++round) {
    // Later stages first: their group's data was prefetched a round ago.
    for (size_t stage = kStages; stage-- > 0;) {
      if (round < stage || round - stage >= groups) continue;
      const size_t g = round - stage;
      const size_t first = g * kGroup;
      RunBatchStage(stage, ring[g % kStages], std::min(kGroup, n - first), addresses.data() + first,
                    results.data() + first);
    }
  }
}

void SymbolIndex::RunBatchStage(size_t stage, BatchSlot* s, size_t m, const uint64_t* addresses,
                                LookupResult* results) const {
  switch (stage) {
    case 0:  // the direct table's bucket
      for (size_t i = 0; i < m; ++i) {
        s[i].address = addresses[i];
        s[i].idx = 0;  // not known yet
        if (ranges_count_ == 0 || s[i].address < starts_[0]) {
          s[i].idx = kNoRange;
          continue;
        }
        s[i].bucket = Bucket(s[i].address);
        __builtin_prefetch(direct_ + s[i].bucket);
      }
      break;
    case 1:  // the bucket's window of range starts
      for (size_t i = 0; i < m; ++i) {
        if (s[i].idx == kNoRange) {
          s[i].lo = s[i].hi = 0;  // an empty search
          continue;
        }
        const uint64_t b = s[i].bucket;
        s[i].lo = direct_[b];
        s[i].hi = uint64_t{direct_[b + 1]} + 1;
        __builtin_prefetch(starts_ + s[i].lo + (s[i].hi - s[i].lo) / 2);
      }
      break;
    case 2: {  // the range: the windows searched side by side
      uint64_t lo[kGroup], hi[kGroup], x[kGroup];
      for (size_t i = 0; i < m; ++i) {
        lo[i] = s[i].lo;
        hi[i] = s[i].hi;
        x[i] = s[i].address;
      }
      search::SearchSideBySide<kGroup>(m, lo, hi, x,
                                       [&](size_t, uint64_t k) { return starts_[k]; });
      for (size_t i = 0; i < m; ++i) {
        if (s[i].idx == kNoRange) continue;
        s[i].idx = lo[i] - 1;
        __builtin_prefetch(entries_ + s[i].idx);
        __builtin_prefetch(entries_ + s[i].idx + 1);
      }
      break;
    }
    case 3:  // the range entry: prefetch the symbol and where both searches will probably look
      for (size_t i = 0; i < m; ++i) {
        if (s[i].idx == kNoRange) continue;
        const f::RangeEntry& e = entries_[s[i].idx];
        if (e.symbol == f::kNone) {
          s[i].idx = kNoRange;
          continue;
        }
        __builtin_prefetch(symbols_ + e.symbol);
        const f::RangeEntry& next = entries_[s[i].idx + 1];
        const uint64_t off64 = s[i].address - starts_[s[i].idx];
        s[i].off = off64 > 0xFFFFFFFFull ? 0xFFFFFFFFu : static_cast<uint32_t>(off64);
        s[i].span = Span(s[i].idx);
        if (next.skip_begin > e.skip_begin) {
          __builtin_prefetch(
              skips_ + search::GuessPosition(e.skip_begin, next.skip_begin, s[i].off, s[i].span));
        }
        if (next.inline_begin > e.inline_begin) {
          __builtin_prefetch(inline_starts_ + search::GuessPosition(e.inline_begin,
                                                                    next.inline_begin, s[i].off,
                                                                    s[i].span));
        }
      }
      break;
    case 4:  // restart point and innermost inline node
      for (size_t i = 0; i < m; ++i) {
        if (s[i].idx == kNoRange) continue;
        const f::RangeEntry& e = entries_[s[i].idx];
        s[i].skip = FindSkip(s[i].idx, s[i].off, s[i].span);
        __builtin_prefetch(line_stream_ +
                           (s[i].skip > e.skip_begin ? skips_[s[i].skip - 1].pos : e.line_pos));
        s[i].node = FindNode(s[i].idx, s[i].off, s[i].span);
        if (s[i].node > e.inline_begin) __builtin_prefetch(inlines_ + s[i].node - 1);
      }
      break;
    case 5:  // the innermost inline's call site and its parent, which the walk reads next
      for (size_t i = 0; i < m; ++i) {
        if (s[i].idx == kNoRange || s[i].node <= entries_[s[i].idx].inline_begin) continue;
        const f::InlineNode& innermost = inlines_[s[i].node - 1];
        __builtin_prefetch(sites_ + (innermost.site & f::kSiteMask));
        if (innermost.parent != f::kNone) __builtin_prefetch(inlines_ + innermost.parent);
      }
      break;
    default:  // kStages - 1: the answers
      for (size_t i = 0; i < m; ++i) {
        results[i].Clear();
        if (s[i].idx != kNoRange)
          Resolve(s[i].idx, s[i].address, &results[i], s[i].skip, s[i].node);
      }
      break;
  }
}

}  // namespace sigil::symbolication
