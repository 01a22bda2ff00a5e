#include "upload/upload_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <memory>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/clock.h"
#include "common/hashing.h"
#include "common/md5_mb.h"
#include "common/sym_header.h"
#include "upload/gzip_compressor.h"
#include "upload/helper_fanout.h"
#include "upload/lane_scheduler.h"
#include "upload/member_reader.h"

namespace sigil::upload {
namespace {

// Staged objects up to this size stay in memory (while the shared budget allows): storing from
// memory saves writing, reading and creating a temp file per member.
constexpr uint64_t kMaxInMemoryStage = 16 << 20;
// Process-wide cap on staged bytes held in memory.
constexpr uint64_t kStagingBudget = 64ull << 20;
// At most this many members of one upload (the largest) are staged as the store's pending objects
// (each holds two open temp files until the commit); the rest are staged as above and Put one by
// one.
constexpr size_t kMaxPendingPerUpload = 128;
// Members one phase-1 thread reads side by side in a round (their MD5s share SIMD rounds:
// Md5UpdateMany hashes up to 16 streams in one AVX-512 vector), and members open at once per
// upload (each holds a MemberStream's ~215 KiB and its stage's write buffers).
constexpr size_t kLanes = 16;
constexpr size_t kMaxOpen = 2 * kLanes;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Extension(std::string_view file) {
  size_t dot = file.rfind('.');
  return dot == std::string_view::npos ? "" : Lower(file.substr(dot + 1));
}

// A client's deflate stream is stored as it is (inside a gzip wrapper) when it is at least this
// compressed. zip's and Python's default (zlib level 6) compress .sym text about 7% smaller than
// ISA-L level 1 (bench/upload), so recompressing their streams would cost most of the upload's CPU
// for nothing; a weaker encoder's stream above 2:1 is kept a little larger than ours would be,
// which the saved CPU is worth. Streams under 2:1 (stored blocks, a poor encoder) are recompressed
// with the configured ISA-L level. The kept stream passed ISA-L's inflater with the right size and
// CRC; one that a stricter decoder (zlib) would still refuse can only be crafted on purpose by an
// uploader, and only spoils that uploader's own key, which they could fill with junk anyway.
constexpr uint64_t kMinKeptRatio = 2;

bool KeepsClientDeflate(const ArchiveMember& m) {
  return m.method == ZIP_CM_DEFLATE && m.size > 0 && m.compressed_size <= m.size / kMinKeptRatio;
}

}  // namespace

// Collects the first error of a parallel phase and tells the other workers to stop.
class UploadService::FirstError {
 public:
  void Set(Status s) {
    std::lock_guard lock(mu_);
    if (status_.ok()) status_ = std::move(s);
    failed_.store(true, std::memory_order_relaxed);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  Status Get() {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  std::mutex mu_;
  Status status_;
  std::atomic<bool> failed_{false};
};

namespace {

Status StorageError(const Status& s, std::string_view what, std::string_view key) {
  return Internal(std::string(what) + " " + std::string(key) + ": " + s.ToString());
}

}  // namespace

struct UploadService::MemberWork {
  enum class Outcome { kPending, kSkipped, kStored };

  const ArchiveMember* member = nullptr;
  std::string storage_key;
  bool compress = false;
  bool is_sym = false;
  bool use_pending = false;  // stage as the store's pending object, commit in one batch
  KeyRegistry::Pin pin;
  std::optional<storage::ObjectInfo> existing;
  Outcome outcome = Outcome::kPending;
  std::unique_ptr<StagedObject> staged;
  std::string md5;  // of the original bytes (hashed when they are staged)
  std::optional<SymHeader> header;
  TimestampMicros store_started = 0;

  // Phase 1: what the member's pass is for, and its state while it is being read.
  enum class Pass { kCheckExisting, kKeepDeflate, kOwnOutput };
  Pass pass = Pass::kOwnOutput;
  bool keep_failed = false;  // bytes after the deflate stream: the member is recompressed
  std::unique_ptr<MemberStream> stream;
  std::unique_ptr<MemberScan> scan;
  std::unique_ptr<GzipCompressor> gzip;
  MemberReader::Consumer raw_sink;  // the kept deflate stream's bytes, to the stage

  // True if `info` already holds exactly this member's content.
  bool SameAs(const storage::ObjectInfo& info) const {
    auto meta = [&info](const char* k) -> std::string {
      auto it = info.metadata.find(k);
      return it == info.metadata.end() ? "" : it->second;
    };
    std::string size = std::to_string(member->size);
    if (compress)
      return meta("original_size") == size && !md5.empty() && meta("original_md5_hash") == md5;
    return meta("original_size") == size || info.size == member->size;
  }
};

// What one pass learns from a member's uncompressed bytes: their MD5 (original_md5_hash and skip
// checks of compressed members; the etag of members stored as they are) and the .sym header from
// the first kSymHeaderMaxBytes. The MD5 is updated by the caller (md5()), several members' at once.
class UploadService::MemberScan {
 public:
  MemberScan(bool is_sym, bool hash) : is_sym_(is_sym), hash_(hash) {}

  void Update(std::string_view chunk) {
    if (is_sym_ && prefix_.size() < kSymHeaderMaxBytes) {
      prefix_.append(chunk.substr(0, kSymHeaderMaxBytes - prefix_.size()));
    }
  }
  // The MD5 to update with every chunk, or null when this pass does not hash.
  Md5Stream* md5() { return hash_ ? &md5_ : nullptr; }

  // Call after the whole member passed every check.
  void Finish(MemberWork& work) {
    if (hash_) work.md5 = md5_.FinishHex();
    if (is_sym_) {
      auto header = ParseSymHeader(prefix_, work.member->size <= prefix_.size());
      if (header.ok()) work.header = std::move(header).value();
    }
  }

 private:
  bool is_sym_;
  bool hash_;
  Md5Stream md5_;
  std::string prefix_;
};

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
      staging_budget_(kStagingBudget) {}

Status UploadService::CheckArchiveName(std::string_view name) {
  std::string ext;
  size_t dot = name.rfind('.');
  if (dot != std::string_view::npos && name.find('/', dot) == std::string_view::npos) {
    ext = std::string(name.substr(dot));
  }
  if (Lower(ext) == ".zip") return Status::Ok();
  return InvalidArgument("Unrecognized archive file extension \"" + ext + "\"");
}

// Starts a member's phase 1: pins its key and looks for a stored object; then opens the member
// for one pass: a check whether that object already holds it, or its staging pass.
Status UploadService::StartMember(MemberWork& work, MemberReader& reader) {
  const ArchiveMember& m = *work.member;
  work.pin = keys_.Acquire(work.storage_key);
  auto head = store_.Head(work.storage_key);
  if (head.ok()) {
    work.existing = std::move(head).value();
  } else if (head.status().code() != StatusCode::kNotFound) {
    return StorageError(head.status(), "stat", work.storage_key);
  }
  if (work.existing) {
    // Likely already stored: a cheap pass (no compression) decides.
    auto it = work.existing->metadata.find("original_size");
    bool size_matches =
        work.compress ? it != work.existing->metadata.end() && it->second == std::to_string(m.size)
                      : work.SameAs(*work.existing);
    if (size_matches) {
      work.pass = MemberWork::Pass::kCheckExisting;
      work.scan = std::make_unique<MemberScan>(/*is_sym=*/false, /*hash=*/work.compress);
      SIGIL_ASSIGN_OR_RETURN(work.stream, MemberStream::Open(reader, m, nullptr));
      return Status::Ok();
    }
  }
  return StartStaging(work, reader);
}

// Opens the member's staging pass: a deflated member compressed at least 2:1 hands its compressed
// bytes to the stage as they are read (the gzip wrapper is added once everything checked out);
// any other is gzipped with ISA-L (or copied, for members stored as they are).
Status UploadService::StartStaging(MemberWork& work, MemberReader& reader) {
  const ArchiveMember& m = *work.member;
  work.staged = NewStage(work);
  StagedObject& staged = *work.staged;
  work.gzip.reset();
  if (work.compress && KeepsClientDeflate(m) && !work.keep_failed) {
    work.pass = MemberWork::Pass::kKeepDeflate;
    staged.Expect(GzipHeader().size() + m.compressed_size + 8);
    SIGIL_RETURN_IF_ERROR(staged.Append(GzipHeader()));
    work.raw_sink = [&staged](std::string_view chunk) { return staged.Append(chunk); };
    work.scan = std::make_unique<MemberScan>(work.is_sym, /*hash=*/true);
    SIGIL_ASSIGN_OR_RETURN(work.stream, MemberStream::Open(reader, m, &work.raw_sink));
    return Status::Ok();
  }
  work.pass = MemberWork::Pass::kOwnOutput;
  if (work.compress) {
    SIGIL_ASSIGN_OR_RETURN(
        work.gzip,
        MakeGzipCompressor(GzipCompressor::Backend::kIsal, config_.compression_level,
                           [&staged](std::string_view chunk) { return staged.Append(chunk); }));
  }
  // Hashed either way: a compressed member's MD5 is its original_md5_hash, a member stored as it
  // is has the MD5 of its stored bytes (the store's etag, so the store need not read them back).
  work.scan = std::make_unique<MemberScan>(work.is_sym, /*hash=*/true);
  SIGIL_ASSIGN_OR_RETURN(work.stream, MemberStream::Open(reader, m, nullptr));
  return Status::Ok();
}

// One verified chunk of the member's data (its MD5 is the caller's).
Status UploadService::ConsumeChunk(MemberWork& work, std::string_view chunk) {
  work.scan->Update(chunk);
  if (work.pass != MemberWork::Pass::kOwnOutput) return Status::Ok();
  return work.gzip ? work.gzip->Write(chunk) : work.staged->Append(chunk);
}

// After the member's pass ended with every check passed: true when the member is done (staged or
// skipped); false when another pass was opened (the stored object differs, or the kept stream had
// bytes after its end).
Result<bool> UploadService::EndPass(MemberWork& work, MemberReader& reader) {
  const ArchiveMember& m = *work.member;
  work.scan->Finish(work);
  switch (work.pass) {
    case MemberWork::Pass::kCheckExisting:
      if (work.SameAs(*work.existing)) {
        work.outcome = MemberWork::Outcome::kSkipped;
        work.stream.reset();
        return true;
      }
      break;
    case MemberWork::Pass::kKeepDeflate:
      if (work.stream->exact()) {
        SIGIL_RETURN_IF_ERROR(work.staged->Append(GzipTrailer(m.crc, m.size)));
        SIGIL_RETURN_IF_ERROR(work.staged->Finish());
        work.stream.reset();
        return true;
      }
      // Bytes after the member's deflate stream: compress it ourselves instead.
      work.keep_failed = true;
      work.staged.reset();
      break;
    case MemberWork::Pass::kOwnOutput:
      if (work.gzip) SIGIL_RETURN_IF_ERROR(work.gzip->Finish());
      SIGIL_RETURN_IF_ERROR(work.staged->Finish());
      work.stream.reset();
      work.gzip.reset();
      return true;
  }
  work.stream.reset();
  SIGIL_RETURN_IF_ERROR(StartStaging(work, reader));
  return false;
}

// Phase 1 on one thread: round after round, reads one chunk of each member `scheduler` hands it
// (positions in `order`), and hashes those chunks together (Md5UpdateMany), until every member is
// done or a thread failed. Members move between threads from round to round.
void UploadService::PrepareMembers(MemberReader& reader, std::vector<MemberWork>& works,
                                   const std::vector<size_t>& order, LaneScheduler& scheduler,
                                   FirstError& error) {
  std::vector<size_t> batch;
  std::vector<size_t> to_open;
  std::vector<LaneScheduler::Progress> progress;
  std::vector<Md5Stream*> md5s;
  std::vector<std::string_view> chunks;
  auto fail = [&](Status s) {
    error.Set(std::move(s));
    scheduler.Stop();
  };
  while (scheduler.Next(&batch, &to_open)) {
    for (size_t i : to_open) {
      Status s = StartMember(works[order[i]], reader);
      if (!s.ok()) return fail(std::move(s));
    }
    progress.clear();
    md5s.clear();
    chunks.clear();
    for (size_t i : batch) {
      MemberWork& w = works[order[i]];
      LaneScheduler::Progress& p = progress.emplace_back();
      p.item = i;
      Result<std::string_view> chunk = w.stream->Next();
      if (!chunk.ok()) return fail(chunk.status());
      if (chunk->empty()) {
        // Every earlier chunk was hashed in an earlier round.
        Result<bool> done = EndPass(w, reader);
        if (!done.ok()) return fail(done.status());
        p.ended = true;
        p.restarted = !*done;  // read again from the start
        continue;
      }
      Status s = ConsumeChunk(w, *chunk);
      if (!s.ok()) return fail(std::move(s));
      p.bytes = chunk->size();
      if (Md5Stream* md5 = w.scan->md5()) {
        md5s.push_back(md5);
        chunks.push_back(*chunk);
      }
    }
    Md5UpdateMany(md5s, chunks);
    scheduler.Return(progress);
  }
}

std::unique_ptr<StagedObject> UploadService::NewStage(const MemberWork& work) {
  if (work.use_pending) {
    Result<std::unique_ptr<storage::PendingObject>> pending = store_.BeginPut();
    if (pending.ok()) {
      return std::make_unique<StagedObject>(staging_budget_, std::move(pending).value());
    }
    // E.g. out of descriptors under many concurrent uploads: stage the usual way instead (a
    // store that cannot write at all fails the Put later, with its own message).
    spdlog::warn("upload: staging {} in the store failed ({}); staging it in {} instead",
                 work.storage_key, pending.status().ToString(), tmp_dir_);
  }
  return std::make_unique<StagedObject>(staging_budget_, tmp_dir_, kMaxInMemoryStage);
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
  if (n > 0) {
    SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<MemberReader> reader,
                           MemberReader::Open(request.archive));
    // CPU-bound: no more threads than cores (more would only hold more members open).
    const size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
    const size_t threads = std::min(helpers, cores - 1) + 1;
    std::vector<uint64_t> sizes;
    for (size_t i : order) sizes.push_back(plan.members[i].size);
    LaneScheduler scheduler(std::move(sizes), threads, kLanes, kMaxOpen);
    FirstError error;
    RunWithHelpers(pool_, threads - 1,
                   [&] { PrepareMembers(*reader, works, order, scheduler, error); });
    // Streams read through the reader: closed before it, also when phase 1 failed.
    for (MemberWork& w : works) w.stream.reset();
    Status status = error.Get();
    if (!status.ok()) return status;
  }

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
