#include "symbolication/module_cache.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <system_error>
#include <vector>

#include "symbolication/index_builder.h"
#include "symbolication/index_format.h"

namespace sigil::symbolication {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSuffix = ".symidx";

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<std::unique_ptr<ModuleCache>> ModuleCache::Create(const ModuleCacheOptions& options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return Unavailable("creating index cache directory " + options.dir + ": " + ec.message());
  std::unique_ptr<ModuleCache> cache(new ModuleCache(options));
  cache->AdoptExisting();
  return cache;
}

std::string ModuleCache::PathFor(std::string_view debug_file, std::string_view debug_id) const {
  return options_.dir + "/" + std::string(debug_file) + "/" + Upper(debug_id) + ".v" +
         std::to_string(format::kIndexVersion) + std::string(kSuffix);
}

void ModuleCache::AdoptExisting() {
  struct Found {
    std::string path;
    uint64_t bytes;
    fs::file_time_type mtime;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(options_.dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string path = it->path().string();
    if (path.find(".tmp.") != std::string::npos) {
      fs::remove(it->path(), ec);  // a writer died mid-way
      continue;
    }
    if (!path.ends_with(kSuffix)) continue;
    found.push_back(Found{path, static_cast<uint64_t>(it->file_size(ec)), it->last_write_time(ec)});
  }
  std::sort(found.begin(), found.end(),
            [](const Found& a, const Found& b) { return a.mtime < b.mtime; });
  std::lock_guard<std::mutex> lock(mu_);
  for (const Found& f : found)
    TouchDiskLocked(f.path, f.bytes);  // oldest first: newest ends at front
  EvictDiskLocked("");
}

void ModuleCache::TouchDiskLocked(const std::string& path, uint64_t bytes) {
  auto it = disk_.find(path);
  if (it != disk_.end()) {
    disk_lru_.splice(disk_lru_.begin(), disk_lru_, it->second.it);
    disk_bytes_ -= it->second.bytes;
    it->second.bytes = bytes;
    disk_bytes_ += bytes;
    return;
  }
  disk_lru_.push_front(path);
  disk_.emplace(path, DiskEntry{disk_lru_.begin(), bytes});
  disk_bytes_ += bytes;
}

void ModuleCache::EvictDiskLocked(const std::string& keep) {
  while (disk_bytes_ > options_.disk_bytes && !disk_lru_.empty()) {
    std::string victim = disk_lru_.back();
    if (victim == keep) {
      if (disk_lru_.size() == 1) break;
      disk_lru_.splice(disk_lru_.begin(), disk_lru_, std::prev(disk_lru_.end()));
      continue;
    }
    disk_lru_.pop_back();
    disk_bytes_ -= disk_[victim].bytes;
    disk_.erase(victim);
    std::error_code ec;
    fs::remove(victim, ec);  // a mapped copy stays valid until unmapped
    ++stats_.disk_evictions;
  }
}

void ModuleCache::AddMemoryLocked(const std::string& key, IndexPtr index) {
  auto it = mem_.find(key);
  if (it != mem_.end()) {
    mem_bytes_ -= it->second.index->memory_bytes();
    mem_lru_.erase(it->second.it);
    mem_.erase(it);
  }
  mem_lru_.push_front(key);
  mem_bytes_ += index->memory_bytes();
  mem_.emplace(key, MemEntry{mem_lru_.begin(), std::move(index)});
  while (mem_bytes_ > options_.memory_bytes && mem_lru_.size() > 1) {
    std::string victim = mem_lru_.back();
    mem_lru_.pop_back();
    auto v = mem_.find(victim);
    mem_bytes_ -= v->second.index->memory_bytes();
    mem_.erase(v);
    ++stats_.memory_evictions;
  }
}

ModuleCache::IndexPtr ModuleCache::Get(std::string_view debug_file, std::string_view debug_id) {
  std::string path = PathFor(debug_file, debug_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = mem_.find(path);
    if (it != mem_.end()) {
      mem_lru_.splice(mem_lru_.begin(), mem_lru_, it->second.it);
      ++stats_.memory_hits;
      return it->second.index;
    }
    if (disk_.find(path) == disk_.end()) {
      ++stats_.misses;
      return nullptr;
    }
  }
  // Map outside the lock (validation reads the whole file).
  auto opened = SymbolIndex::Open(path);
  std::lock_guard<std::mutex> lock(mu_);
  if (!opened.ok()) {
    auto d = disk_.find(path);
    if (d != disk_.end()) {
      disk_bytes_ -= d->second.bytes;
      disk_lru_.erase(d->second.it);
      disk_.erase(d);
    }
    std::error_code ec;
    if (opened.status().code() != StatusCode::kNotFound) fs::remove(path, ec);  // torn or foreign
    ++stats_.misses;
    return nullptr;
  }
  IndexPtr index(std::move(opened).value().release());
  TouchDiskLocked(path, index->size_bytes());
  AddMemoryLocked(path, index);
  ++stats_.disk_hits;
  return index;
}

Result<ModuleCache::IndexPtr> ModuleCache::Put(std::string_view debug_file,
                                               std::string_view debug_id, std::string_view bytes) {
  std::string path = PathFor(debug_file, debug_id);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return Unavailable("creating " + fs::path(path).parent_path().string() + ": " + ec.message());
  SIGIL_RETURN_IF_ERROR(WriteIndexFile(path, bytes));
  // The checksum was just computed by the builder; skip re-verifying what we wrote.
  SIGIL_ASSIGN_OR_RETURN(auto opened,
                         SymbolIndex::Open(path, OpenOptions{.verify_checksum = false}));
  IndexPtr index(opened.release());
  std::lock_guard<std::mutex> lock(mu_);
  TouchDiskLocked(path, bytes.size());
  EvictDiskLocked(path);
  AddMemoryLocked(path, index);
  return index;
}

void ModuleCache::Invalidate(std::string_view debug_file, std::string_view debug_id) {
  std::string path = PathFor(debug_file, debug_id);
  std::lock_guard<std::mutex> lock(mu_);
  auto m = mem_.find(path);
  if (m != mem_.end()) {
    mem_bytes_ -= m->second.index->memory_bytes();
    mem_lru_.erase(m->second.it);
    mem_.erase(m);
  }
  auto d = disk_.find(path);
  if (d != disk_.end()) {
    disk_bytes_ -= d->second.bytes;
    disk_lru_.erase(d->second.it);
    disk_.erase(d);
  }
  std::error_code ec;
  fs::remove(path, ec);
}

ModuleCacheStats ModuleCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ModuleCacheStats s = stats_;
  s.disk_bytes = disk_bytes_;
  s.memory_bytes = mem_bytes_;
  return s;
}

}  // namespace sigil::symbolication
