// DownloadService: answers symbol download requests (GET/HEAD /<debug_file>/<debug_id>/<file>,
// /try/...), the code-id lookups behind /api/syminfo, and the missing-symbols reports. Plain types
// only (no http/): src/api maps DownloadResult to a response.
//
// Lookup order (docs: spec §3): ignore rules → key validation → existence (regular storage, then
// try storage for try requests) → for a miss of a `.sym` with a debug id shorter than 33
// characters, the recorded file with that (debug_filename, debug_id) or (code_file, code_id) → miss
// (GET: recorded in the MissingSymbolsRecorder).
//
// Caching: existence/metadata lookups (ObjectStore::Head) are memoized per storage key, hits for
// exists_ttl_s and misses for miss_ttl_s; code-id lookups for codeid_ttl_s, misses too. Every
// SymbolKey published on the InvalidationBus drops its existence entry and every code-id entry (a
// new upload may answer any code-id lookup). `refresh` (?_refresh) recomputes and stores.
//
// Threads: Download() never blocks when the cache is in-process (Cache::InProcess) and the memo
// answers: it then calls `done` before returning, on the caller's (io) thread. Otherwise it hops to
// the WorkerPool with TrySubmit; a full queue answers kUnavailable at once. ObjectStore::PublicUrl
// and HasLocalFiles are called on the calling thread: both are pure computations in every backend
// (no I/O). All methods are thread-safe. The service must outlive the routes that use it; its
// destructor unsubscribes from the bus and flushes pending missing-symbol counts.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/memoize.h"
#include "common/config.h"
#include "common/fd.h"
#include "common/status.h"
#include "db/database.h"
#include "download/missing_recorder.h"
#include "download/open_file_cache.h"
#include "download/records.h"
#include "download/symbol_filter.h"

namespace sigil {
class InvalidationBus;
class WorkerPool;
struct SymbolKey;
}  // namespace sigil
namespace sigil::storage {
class ObjectStore;
}
namespace sigil::cache {
class Cache;
}

namespace sigil::download {

class ObjectBody;

struct DownloadRequest {
  std::string debug_file;  // path parts as received (percent-decoded)
  std::string debug_id;
  std::string filename;
  bool is_try = false;    // the /try/ prefix or a `try` query parameter
  bool head = false;      // HEAD: existence only; never recorded as missing
  bool refresh = false;   // `_refresh` query parameter: bypass the memo
  std::string code_file;  // `code_file` / `code_id` query parameters (recorded with a miss)
  std::string code_id;
  std::string query;  // raw query string, kept on code-id redirects
};

struct DownloadResult {
  enum class Kind {
    kIgnored,   // 404 "Symbol Not Found (and ignored)"
    kInvalid,   // 400, `message` says which part is wrong
    kNotFound,  // 404 "Symbol Not Found"
    kFound,  // serve `meta` of `storage_key` (or redirect to `location` if set: public storage URL)
    kRedirect,  // 302 to `location` (code-id lookup: relative path with the query kept)
    kError,     // `status` (storage/database failure or a full worker queue)
  };
  Kind kind = Kind::kNotFound;
  std::string message;
  std::string location;
  std::string storage_key;
  ObjectMeta meta;
  bool local_file = false;  // the store has the object as a local file (OpenLocal, sendfile)
  Status status;
  bool from_memo = false;  // answered on the calling thread without a worker hop
};

class DownloadService {
 public:
  using Callback = std::function<void(DownloadResult)>;

  // All references must outlive the service.
  DownloadService(const DownloadConfig& config, storage::ObjectStore& store, db::Database& db,
                  cache::Cache& cache, InvalidationBus& bus, WorkerPool& pool);
  ~DownloadService();
  DownloadService(const DownloadService&) = delete;
  DownloadService& operator=(const DownloadService&) = delete;

  // Resolves a download request; `done` is called exactly once, on this thread or a worker.
  void Download(DownloadRequest request, Callback done);

  // A stream of the object's bytes (decoded when `gunzip`) in [offset, offset + length); see
  // ObjectBody.
  std::unique_ptr<ObjectBody> OpenBody(const std::string& storage_key, bool gunzip, uint64_t offset,
                                       std::optional<uint64_t> length);

  // The stored bytes of a found object as an open read-only descriptor (local storage only; see
  // ObjectStore::OpenLocal), from the OpenFileCache when kept open (download.open_files), else one
  // open(2). Callable on an io thread.
  Result<std::shared_ptr<const Fd>> OpenLocal(const std::string& storage_key);
  // Descriptors kept open by the OpenFileCache.
  size_t open_files() const { return open_files_.size(); }

  // The recorded .sym for (debug_filename, debug_id) or (code_file, code_id); kNotFound. Blocking.
  Result<SymbolRecord> LookupSymbol(const std::string& file, const std::string& id, bool refresh);

  // Missing-symbol reports (blocking; pending counts are flushed first so they are included).
  // CSV: header `debug_file,debug_id,code_file,code_id`, rows modified at or after `since`.
  Result<std::string> MissingSymbolsCsv(TimestampMicros since);
  Result<db::MissingSymbolPage> QueryMissingSymbols(const db::MissingSymbolQuery& query);

  MissingSymbolsRecorder& missing_symbols() { return recorder_; }
  const SymbolFilter& filter() const { return filter_; }
  WorkerPool& pool() { return pool_; }

 private:
  // Resolves with the memo only (may_block = false: nullopt when a lookup would block) or fully.
  std::optional<DownloadResult> Resolve(const DownloadRequest& request, bool may_block);
  std::optional<Result<ObjectMeta>> Exists(const std::string& storage_key, bool may_block,
                                           bool refresh);
  std::optional<Result<SymbolRecord>> CodeId(const std::string& file, const std::string& id,
                                             bool may_block, bool refresh);
  Result<SymbolRecord> FindSymbol(const std::string& file, const std::string& id);
  void OnInvalidate(const SymbolKey& key);

  const DownloadConfig config_;
  storage::ObjectStore& store_;
  db::Database& db_;
  cache::Cache& cache_;
  InvalidationBus& bus_;
  WorkerPool& pool_;
  const SymbolFilter filter_;
  const bool inline_memo_;
  cache::Memoize<ObjectMeta(std::string), ObjectMetaCodec> exists_;
  cache::Memoize<SymbolRecord(std::string, std::string), SymbolRecordCodec> codeid_;
  MissingSymbolsRecorder recorder_;
  OpenFileCache open_files_;
  uint64_t subscription_ = 0;
};

}  // namespace sigil::download
