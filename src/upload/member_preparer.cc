#include "upload/member_preparer.h"

#include <spdlog/spdlog.h>
#include <zip.h>

#include <algorithm>
#include <thread>

#include "upload/helper_fanout.h"
#include "upload/lane_scheduler.h"

namespace sigil::upload {
namespace {

// Staged objects up to this size stay in memory (while the shared budget allows): storing from
// memory saves writing, reading and creating a temp file per member.
constexpr uint64_t kMaxInMemoryStage = 16 << 20;
// Members one phase-1 thread reads side by side in a round (their MD5s share SIMD rounds:
// Md5UpdateMany hashes up to 16 streams in one AVX-512 vector), and members open at once per
// upload (each holds a MemberStream's ~215 KiB and its stage's write buffers).
constexpr size_t kLanes = 16;
constexpr size_t kMaxOpen = 2 * kLanes;

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

MemberPreparer::MemberPreparer(const UploadConfig& config, storage::ObjectStore& store,
                               KeyRegistry& keys, MemoryBudget& staging_budget,
                               const std::string& tmp_dir)
    : config_(config),
      store_(store),
      keys_(keys),
      staging_budget_(staging_budget),
      tmp_dir_(tmp_dir) {}

Status MemberPreparer::Prepare(const ArchiveFile& archive, std::vector<MemberWork>& works,
                               const std::vector<size_t>& order, WorkerPool& pool, size_t helpers) {
  if (works.empty()) return Status::Ok();
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<MemberReader> reader, MemberReader::Open(archive));
  // CPU-bound: no more threads than cores (more would only hold more members open).
  const size_t cores = std::max<size_t>(1, std::thread::hardware_concurrency());
  const size_t threads = std::min(helpers, cores - 1) + 1;
  std::vector<uint64_t> sizes;
  for (size_t i : order) sizes.push_back(works[i].member->size);
  LaneScheduler scheduler(std::move(sizes), threads, kLanes, kMaxOpen);
  FirstError error;
  RunWithHelpers(pool, threads - 1, [&] { Work(*reader, works, order, scheduler, error); });
  // Streams read through the reader: closed before it, also when phase 1 failed.
  for (MemberWork& w : works) w.stream.reset();
  return error.Get();
}

// Starts a member's phase 1: pins its key and looks for a stored object; then opens the member
// for one pass: a check whether that object already holds it, or its staging pass.
Status MemberPreparer::StartMember(MemberWork& work, MemberReader& reader) {
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
Status MemberPreparer::StartStaging(MemberWork& work, MemberReader& reader) {
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
Status MemberPreparer::ConsumeChunk(MemberWork& work, std::string_view chunk) {
  work.scan->Update(chunk);
  if (work.pass != MemberWork::Pass::kOwnOutput) return Status::Ok();
  return work.gzip ? work.gzip->Write(chunk) : work.staged->Append(chunk);
}

// After the member's pass ended with every check passed: true when the member is done (staged or
// skipped); false when another pass was opened (the stored object differs, or the kept stream had
// bytes after its end).
Result<bool> MemberPreparer::EndPass(MemberWork& work, MemberReader& reader) {
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
void MemberPreparer::Work(MemberReader& reader, std::vector<MemberWork>& works,
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

std::unique_ptr<StagedObject> MemberPreparer::NewStage(const MemberWork& work) {
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

}  // namespace sigil::upload
