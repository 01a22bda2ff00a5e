#include "download/download_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "cache/cache.h"
#include "common/invalidation_bus.h"
#include "common/symbol_key.h"
#include "common/worker_pool.h"
#include "download/object_body.h"
#include "storage/object_store.h"

namespace sigil::download {
namespace {

constexpr size_t kCodeIdMaxDebugIdLength = 33;  // spec: "a debug id shorter than 33 chars"
constexpr int64_t kCsvPageSize = 10000;
constexpr size_t kCsvMaxRows = 1000000;

std::chrono::seconds Seconds(int s) { return std::chrono::seconds(s > 0 ? s : 1); }

std::string Upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

// RFC 4180 field: quoted when it holds a comma, quote or line break.
void AppendCsvField(std::string& out, std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += f;
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

DownloadResult Simple(DownloadResult::Kind kind, std::string message = {}) {
  DownloadResult r;
  r.kind = kind;
  r.message = std::move(message);
  return r;
}

}  // namespace

DownloadService::DownloadService(const DownloadConfig& config, storage::ObjectStore& store,
                                 db::Database& db, cache::Cache& cache, InvalidationBus& bus,
                                 WorkerPool& pool)
    : config_(config),
      store_(store),
      db_(db),
      cache_(cache),
      bus_(bus),
      pool_(pool),
      filter_(config.allowed_extensions),
      inline_memo_(cache.InProcess()),
      exists_(
          cache,
          {.prefix = "dl.exists",
           .ttl = Seconds(config.exists_ttl_s),
           .not_found_ttl = std::chrono::seconds(config.miss_ttl_s > 0 ? config.miss_ttl_s : 0)},
          [this](const std::string& key) -> Result<ObjectMeta> {
            auto info = store_.Head(key);
            if (!info.ok()) return info.status();
            return ObjectMeta::FromInfo(*info);
          }),
      codeid_(
          cache,
          {.prefix = "dl.codeid",
           .ttl = Seconds(config.codeid_ttl_s),
           .not_found_ttl =
               std::chrono::seconds(config.codeid_ttl_s > 0 ? config.codeid_ttl_s : 0)},
          [this](const std::string& file, const std::string& id) { return FindSymbol(file, id); }),
      recorder_(db, std::chrono::milliseconds(config.missing_flush_ms)),
      open_files_(static_cast<size_t>(std::max(config.open_files, 0)),
                  Seconds(config.open_file_ttl_s)) {
  subscription_ = bus_.Subscribe([this](const SymbolKey& key) { OnInvalidate(key); });
}

DownloadService::~DownloadService() { bus_.Unsubscribe(subscription_); }

void DownloadService::OnInvalidate(const SymbolKey& key) {
  exists_.Invalidate(key.StorageKey());
  open_files_.Invalidate(key.StorageKey());
  codeid_.InvalidateAll();
}

void DownloadService::Download(DownloadRequest request, Callback done) {
  if (inline_memo_ && !request.refresh) {
    if (auto r = Resolve(request, /*may_block=*/false)) {
      r->from_memo = true;
      done(std::move(*r));
      return;
    }
  }
  // `done` is copied into the task so that it is still ours to call if the pool refuses the task.
  bool queued = pool_.TrySubmit([this, request = std::move(request), done]() mutable {
    done(std::move(*Resolve(request, /*may_block=*/true)));
  });
  if (!queued) {
    DownloadResult r = Simple(DownloadResult::Kind::kError);
    r.status = Unavailable("server busy: worker queue full");
    done(std::move(r));
  }
}

std::optional<Result<ObjectMeta>> DownloadService::Exists(const std::string& storage_key,
                                                          bool may_block, bool refresh) {
  if (!may_block) return exists_.Peek(storage_key);
  if (refresh) return exists_.Refresh(storage_key);
  return exists_.Call(storage_key);
}

std::optional<Result<SymbolRecord>> DownloadService::CodeId(const std::string& file,
                                                            const std::string& id, bool may_block,
                                                            bool refresh) {
  if (!may_block) return codeid_.Peek(file, id);
  if (refresh) return codeid_.Refresh(file, id);
  return codeid_.Call(file, id);
}

std::optional<DownloadResult> DownloadService::Resolve(const DownloadRequest& req, bool may_block) {
  using Kind = DownloadResult::Kind;
  if (filter_.IsIgnored(req.debug_file, req.debug_id, req.filename)) {
    return Simple(Kind::kIgnored, "Symbol Not Found (and ignored)");
  }
  auto parsed = SymbolKey::Parse(req.debug_file, req.debug_id, req.filename);
  if (!parsed.ok()) return Simple(Kind::kInvalid, parsed.status().message());
  SymbolKey key = std::move(parsed).value();

  // Regular storage first, then (for try requests) the try namespace.
  std::string candidates[2];
  size_t n = 0;
  candidates[n++] = key.StorageKey();
  if (req.is_try) {
    SymbolKey try_key = key;
    try_key.is_try = true;
    candidates[n++] = try_key.StorageKey();
  }
  for (size_t i = 0; i < n; ++i) {
    auto found = Exists(candidates[i], may_block, req.refresh);
    if (!found) return std::nullopt;
    if (found->ok()) {
      DownloadResult r;
      r.kind = Kind::kFound;
      r.storage_key = candidates[i];
      r.meta = std::move(*found).value();
      r.local_file = store_.HasLocalFiles();
      if (auto url = store_.PublicUrl(candidates[i])) r.location = std::move(*url);
      return r;
    }
    if (found->status().code() != StatusCode::kNotFound) {
      DownloadResult r = Simple(Kind::kError);
      r.status = found->status();
      return r;
    }
  }

  // A .sym asked for by code file / code id (or by a debug id under another name).
  if (key.file.ends_with(".sym") && key.debug_id.size() < kCodeIdMaxDebugIdLength) {
    auto rec = CodeId(key.debug_file, key.debug_id, may_block, req.refresh);
    if (!rec) return std::nullopt;
    if (rec->ok()) {
      const SymbolRecord& s = **rec;
      std::string path = s.UrlPath();
      if ((!s.is_try() || req.is_try) && path != "/" + candidates[0] &&
          (n < 2 || path != "/" + candidates[1])) {
        DownloadResult r = Simple(Kind::kRedirect);
        r.location = req.query.empty() ? path : path + "?" + req.query;
        return r;
      }
    } else if (rec->status().code() != StatusCode::kNotFound) {
      // The existence check already answered; a failing code-id lookup only loses the redirect.
      spdlog::warn("download: code-id lookup of {}/{} failed: {}", key.debug_file, key.debug_id,
                   rec->status().ToString());
    }
  }

  if (!req.head)
    recorder_.Record(key.debug_file, key.debug_id, key.file, req.code_file, req.code_id);
  return Simple(Kind::kNotFound, "Symbol Not Found");
}

Result<SymbolRecord> DownloadService::FindSymbol(const std::string& file, const std::string& id) {
  std::string ids[2] = {id, Upper(id)};
  size_t n = ids[1] == ids[0] ? 1 : 2;
  for (size_t i = 0; i < n; ++i) {
    auto by_debug = db_.FindSymbolByDebugId(file, ids[i]);
    if (by_debug.ok()) return SymbolRecord::FromFileUpload(*by_debug);
    if (by_debug.status().code() != StatusCode::kNotFound) return by_debug.status();
    auto by_code = db_.FindSymbolByCodeId(file, ids[i]);
    if (by_code.ok()) return SymbolRecord::FromFileUpload(*by_code);
    if (by_code.status().code() != StatusCode::kNotFound) return by_code.status();
  }
  return NotFound("no symbol file recorded for " + file + "/" + id);
}

Result<SymbolRecord> DownloadService::LookupSymbol(const std::string& file, const std::string& id,
                                                   bool refresh) {
  return *CodeId(file, id, /*may_block=*/true, refresh);
}

std::unique_ptr<ObjectBody> DownloadService::OpenBody(const std::string& storage_key, bool gunzip,
                                                      uint64_t offset,
                                                      std::optional<uint64_t> length) {
  return std::make_unique<ObjectBody>(store_, storage_key, gunzip, offset, length);
}

Result<std::shared_ptr<const Fd>> DownloadService::OpenLocal(const std::string& storage_key) {
  return open_files_.Get(storage_key, [&] { return store_.OpenLocal(storage_key); });
}

Result<std::string> DownloadService::MissingSymbolsCsv(TimestampMicros since) {
  if (Status s = recorder_.Flush(); !s.ok()) spdlog::warn("missing symbols csv: {}", s.ToString());
  std::string out = "debug_file,debug_id,code_file,code_id\r\n";
  std::unordered_set<int64_t> seen;
  db::MissingSymbolQuery q;
  q.modified_since = since;
  q.order_by = "created_at";
  q.limit = kCsvPageSize;
  for (q.offset = 0; seen.size() < kCsvMaxRows; q.offset += kCsvPageSize) {
    SIGIL_ASSIGN_OR_RETURN(db::MissingSymbolPage page, db_.QueryMissingSymbols(q));
    for (const auto& row : page.rows) {
      if (!seen.insert(row.id).second) continue;  // a row shifted between pages
      AppendCsvField(out, row.debug_file);
      out += ',';
      AppendCsvField(out, row.debug_id);
      out += ',';
      AppendCsvField(out, row.code_file);
      out += ',';
      AppendCsvField(out, row.code_id);
      out += "\r\n";
    }
    if (static_cast<int64_t>(page.rows.size()) < kCsvPageSize) break;
  }
  return out;
}

Result<db::MissingSymbolPage> DownloadService::QueryMissingSymbols(
    const db::MissingSymbolQuery& query) {
  if (Status s = recorder_.Flush(); !s.ok())
    spdlog::warn("missing symbols query: {}", s.ToString());
  return db_.QueryMissingSymbols(query);
}

}  // namespace sigil::download
