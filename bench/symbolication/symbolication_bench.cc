// Symbolication benchmarks (driver: bench/symbolication/run.sh; results in docs/benchmarks.md).
//
// - BM_Build/<input>: index build from an in-memory .sym (bytes/s); the index size ratio as a
//   counter.
// - BM_WcL/<input>: the reference in the same run, counting '\n' with memchr (what `wc -l` does).
// - BM_Lookup/<input>: random addresses inside the module (items/s = lookups/s).
// - BM_LookupInline/<input>: random addresses that have inline frames.
// - BM_LookupBatch[Inline]/<input>: the same addresses through LookupBatch, 1,000 per call.
// - BM_SortedArraySearch: one binary search over the same range starts (a floor).
// - BM_WarmRequest: 1,000 frames over 10 modules through the v5 JSON parse, the service and the
//   formatting, warm caches; p50/p99 counters in microseconds.
//
// Large inputs are generated into SIGIL_BENCH_DATA (default ./bench-data) on first use: the biggest
// test .sym (and the inline-rich ssltunnel.sym) tiled with shifted addresses to >= 200 MB (fixed
// seed). Indexes are used from the builder's buffer (transparent huge pages); `<input>_mapped`
// writes the same index to a file and opens it as the server does (mmap, 4 KiB page-cache pages).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <sstream>

#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "storage/object_store.h"
#include "symbolication/index_builder.h"
#include "symbolication/request_json.h"
#include "symbolication/symbol_index.h"
#include "symbolication/symbolication_service.h"

namespace sigil::symbolication {
namespace {

namespace fs = std::filesystem;

const fs::path kData = fs::path(SIGIL_SHARED_DIR) / "testdata";
const char* kBiggest =
    "symbols/microdump/breakpad_unittests/D6D1FEC9A15DE7F38A236898871A2E770/breakpad_unittests.sym";
const char* kInlineRich = "symbols/ssltunnel/8A07C88A3DA44E20A3490D88791183060/ssltunnel.sym";
constexpr uint64_t kTiledBytes = 200ull << 20;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path DataDir() {
  const char* env = std::getenv("SIGIL_BENCH_DATA");
  fs::path dir = env ? fs::path(env) : fs::path("bench-data");
  fs::create_directories(dir);
  return dir;
}

std::string HexStr(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Adds `delta` to the hex token at `index` (space-separated, 0-based).
std::string ShiftToken(std::string_view line, size_t index, uint64_t delta) {
  size_t pos = 0;
  for (size_t t = 0; t < index; ++t) {
    pos = line.find(' ', pos);
    if (pos == std::string_view::npos) return std::string(line);
    ++pos;
  }
  size_t end = line.find(' ', pos);
  if (end == std::string_view::npos) end = line.size();
  uint64_t v = std::stoull(std::string(line.substr(pos, end - pos)), nullptr, 16) + delta;
  return std::string(line.substr(0, pos)) + HexStr(v) + std::string(line.substr(end));
}

// Tiles `src` (a .sym) with every address shifted by a growing offset until >= min_bytes. FUNC and
// PUBLIC names get a per-tile suffix so the string table cannot deduplicate across tiles.
std::string Tile(const std::string& src, uint64_t min_bytes) {
  uint64_t max_addr = 0;
  std::istringstream scan(src);
  std::string line;
  while (std::getline(scan, line)) {
    if (line.rfind("FUNC ", 0) == 0 || line.rfind("PUBLIC ", 0) == 0) {
      std::istringstream t(line);
      std::string kw, a;
      t >> kw >> a;
      if (a == "m") t >> a;
      max_addr = std::max<uint64_t>(max_addr, std::stoull(a, nullptr, 16) + 0x10000);
    }
  }
  std::mt19937_64 rng(20261124);
  std::string out;
  out.reserve(min_bytes + src.size());
  uint64_t base = 0;
  for (int tile = 0; out.size() < min_bytes; ++tile) {
    std::istringstream in(src);
    std::string suffix = " #" + std::to_string(tile);
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      if (line.rfind("MODULE ", 0) == 0 || line.rfind("INFO ", 0) == 0 ||
          line.rfind("FILE ", 0) == 0 || line.rfind("INLINE_ORIGIN ", 0) == 0) {
        if (tile == 0) out += line + "\n";
        continue;
      }
      if (line.rfind("FUNC ", 0) == 0 || line.rfind("PUBLIC ", 0) == 0) {
        size_t at = line.find(' ') + 1;
        out += ShiftToken(line, line.compare(at, 2, "m ") == 0 ? 2 : 1, base) + suffix + "\n";
      } else if (line.rfind("STACK CFI INIT ", 0) == 0) {
        out += ShiftToken(line, 3, base) + "\n";
      } else if (line.rfind("STACK CFI ", 0) == 0) {
        out += ShiftToken(line, 2, base) + "\n";
      } else if (line.rfind("STACK WIN ", 0) == 0) {
        out += ShiftToken(line, 3, base) + "\n";
      } else if (line.rfind("INLINE ", 0) == 0) {
        // INLINE level line [file] origin (addr size)+ : shift every address (odd/even parity).
        std::istringstream t(line.substr(7));
        std::vector<std::string> f;
        std::string x;
        while (t >> x) f.push_back(x);
        size_t first = f.size() % 2 == 0 ? 4 : 3;
        std::string o = "INLINE";
        for (size_t i = 0; i < f.size(); ++i) {
          o += " ";
          o += (i >= first && (i - first) % 2 == 0) ? HexStr(std::stoull(f[i], nullptr, 16) + base)
                                                    : f[i];
        }
        out += o + "\n";
      } else {
        out += ShiftToken(line, 0, base) + "\n";  // line record
      }
    }
    base += max_addr + (rng() % 64) * 0x1000;
  }
  return out;
}

struct Input {
  std::string name;
  std::string sym;
  std::unique_ptr<SymbolIndex> index;
  std::vector<uint64_t> addresses;         // random addresses inside [first, last range]
  std::vector<uint64_t> inline_addresses;  // random addresses with inline frames
  std::vector<uint64_t> starts;            // FUNC/PUBLIC starts, for the floor reference
  uint64_t lo = 0, hi = 0;                 // first and last FUNC/PUBLIC address
};

// Random addresses that have inline frames (sampled once per input).
const std::vector<uint64_t>& InlineAddresses(Input& in) {
  if (in.inline_addresses.empty()) {
    std::mt19937_64 rng(11);
    LookupResult r;
    for (int tries = 0; tries < (1 << 22) && in.inline_addresses.size() < (1 << 14); ++tries) {
      uint64_t a = in.lo + rng() % (in.hi - in.lo + 1);
      if (in.index->Lookup(a, &r) && !r.inlines.empty()) in.inline_addresses.push_back(a);
    }
  }
  return in.inline_addresses;
}

Input& GetInput(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Input>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return *it->second;
  auto in = std::make_unique<Input>();
  in->name = name;
  const std::string kMapped = "_mapped";
  if (name.size() > kMapped.size() && name.ends_with(kMapped)) {
    // The same index written to a file and opened as the server does (mmap of the page cache,
    // 4 KiB pages) instead of held in the builder's buffer (transparent huge pages).
    Input& base = GetInput(name.substr(0, name.size() - kMapped.size()));
    const std::string path = (DataDir() / (name + ".symidx")).string();
    auto built = BuildIndex(base.sym);
    Status written = built.ok() ? WriteIndexFile(path, built->bytes) : built.status();
    auto opened =
        written.ok() ? SymbolIndex::Open(path) : Result<std::unique_ptr<SymbolIndex>>(written);
    if (!opened.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), opened.status().ToString().c_str());
      std::exit(1);
    }
    in->index = std::move(*opened);
    in->addresses = base.addresses;
    in->starts = base.starts;
    in->lo = base.lo;
    in->hi = base.hi;
    return *cache.emplace(name, std::move(in)).first->second;
  }
  if (name == "tiled_biggest" || name == "tiled_inline") {
    fs::path p = DataDir() / (name + ".sym");
    if (!fs::exists(p) || fs::file_size(p) < kTiledBytes) {
      std::string tiled =
          Tile(Slurp(kData / (name == "tiled_biggest" ? kBiggest : kInlineRich)), kTiledBytes);
      std::ofstream(p, std::ios::binary) << tiled;
    }
    in->sym = Slurp(p);
  } else {
    in->sym = Slurp(kData / name);
  }
  auto built = BuildIndex(in->sym);
  in->index = std::move(SymbolIndex::FromBytes(std::move(built->bytes))).value();
  // Address space of the module: from the first to the last FUNC/PUBLIC.
  uint64_t lo = UINT64_MAX, hi = 0;
  std::istringstream scan(in->sym);
  std::string line;
  while (std::getline(scan, line)) {
    if (line.rfind("FUNC ", 0) == 0 || line.rfind("PUBLIC ", 0) == 0) {
      std::istringstream t(line);
      std::string kw, a;
      t >> kw >> a;
      if (a == "m") t >> a;
      uint64_t v = std::stoull(a, nullptr, 16);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      in->starts.push_back(v);
    }
  }
  std::sort(in->starts.begin(), in->starts.end());
  std::mt19937_64 rng(7);
  for (int i = 0; i < (1 << 16); ++i) in->addresses.push_back(lo + rng() % (hi - lo + 1));
  in->lo = lo;
  in->hi = hi;
  return *cache.emplace(name, std::move(in)).first->second;
}

void BM_Build(benchmark::State& state, const std::string& name) {
  Input& in = GetInput(name);
  uint64_t index_bytes = 0;
  for (auto _ : state) {
    auto built = BuildIndex(in.sym);
    index_bytes = built->bytes.size();
    benchmark::DoNotOptimize(built->bytes.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.sym.size()));
  state.counters["sym_MB"] = static_cast<double>(in.sym.size()) / 1e6;
  state.counters["index_ratio"] =
      static_cast<double>(index_bytes) / static_cast<double>(in.sym.size());
}

void BM_WcL(benchmark::State& state, const std::string& name) {
  Input& in = GetInput(name);
  for (auto _ : state) {
    const char* p = in.sym.data();
    const char* e = p + in.sym.size();
    uint64_t lines = 0;
    while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(e - p)))) !=
           nullptr) {
      ++lines;
      ++p;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.sym.size()));
}

void BM_Lookup(benchmark::State& state, const std::string& name, bool inlines) {
  Input& in = GetInput(name);
  const std::vector<uint64_t>& addrs = inlines ? InlineAddresses(in) : in.addresses;
  if (addrs.empty()) {
    state.SkipWithError("no addresses with inline frames");
    return;
  }
  LookupResult r;
  size_t i = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    found += in.index->Lookup(addrs[i], &r);
    benchmark::DoNotOptimize(r.function.data());
    if (++i == addrs.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["hit_rate"] = static_cast<double>(found) / static_cast<double>(state.iterations());
}

// LookupBatch over 1,000 consecutive addresses of the same list (items/s = lookups/s).
void BM_LookupBatch(benchmark::State& state, const std::string& name, bool inlines) {
  Input& in = GetInput(name);
  const std::vector<uint64_t>& addrs = inlines ? InlineAddresses(in) : in.addresses;
  constexpr size_t kBatch = 1000;
  if (addrs.size() < kBatch) {
    state.SkipWithError("too few addresses");
    return;
  }
  std::vector<LookupResult> results(kBatch);
  size_t pos = 0;
  uint64_t found = 0;
  for (auto _ : state) {
    if (pos + kBatch > addrs.size()) pos = 0;
    in.index->LookupBatch(std::span<const uint64_t>(addrs.data() + pos, kBatch), results);
    for (const LookupResult& r : results) found += r.found;
    benchmark::DoNotOptimize(results.data());
    pos += kBatch;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["hit_rate"] =
      static_cast<double>(found) / static_cast<double>(state.iterations() * kBatch);
}

void BM_SortedArraySearch(benchmark::State& state, const std::string& name) {
  Input& in = GetInput(name);
  size_t i = 0;
  for (auto _ : state) {
    auto it = std::upper_bound(in.starts.begin(), in.starts.end(), in.addresses[i]);
    benchmark::DoNotOptimize(it);
    if (++i == in.addresses.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// ---- Warm service request ----
class MemoryStore : public storage::ObjectStore {
 public:
  std::map<std::string, std::string> objects;
  std::string Name() const override { return "memory"; }
  Status Put(std::string_view k, std::string_view d, const storage::PutOptions&) override {
    objects[std::string(k)] = std::string(d);
    return Status::Ok();
  }
  Status PutFile(std::string_view, const std::string&, const storage::PutOptions&) override {
    return Internal("unused");
  }
  Result<std::unique_ptr<storage::ObjectReader>> Get(std::string_view k) override {
    auto it = objects.find(std::string(k));
    if (it == objects.end()) return NotFound(std::string(k));
    auto r = std::make_unique<Reader>();
    r->data = it->second;
    return std::unique_ptr<storage::ObjectReader>(std::move(r));
  }
  Result<storage::ObjectInfo> Head(std::string_view) override { return NotFound("unused"); }
  Result<bool> Exists(std::string_view k) override { return objects.count(std::string(k)) > 0; }
  Status Delete(std::string_view) override { return Status::Ok(); }
  Result<std::vector<storage::ListEntry>> List(std::string_view, size_t) override {
    return std::vector<storage::ListEntry>{};
  }
  std::optional<std::string> PublicUrl(std::string_view) const override { return std::nullopt; }
  Status Ping() override { return Status::Ok(); }

 private:
  struct Reader : storage::ObjectReader {
    std::string data;
    size_t pos = 0;
    storage::ObjectInfo info_;
    const storage::ObjectInfo& info() const override { return info_; }
    Result<size_t> Read(char* buf, size_t size) override {
      size_t n = std::min(size, data.size() - pos);
      std::memcpy(buf, data.data() + pos, n);
      pos += n;
      return n;
    }
  };
};

void BM_WarmRequest(benchmark::State& state) {
  // Ten real modules in store layout, 100 frames each at random offsets of their FUNCs.
  const char* modules[][2] = {
      {"breakpad_unittests", "D6D1FEC9A15DE7F38A236898871A2E770"},
      {"breakpad_unittests", "DA7778FB66018A4E9B4110ED06E730D00"},
      {"test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1"},
      {"kernel32.pdb", "BCE8785C57B44245A669896B6A19B9542"},
      {"libc-2.13.so", "F4F8DFCD5A5FB5A7CE64717E9E6AE3890"},
      {"overflow", "B0E1FC01EF48E39CAF5C881D2DF0C3840"},
      {"null_read_av", "7B7D1968FF0D47AE4366E9C3A7E1B6750"},
      {"ssltunnel", "8A07C88A3DA44E20A3490D88791183060"},
      {"libgcc_s.so.1", "18B180F90887D8F8B5C35D185444AF4C0"},
      {"c++filt", "B2E65520F14FB5332E38A5A5189839AD0"},
  };
  MemoryStore store;
  std::string request = R"({"jobs":[{"memoryMap":[)";
  std::vector<std::vector<uint64_t>> starts;
  for (int m = 0; m < 10; ++m) {
    std::string df = modules[m][0], id = modules[m][1];
    fs::path dir = kData / "symbols";
    fs::path p = fs::exists(dir / "microdump" / df / id)
                     ? dir / "microdump" / df / id / SymFileName(df)
                     : dir / df / id / SymFileName(df);
    std::string sym = Slurp(p);
    store.objects[df + "/" + id + "/" + SymFileName(df)] = sym;
    request += std::string(m ? "," : "") + "[\"" + df + "\",\"" + id + "\"]";
    auto idx = SymbolIndex::FromBytes(BuildIndex(sym)->bytes);
    std::vector<uint64_t> s;
    std::istringstream scan(sym);
    std::string line;
    while (std::getline(scan, line)) {
      if (line.rfind("FUNC ", 0) != 0) continue;
      std::istringstream t(line);
      std::string kw, a;
      t >> kw >> a;
      if (a == "m") t >> a;
      s.push_back(std::stoull(a, nullptr, 16));
    }
    if (s.empty()) s.push_back(0x1000);
    starts.push_back(s);
  }
  request += R"(],"stacks":[[)";
  std::mt19937_64 rng(99);
  for (int f = 0; f < 1000; ++f) {
    int m = f % 10;
    uint64_t off = starts[m][rng() % starts[m].size()] + rng() % 16;
    request +=
        std::string(f ? "," : "") + "[" + std::to_string(m) + "," + std::to_string(off) + "]";
  }
  request += "]]}]}";
  SymbolicationConfig config;
  WorkerPool pool(2, 1024, "bench");
  LocalInvalidationBus bus;
  fs::path cache_dir = DataDir() / "index-cache";
  fs::remove_all(cache_dir);
  SymbolicationService service(config, store, pool, bus, cache_dir.string());
  auto call = [&] {
    auto req = ParseSymbolicateRequest(request, ApiVersion::kV5, 10);
    auto resp = service.SymbolicateSync(std::move(req).value());
    return FormatV5(*resp, false);
  };
  std::string first = call();  // cold: fetch + build all ten
  if (first.find("\"function\"") == std::string::npos) state.SkipWithError("nothing symbolicated");
  std::vector<double> us;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    std::string out = call();
    benchmark::DoNotOptimize(out.data());
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 1000));
}

void Register() {
  std::vector<std::string> real = {
      kBiggest, "symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym",
      "symbols/kernel32.pdb/BCE8785C57B44245A669896B6A19B9542/kernel32.sym", kInlineRich};
  std::vector<std::string> all = {"tiled_biggest"};
  all.insert(all.end(), real.begin(), real.end());
  for (const std::string& n : all) {
    std::string label = n.substr(n.rfind('/') + 1);
    benchmark::RegisterBenchmark(("BM_Build/" + label).c_str(), BM_Build, n)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_WcL/" + label).c_str(), BM_WcL, n)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_Lookup/" + label).c_str(), BM_Lookup, n, false);
    benchmark::RegisterBenchmark(("BM_LookupBatch/" + label).c_str(), BM_LookupBatch, n, false);
    benchmark::RegisterBenchmark(("BM_SortedArraySearch/" + label).c_str(), BM_SortedArraySearch,
                                 n);
  }
  benchmark::RegisterBenchmark("BM_Build/tiled_inline", BM_Build, std::string("tiled_inline"))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_WcL/tiled_inline", BM_WcL, std::string("tiled_inline"))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_Lookup/tiled_inline", BM_Lookup, std::string("tiled_inline"),
                               false);
  benchmark::RegisterBenchmark("BM_LookupBatch/tiled_inline", BM_LookupBatch,
                               std::string("tiled_inline"), false);
  for (const std::string& n : {std::string("tiled_inline"), std::string("tiled_inline_mapped"),
                               std::string(kInlineRich)}) {
    std::string label = n.substr(n.rfind('/') + 1);
    benchmark::RegisterBenchmark(("BM_LookupInline/" + label).c_str(), BM_Lookup, n, true);
    benchmark::RegisterBenchmark(("BM_LookupBatchInline/" + label).c_str(), BM_LookupBatch, n,
                                 true);
  }
  benchmark::RegisterBenchmark("BM_WarmRequest", BM_WarmRequest)
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(2000);
}

}  // namespace
}  // namespace sigil::symbolication

int main(int argc, char** argv) {
  sigil::symbolication::Register();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
