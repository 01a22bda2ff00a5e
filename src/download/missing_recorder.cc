#include "download/missing_recorder.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "common/clock.h"
#include "db/database.h"

namespace sigil::download {
namespace {

// Fields are joined with a byte that cannot appear in a URL path part or a decoded query value we
// record (control characters are rejected), so the joined string identifies the symbol.
constexpr char kSep = '\x1f';

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

void Split(std::string_view joined, db::MissingSymbolHit& hit) {
  std::string* fields[] = {&hit.debug_file, &hit.debug_id, &hit.filename, &hit.code_file,
                           &hit.code_id};
  for (std::string* f : fields) {
    size_t sep = joined.find(kSep);
    *f = std::string(joined.substr(0, sep));
    joined = sep == std::string_view::npos ? std::string_view() : joined.substr(sep + 1);
  }
}

}  // namespace

MissingSymbolsRecorder::MissingSymbolsRecorder(db::Database& db,
                                               std::chrono::milliseconds flush_interval,
                                               size_t max_pending_keys)
    : db_(db),
      interval_(flush_interval.count() > 0 ? flush_interval : std::chrono::milliseconds(1000)),
      max_pending_keys_(max_pending_keys) {
  thread_ = std::thread([this] { Run(); });
}

MissingSymbolsRecorder::~MissingSymbolsRecorder() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
  Status s = Flush();
  if (!s.ok()) {
    spdlog::error("missing symbols: final flush failed, {} counts lost: {}", pending_count(),
                  s.ToString());
  }
}

bool MissingSymbolsRecorder::Record(std::string_view debug_file, std::string_view debug_id,
                                    std::string_view filename, std::string_view code_file,
                                    std::string_view code_id) {
  for (std::string_view f : {debug_file, debug_id, filename, code_file, code_id}) {
    if (f.size() > kMaxFieldLength || HasControl(f)) return false;
  }
  thread_local std::string key;
  key.clear();
  key.append(debug_file).push_back(kSep);
  key.append(debug_id).push_back(kSep);
  key.append(filename).push_back(kSep);
  key.append(code_file).push_back(kSep);
  key.append(code_id);
  size_t h = StringHash{}(key);
  Shard& shard = shards_[(h >> 20) % kShards];
  const int64_t now = NowMicros();
  std::lock_guard lock(shard.mu);
  auto it = shard.map.find(std::string_view(key));
  if (it == shard.map.end()) {
    if (pending_keys_.load(std::memory_order_relaxed) >= max_pending_keys_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    pending_keys_.fetch_add(1, std::memory_order_relaxed);
    it = shard.map.emplace(key, Pending{}).first;
  }
  it->second.count += 1;
  if (now > it->second.seen_at) it->second.seen_at = now;
  return true;
}

Status MissingSymbolsRecorder::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  Map taken;
  for (auto& shard : shards_) {
    Map m;
    {
      std::lock_guard lock(shard.mu);
      m.swap(shard.map);
    }
    pending_keys_.fetch_sub(m.size(), std::memory_order_relaxed);
    taken.merge(m);  // keys are disjoint across shards, so everything moves
  }
  if (taken.empty()) return Status::Ok();
  std::vector<db::MissingSymbolHit> hits;
  hits.reserve(taken.size());
  for (const auto& [joined, p] : taken) {
    db::MissingSymbolHit hit;
    Split(joined, hit);
    hit.count = p.count;
    hit.seen_at = p.seen_at;
    hit.hash = db::MissingSymbolHash(hit);
    hits.push_back(std::move(hit));
  }
  Status s = db_.RecordMissingSymbols(hits);
  if (!s.ok()) {
    failed_flushes_.fetch_add(1, std::memory_order_relaxed);
    Merge(std::move(taken));
    return s.WithContext("recording missing symbols");
  }
  return Status::Ok();
}

void MissingSymbolsRecorder::Merge(Map&& from) {
  for (auto& [joined, p] : from) {
    Shard& shard = shards_[(StringHash{}(joined) >> 20) % kShards];
    std::lock_guard lock(shard.mu);
    auto [it, inserted] = shard.map.try_emplace(joined, Pending{});
    if (inserted) pending_keys_.fetch_add(1, std::memory_order_relaxed);
    it->second.count += p.count;
    if (p.seen_at > it->second.seen_at) it->second.seen_at = p.seen_at;
  }
}

uint64_t MissingSymbolsRecorder::pending_count() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& [k, p] : shard.map) total += static_cast<uint64_t>(p.count);
  }
  return total;
}

void MissingSymbolsRecorder::Run() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status s = Flush();
    if (!s.ok())
      spdlog::warn("missing symbols: flush failed, counts kept for the next try: {}", s.ToString());
    lock.lock();
  }
}

}  // namespace sigil::download
