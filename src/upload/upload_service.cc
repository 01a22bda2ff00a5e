#include "upload/upload_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <numeric>

#include "common/clock.h"
#include "upload/helper_fanout.h"
#include "upload/member_work.h"

namespace sigil::upload {
namespace {

// Process-wide cap on staged bytes held in memory.
constexpr uint64_t kStagingBudget = 64ull << 20;

// At most this many members of one upload (the largest) are staged as the store's pending objects
// (each holds two open temp files until the commit); the rest are staged in memory or in temp
// files (MemberPreparer) and Put one by one.
constexpr size_t kMaxPendingPerUpload = 128;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Extension(std::string_view file) {
  size_t dot = file.rfind('.');
  return dot == std::string_view::npos ? "" : Lower(file.substr(dot + 1));
}

}  // namespace

UploadService::UploadService(const UploadConfig& config, storage::ObjectStore& store,
                             db::Database& db, WorkerPool& pool, InvalidationBus& bus,
                             std::string tmp_dir)
    : config_(config),
      store_(store),
      db_(db),
      pool_(pool),
      bus_(bus),
      tmp_dir_(std::move(tmp_dir)),
      fetcher_(config, tmp_dir_),
      staging_budget_(kStagingBudget),
      preparer_(config_, store_, keys_, staging_budget_, tmp_dir_) {}

Status UploadService::CheckArchiveName(std::string_view name) {
  std::string ext;
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && name.find('/', dot) == std::string_view::npos) {
    ext = std::string(name.substr(dot));
  }
  if (Lower(ext) == ".zip") return Status::Ok();
  return InvalidArgument("Unrecognized archive file extension \"" + ext + "\"");
}

storage::PutOptions UploadService::OptionsFor(const MemberWork& work) {
  storage::PutOptions options;
  if (work.compress) {
    options.content_type = "text/plain";
    options.content_encoding = "gzip";
    options.metadata["original_size"] = std::to_string(work.member->size);
    options.metadata["original_md5_hash"] = work.md5;
  } else {
    options.content_type = "application/octet-stream";
    options.content_md5 = work.md5;  // the stored bytes are the member's bytes
  }
  return options;
}

// Under the key's lock (held by the caller): false (and the member marked skipped) if another
// upload on this node stored the same content after our Head.
bool UploadService::StillNeeded(MemberWork& work) {
  if (work.pin.entry().generation == work.pin.generation_at_pin()) return true;
  auto head = store_.Head(work.storage_key);
  if (head.ok() && work.SameAs(*head)) {
    work.outcome = MemberWork::Outcome::kSkipped;
    return false;
  }
  if (head.ok()) work.existing = std::move(head).value();
  return true;
}

// Stores and records a member staged on its own (in memory or a temp file; the store's pending
// objects go in StoreBatch).
Status UploadService::Store(MemberWork& work, int64_t upload_id) {
  work.store_started = NowMicros();
  {
    KeyRegistry::Entry& entry = work.pin.entry();
    std::lock_guard lock(entry.mu);
    if (!StillNeeded(work)) return Status::Ok();
    storage::PutOptions options = OptionsFor(work);
    Status put = work.staged->in_memory()
                     ? store_.Put(work.storage_key, work.staged->data(), options)
                     : store_.PutFile(work.storage_key, work.staged->path(), options);
    if (!put.ok()) return StorageError(put, "storing", work.storage_key);
    ++entry.generation;
  }
  work.outcome = MemberWork::Outcome::kStored;
  return Record({&work}, upload_id);
}

// Takes the keys' locks in key order (so two batches cannot deadlock), drops members another upload
// stored meanwhile, and commits the rest as one batch. Members the store committed are marked
// stored (to be recorded by the caller), also when the batch fails part way.
Status UploadService::StoreBatch(std::vector<MemberWork*>& batch) {
  std::sort(batch.begin(), batch.end(), [](const MemberWork* a, const MemberWork* b) {
    return a->storage_key < b->storage_key;
  });
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(batch.size());
  for (MemberWork* w : batch) locks.emplace_back(w->pin.entry().mu);
  TimestampMicros started = NowMicros();
  std::vector<storage::PendingCommit> commits;
  std::vector<MemberWork*> committing;
  for (MemberWork* w : batch) {
    if (!StillNeeded(*w)) continue;
    commits.push_back(storage::PendingCommit{w->storage_key, OptionsFor(*w), w->staged->pending()});
    committing.push_back(w);
  }
  Status put = commits.empty() ? Status::Ok() : store_.CommitPuts(commits);
  for (size_t i = 0; i < commits.size(); ++i) {
    if (!commits[i].committed) continue;
    ++committing[i]->pin.entry().generation;
    committing[i]->outcome = MemberWork::Outcome::kStored;
    committing[i]->store_started = started;
  }
  if (!put.ok()) {
    return Internal("storing a batch of " + std::to_string(commits.size()) +
                    " objects: " + put.ToString());
  }
  return Status::Ok();
}

// The file_uploads rows, the upload's stored keys (one transaction) and the invalidation events of
// stored members.
Status UploadService::Record(const std::vector<MemberWork*>& works, int64_t upload_id) {
  if (works.empty()) return Status::Ok();
  std::vector<db::FileUpload> files;
  files.reserve(works.size());
  for (MemberWork* w : works) files.push_back(FileRow(*w, upload_id));
  auto rows = db_.RecordStoredFiles(upload_id, files);
  if (!rows.ok()) {
    return StorageError(
        rows.status(), "recording",
        works.size() == 1 ? works[0]->storage_key : std::to_string(works.size()) + " stored files");
  }
  for (MemberWork* w : works) bus_.Publish(w->member->key);
  return Status::Ok();
}

// The file_uploads row of a stored member. Frees its staged bytes (memory / the temp file) early,
// which also marks it recorded.
db::FileUpload UploadService::FileRow(MemberWork& work, int64_t upload_id) {
  const ArchiveMember& m = *work.member;
  db::FileUpload file;
  file.upload_id = upload_id;
  file.bucket_name = store_.Name();
  file.key = work.storage_key;
  file.size = work.staged->size();
  file.compressed = work.compress;
  file.update = work.existing.has_value();
  file.debug_filename = m.key.debug_file;
  file.debug_id = m.key.debug_id;
  if (work.header) {
    file.debug_filename = work.header->debug_file;
    file.debug_id = work.header->debug_id;
    for (char& c : file.debug_id)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    file.code_file = work.header->code_file;
    file.code_id = work.header->code_id;
    file.generator = work.header->generator;
  }
  file.created_at = work.store_started;
  file.completed_at = NowMicros();
  work.staged.reset();
  return file;
}

Result<db::Upload> UploadService::Upload(const UploadRequest& request) {
  TimestampMicros created_at = NowMicros();
  SIGIL_RETURN_IF_ERROR(CheckArchiveName(request.filename));
  SIGIL_ASSIGN_OR_RETURN(ArchivePlan plan,
                         InspectArchive(request.archive, config_, request.try_symbols));

  std::vector<std::string> compress_exts;
  for (const std::string& e : config_.compress_extensions) {
    compress_exts.push_back(Lower(e.starts_with(".") ? e.substr(1) : e));
  }
  const size_t n = plan.members.size();
  std::vector<MemberWork> works(n);
  for (size_t i = 0; i < n; ++i) {
    MemberWork& w = works[i];
    w.member = &plan.members[i];
    w.storage_key = w.member->key.StorageKey();
    std::string ext = Extension(w.member->key.file);
    w.compress = std::find(compress_exts.begin(), compress_exts.end(), ext) != compress_exts.end();
    w.is_sym = ext == "sym";
  }
  // Largest first, so one big member does not start last and stretch the wall time.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return plan.members[a].size > plan.members[b].size; });
  const size_t helpers = n == 0 ? 0 : std::min(pool_.threads(), n - 1);
  if (store_.SupportsPendingPuts()) {
    for (size_t i = 0; i < n && i < kMaxPendingPerUpload; ++i) works[order[i]].use_pending = true;
  }

  // Phase 1: read, verify, hash and compress every member; nothing is stored yet.
  const TimestampMicros phase1_started = NowMicros();
  SIGIL_RETURN_IF_ERROR(preparer_.Prepare(request.archive, works, order, pool_, helpers));

  db::Upload row;
  row.user_id = request.user_id;
  row.user_email = request.user_email;
  row.filename = request.filename;
  row.size = request.archive.length;
  row.bucket_name = store_.Name();
  row.download_url = request.download_url;
  row.redirect_urls = request.redirect_urls;
  row.try_symbols = request.try_symbols;
  row.content_hash = plan.content_hash;
  row.ignored_keys = plan.ignored;
  row.created_at = created_at;
  const TimestampMicros phase2_started = NowMicros();
  auto id = db_.CreateUpload(row);
  if (!id.ok()) return Internal("creating upload record: " + id.status().ToString());

  // Phase 2: store what is not there yet: the pending objects as one batch (a plan has one member
  // per key), then the others one by one in parallel, recording what was stored (rows, stored
  // keys, invalidation events). Members the batch stored are recorded even if it failed part way.
  {
    FirstError error;
    std::vector<MemberWork*> batch;
    for (size_t i : order) {
      MemberWork& w = works[i];
      if (w.outcome == MemberWork::Outcome::kPending && w.staged->pending() != nullptr) {
        batch.push_back(&w);
      }
    }
    if (!batch.empty()) {
      Status s = StoreBatch(batch);
      if (!s.ok()) error.Set(std::move(s));
      // What the batch stored (all of it, or what it committed before failing), in one
      // transaction.
      std::vector<MemberWork*> stored;
      for (MemberWork* w : batch) {
        if (w->outcome == MemberWork::Outcome::kStored && w->staged != nullptr) stored.push_back(w);
      }
      s = Record(stored, *id);
      if (!s.ok()) error.Set(std::move(s));
    }
    std::atomic<size_t> next{0};
    RunWithHelpers(pool_, helpers, [&] {
      while (true) {
        size_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= n) break;
        MemberWork& w = works[order[i]];
        // The batch's members are done: committed and recorded above, or failed with it.
        if (w.outcome != MemberWork::Outcome::kPending || w.staged->pending() != nullptr ||
            error.failed()) {
          continue;
        }
        Status s = Store(w, *id);
        if (!s.ok()) error.Set(std::move(s));
      }
    });
    Status status = error.Get();
    if (!status.ok()) {
      spdlog::error("upload {} ({}) failed while storing: {}", *id, request.filename,
                    status.ToString());
      return Internal("upload " + std::to_string(*id) +
                      " failed while storing: " + status.message());
    }
  }

  std::vector<std::string> skipped;
  for (const MemberWork& w : works) {
    if (w.outcome == MemberWork::Outcome::kSkipped) skipped.push_back(w.storage_key);
  }
  Status completed = db_.CompleteUpload(*id, skipped, plan.ignored, NowMicros());
  spdlog::debug(
      "upload {}: {} members, inspected in {} ms, read and staged in {} ms, stored in {} ms", *id,
      n, (phase1_started - created_at) / 1000, (phase2_started - phase1_started) / 1000,
      (NowMicros() - phase2_started) / 1000);
  if (!completed.ok()) return Internal("completing upload record: " + completed.ToString());
  auto stored = db_.GetUpload(*id);
  if (!stored.ok()) return Internal("reading upload record: " + stored.status().ToString());
  return stored;
}

Result<db::Upload> UploadService::UploadFromUrl(const UrlUploadRequest& request) {
  SIGIL_RETURN_IF_ERROR(fetcher_.CheckUrl(request.url));
  std::string name = UrlFileName(request.url);
  SIGIL_RETURN_IF_ERROR(CheckArchiveName(name));
  SIGIL_ASSIGN_OR_RETURN(FetchedArchive fetched, fetcher_.Fetch(request.url));
  UploadRequest upload;
  upload.user_id = request.user_id;
  upload.user_email = request.user_email;
  upload.filename = name;
  upload.archive = ArchiveFile{fetched.file.path(), 0, fetched.size};
  upload.try_symbols = request.try_symbols;
  upload.download_url = request.url;
  upload.redirect_urls = fetched.redirect_urls;
  return Upload(upload);
}

}  // namespace sigil::upload
