// SymbolicationService: symbolicates crash stacks (the model behind POST /symbolicate/v4 and v5).
//
// Module resolution: mapped index from the ModuleCache (memory, then disk), else fetch the .sym
// (SymbolFetcher: own storage, then upstreams) and build the index once even when many requests
// want it at the same time (single-flight); misses are remembered for negative_ttl_s, forgotten
// when the InvalidationBus announces that key (an upload). All modules of a request are resolved in
// parallel on the WorkerPool; the caller is never blocked (the callback runs on a pool thread).
//
// Output semantics are Eliot's (see ../shared/spec/http-api.md §4): frame/module/module_offset
// always; function/function_offset/file/line/inlines when the module was found; found_modules
// true/false/null per memoryMap entry (null = no frame of the request referenced it).
//
// Thread-safe. Must outlive every Symbolicate call in flight (the server drains the pool first).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/config.h"
#include "common/invalidation_bus.h"
#include "common/status.h"
#include "common/worker_pool.h"
#include "storage/object_store.h"
#include "symbolication/module_cache.h"
#include "symbolication/symbol_fetcher.h"

namespace sigil::symbolication {

struct ModuleRef {
  std::string debug_file;
  std::string debug_id;
};

struct FrameRef {
  int64_t module_index = -1;  // -1: not in a module
  bool offset_is_minus_one = false;
  uint64_t module_offset = 0;  // when !offset_is_minus_one
};

struct Job {
  std::vector<ModuleRef> memory_map;
  std::vector<std::vector<FrameRef>> stacks;
};

struct SymbolicateRequest {
  std::vector<Job> jobs;
  bool debug = false;  // collect DebugInfo
};

// Function and file names point into the mapped indexes the response keeps alive (`indexes`).
struct InlineResult {
  std::string_view function;
  std::string_view file;  // "" = absent
  int32_t line = 0;       // 0 = absent
};

struct FrameResult {
  uint64_t frame = 0;  // index in its stack
  std::string module;
  bool offset_is_minus_one = false;
  uint64_t module_offset = 0;
  bool has_function = false;
  std::string_view function;
  uint64_t function_offset = 0;
  std::string_view file;  // "" = absent
  int32_t line = 0;       // reported only with a file and when non-zero
  std::vector<InlineResult> inlines;
};

struct JobResult {
  std::vector<std::vector<FrameResult>> stacks;
  // "<debug_file>/<debug_id>" -> true (found), false (missing/unparsable), nullopt (not looked up);
  // in memoryMap order, each key once.
  std::vector<std::pair<std::string, std::optional<bool>>> found_modules;
};

// Timings and counts for the "debug" block (seconds; per-module maps keyed
// "<debug_file>/<debug_id>").
struct DebugInfo {
  double time = 0;
  uint64_t cache_lookups = 0, cache_hits = 0;
  double cache_time = 0;
  uint64_t downloads = 0;
  std::map<std::string, uint64_t> download_size_per_module;
  std::map<std::string, double> download_time_per_module;
  std::map<std::string, double> download_fail_time_per_module;
  std::map<std::string, double> parse_time_per_module;
  std::map<std::string, double> save_time_per_module;
  std::map<std::string, uint64_t> stacks_per_module;
  uint64_t modules = 0;
};

struct SymbolicateResponse {
  std::vector<JobResult> results;
  DebugInfo debug;
  std::vector<std::shared_ptr<const SymbolIndex>> indexes;  // owners of the names in `results`
};

struct ServiceStats {
  uint64_t requests = 0, frames = 0;
  uint64_t modules_built = 0, modules_missing = 0, negative_hits = 0, fetch_errors = 0;
  uint64_t single_flight_waits = 0;
};

class SymbolicationService {
 public:
  using Callback = std::function<void(Result<SymbolicateResponse>)>;

  // `index_dir` holds the on-disk index cache. Subscribes to `bus` (unsubscribes in the
  // destructor).
  SymbolicationService(const SymbolicationConfig& config, storage::ObjectStore& store,
                       WorkerPool& pool, InvalidationBus& bus, std::string index_dir);
  ~SymbolicationService();
  SymbolicationService(const SymbolicationService&) = delete;
  SymbolicationService& operator=(const SymbolicationService&) = delete;

  // Checks the limits (kInvalidArgument with a message naming the limit), then resolves the
  // request's modules in parallel on the pool and calls `done` exactly once, on a pool thread (or
  // on the calling thread for a limit error or an empty request). Never blocks the caller.
  void Symbolicate(SymbolicateRequest request, Callback done);
  // Blocking form for the CLI and tests; must not be called from a pool thread.
  Result<SymbolicateResponse> SymbolicateSync(SymbolicateRequest request);

  // Resolves one module: the mapped index, nullptr when missing (blocking; any thread).
  struct ModuleOutcome {
    std::shared_ptr<const SymbolIndex> index;  // null = not found / unparsable
    bool cache_hit = false, downloaded = false, negative_hit = false;
    uint64_t download_bytes = 0;
    double cache_time = 0, download_time = 0, parse_time = 0, save_time = 0;
    Status error;  // why it is missing, when it is
  };
  ModuleOutcome ResolveModule(const std::string& debug_file, const std::string& debug_id);

  ServiceStats stats() const;
  const SymbolicationConfig& config() const { return config_; }
  // Null when the index directory could not be created (indexes then live in memory only).
  ModuleCache* cache() { return cache_.get(); }

 private:
  struct Flight;
  struct RequestState;
  ModuleOutcome BuildModule(const std::string& debug_file, const std::string& debug_id);
  void Finish(const std::shared_ptr<RequestState>& state);
  void OnInvalidation(const SymbolKey& key);

  SymbolicationConfig config_;
  WorkerPool& pool_;
  InvalidationBus& bus_;
  uint64_t subscription_ = 0;
  std::unique_ptr<ModuleCache> cache_;
  Status cache_error_;
  SymbolFetcher fetcher_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
  std::unordered_map<std::string, int64_t> negative_;  // key -> expiry (micros)
  ServiceStats stats_;
};

}  // namespace sigil::symbolication
