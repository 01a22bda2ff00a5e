// Fuzzes the index loader: a corrupt or truncated index is rejected, and whatever passes validation
// (the checksum is skipped here so the fuzzer reaches the structural checks) answers lookups
// without reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "symbolication/symbol_index.h"

using namespace sigil::symbolication;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)SymbolIndex::FromBytes(bytes);  // with the checksum
  auto index = SymbolIndex::FromBytes(
      std::move(bytes), OpenOptions{.verify_checksum = false, .batch_prefetch_min_bytes = 0});
  if (!index.ok()) return 0;
  LookupResult r;
  const SymbolIndex& idx = **index;
  (void)idx.debug_id();
  (void)idx.code_file();
  for (uint64_t a = 0; a < 0x200; a += 3) idx.Lookup(a, &r);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  uint64_t batch[40];
  for (int i = 0; i < 64; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    idx.Lookup(x, &r);
    idx.Lookup(x & 0xfffff, &r);
    batch[i % 40] = (i % 3) ? (x & 0xfffff) : x;
  }
  std::vector<LookupResult> results(40);
  idx.LookupBatch(batch, results);
  return 0;
}
