// Fuzzes the .sym parser and index builder: any input must build an index that the loader accepts
// (with its checksum) and that answers lookups without reading out of bounds; the builder's two
// inline-nesting paths agree.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "symbolication/index_builder.h"
#include "symbolication/symbol_index.h"

using namespace sigil::symbolication;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  BuildOptions options;
  if (size > 0 && data[0] == 'B') options.parse.max_errors = 100;  // Breakpad's bail-out path too
  auto built = BuildIndex(text, options);
  if (!built.ok()) return 0;
  // The inline sweep and the ContainedRangeMap emulation it falls back from build the same index.
  BuildOptions exact = options;
  exact.emulate_inline_tree = true;
  auto emulated = BuildIndex(text, exact);
  if (!emulated.ok() || emulated->bytes != built->bytes) __builtin_trap();
  auto index =
      SymbolIndex::FromBytes(std::move(built->bytes), OpenOptions{.batch_prefetch_min_bytes = 0});
  if (!index.ok()) __builtin_trap();  // the builder must only write valid indexes
  LookupResult r;
  // Probe around numbers that appear in the input and a few fixed addresses.
  uint64_t probes[] = {0, 1, 0x1000, 0xffffffffffffffffull, 0x7fffffffffffffffull};
  for (uint64_t a : probes) (*index)->Lookup(a, &r);
  std::vector<uint64_t> batch;
  for (size_t i = 0; i + 8 <= size && i < 4096; i += 7) {
    uint64_t a = 0;
    for (int k = 0; k < 4; ++k) a = (a << 8) | data[i + k];
    (*index)->Lookup(a, &r);
    (*index)->Lookup(a & 0xffff, &r);
    batch.push_back(a & 0xffff);
  }
  // The batched lookup must answer exactly what single lookups answer.
  std::vector<LookupResult> results(batch.size());
  (*index)->LookupBatch(batch, results);
  for (size_t i = 0; i < batch.size(); ++i) {
    (*index)->Lookup(batch[i], &r);
    if (r.found != results[i].found || r.function != results[i].function ||
        r.line != results[i].line || r.file != results[i].file ||
        r.inlines.size() != results[i].inlines.size()) {
      __builtin_trap();
    }
  }
  return 0;
}
