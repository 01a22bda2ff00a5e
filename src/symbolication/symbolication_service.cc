#include "symbolication/symbolication_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <future>
#include <set>

#include "common/clock.h"
#include "symbolication/index_builder.h"
#include "symbolication/index_format.h"

namespace sigil::symbolication {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string ModuleKey(std::string_view debug_file, std::string_view debug_id) {
  std::string key(debug_file);
  key += '/';
  for (char c : debug_id)
    key.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return key;
}

}  // namespace

struct SymbolicationService::Flight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  ModuleOutcome outcome;
};

struct SymbolicationService::RequestState {
  SymbolicateRequest request;
  Callback done;
  Clock::time_point start;
  std::vector<std::pair<std::string, std::string>>
      modules;  // distinct (debug_file, debug_id) as sent
  std::vector<ModuleOutcome> outcomes;
  std::vector<std::shared_ptr<const SymbolIndex>> response_indexes;
  std::atomic<size_t> remaining{0};
};

SymbolicationService::SymbolicationService(const SymbolicationConfig& config,
                                           storage::ObjectStore& store, WorkerPool& pool,
                                           InvalidationBus& bus, std::string index_dir)
    : config_(config), pool_(pool), bus_(bus), fetcher_(config, store) {
  if (index_dir.empty()) index_dir = config.index_dir;
  if (!index_dir.empty()) {
    auto cache = ModuleCache::Create(
        ModuleCacheOptions{index_dir, config.index_disk_bytes, config.index_memory_bytes});
    if (cache.ok()) {
      cache_ = std::move(cache).value();
    } else {
      cache_error_ = cache.status();
      spdlog::warn("symbolication: index cache disabled: {}", cache.status().ToString());
    }
  }
  subscription_ = bus_.Subscribe([this](const SymbolKey& key) { OnInvalidation(key); });
}

SymbolicationService::~SymbolicationService() { bus_.Unsubscribe(subscription_); }

void SymbolicationService::OnInvalidation(const SymbolKey& key) {
  if (!key.file.ends_with(".sym"))
    return;  // other files of a debug id (binaries, .pd_) do not matter here
  {
    std::lock_guard<std::mutex> lock(mu_);
    negative_.erase(ModuleKey(key.debug_file, key.debug_id));
  }
  if (cache_) cache_->Invalidate(key.debug_file, key.debug_id);
}

ServiceStats SymbolicationService::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

SymbolicationService::ModuleOutcome SymbolicationService::ResolveModule(
    const std::string& debug_file, const std::string& debug_id) {
  ModuleOutcome out;
  const std::string key = ModuleKey(debug_file, debug_id);
  auto t0 = Clock::now();
  if (cache_) out.index = cache_->Get(debug_file, debug_id);
  out.cache_time = Since(t0);
  if (out.index) {
    out.cache_hit = true;
    return out;
  }
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto neg = negative_.find(key);
    if (neg != negative_.end()) {
      if (neg->second > NowMicros()) {
        ++stats_.negative_hits;
        out.negative_hit = true;
        out.error = NotFound("symbol file for " + key + " not found (remembered)");
        return out;
      }
      negative_.erase(neg);
    }
    auto it = flights_.find(key);
    if (it == flights_.end()) {
      flight = std::make_shared<Flight>();
      flights_.emplace(key, flight);
      leader = true;
    } else {
      flight = it->second;
      ++stats_.single_flight_waits;
    }
  }
  if (!leader) {
    std::unique_lock<std::mutex> lock(flight->mu);
    flight->cv.wait(lock, [&] { return flight->done; });
    out.index = flight->outcome.index;
    out.error = flight->outcome.error;
    return out;
  }
  ModuleOutcome built = BuildModule(debug_file, debug_id);
  built.cache_time = out.cache_time;
  {
    std::lock_guard<std::mutex> lock(mu_);
    flights_.erase(key);
    if (built.index) {
      ++stats_.modules_built;
    } else {
      ++stats_.modules_missing;
      if (built.error.code() != StatusCode::kNotFound &&
          built.error.code() != StatusCode::kInvalidArgument &&
          built.error.code() != StatusCode::kTooLarge) {
        ++stats_.fetch_errors;  // transient: not remembered
      } else if (config_.negative_ttl_s > 0) {
        negative_[key] = NowMicros() + int64_t{config_.negative_ttl_s} * 1000000;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(flight->mu);
    flight->outcome.index = built.index;
    flight->outcome.error = built.error;
    flight->done = true;
  }
  flight->cv.notify_all();
  return built;
}

SymbolicationService::ModuleOutcome SymbolicationService::BuildModule(const std::string& debug_file,
                                                                      const std::string& debug_id) {
  ModuleOutcome out;
  if (cache_) {
    out.index = cache_->Get(debug_file, debug_id);  // built by a flight that just finished
    if (out.index) {
      out.cache_hit = true;
      return out;
    }
  }
  auto t0 = Clock::now();
  auto fetched = fetcher_.Fetch(debug_file, debug_id);
  out.download_time = Since(t0);
  out.downloaded = true;
  if (!fetched.ok()) {
    out.error = fetched.status();
    if (fetched.status().code() != StatusCode::kNotFound) {
      spdlog::warn("symbolication: fetching {}/{}: {}", debug_file, debug_id,
                   fetched.status().ToString());
    }
    return out;
  }
  out.download_bytes = fetched->transferred;
  auto t1 = Clock::now();
  auto built = BuildIndex(fetched->data);
  fetched->data.clear();
  fetched->data.shrink_to_fit();
  out.parse_time = Since(t1);
  if (!built.ok()) {
    out.error = built.status();
    return out;
  }
  auto t2 = Clock::now();
  Result<std::shared_ptr<const SymbolIndex>> index = Internal("unset");
  if (cache_) {
    index = cache_->Put(debug_file, debug_id, built->bytes);
  }
  if (!index.ok()) {
    if (cache_)
      spdlog::warn("symbolication: caching index of {}/{}: {}", debug_file, debug_id,
                   index.status().ToString());
    auto mem =
        SymbolIndex::FromBytes(std::move(built->bytes), OpenOptions{.verify_checksum = false});
    if (!mem.ok()) {
      out.error = mem.status();
      return out;
    }
    index = std::shared_ptr<const SymbolIndex>(std::move(mem).value());
  }
  out.save_time = Since(t2);
  if ((*index)->debug_id().empty()) {
    out.error =
        InvalidArgument("symbol file for " + debug_file + "/" + debug_id + " has no MODULE record");
    if (cache_) cache_->Invalidate(debug_file, debug_id);
    return out;
  }
  out.index = *index;
  return out;
}

void SymbolicationService::Symbolicate(SymbolicateRequest request, Callback done) {
  if (request.jobs.size() > static_cast<size_t>(config_.max_jobs)) {
    return done(InvalidArgument("please limit number of jobs in a single request to <= " +
                                std::to_string(config_.max_jobs)));
  }
  uint64_t frames = 0;
  for (const Job& job : request.jobs) {
    for (const auto& stack : job.stacks) frames += stack.size();
  }
  if (frames > static_cast<uint64_t>(config_.max_frames)) {
    return done(InvalidArgument("please limit number of frames in a single request to <= " +
                                std::to_string(config_.max_frames) + " (got " +
                                std::to_string(frames) + ")"));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.requests;
    stats_.frames += frames;
  }
  auto state = std::make_shared<RequestState>();
  state->start = Clock::now();
  state->done = std::move(done);
  std::set<std::pair<std::string, std::string>> seen;
  for (const Job& job : request.jobs) {
    for (const auto& stack : job.stacks) {
      for (const FrameRef& f : stack) {
        if (f.module_index < 0 || static_cast<size_t>(f.module_index) >= job.memory_map.size())
          continue;
        const ModuleRef& m = job.memory_map[static_cast<size_t>(f.module_index)];
        if (m.debug_file.empty() || m.debug_id.empty()) continue;
        if (seen.emplace(m.debug_file, m.debug_id).second)
          state->modules.emplace_back(m.debug_file, m.debug_id);
      }
    }
  }
  state->request = std::move(request);
  state->outcomes.resize(state->modules.size());
  state->remaining = state->modules.size();
  if (state->modules.empty()) return Finish(state);
  for (size_t i = 0; i < state->modules.size(); ++i) {
    bool submitted = pool_.Submit([this, state, i] {
      state->outcomes[i] = ResolveModule(state->modules[i].first, state->modules[i].second);
      if (state->remaining.fetch_sub(1) == 1) Finish(state);
    });
    if (!submitted) {
      state->outcomes[i].error = Unavailable("server is shutting down");
      if (state->remaining.fetch_sub(1) == 1) Finish(state);
    }
  }
}

void SymbolicationService::Finish(const std::shared_ptr<RequestState>& state) {
  const SymbolicateRequest& req = state->request;
  std::map<std::pair<std::string, std::string>, const ModuleOutcome*> lookup;
  for (size_t i = 0; i < state->modules.size(); ++i) {
    lookup[state->modules[i]] = &state->outcomes[i];
    if (state->outcomes[i].index) {
      state->response_indexes.push_back(state->outcomes[i].index);
    }
  }

  SymbolicateResponse resp;
  resp.indexes = std::move(state->response_indexes);
  // Per stack, the frames of each module are looked up in one batch (their cache misses overlap).
  thread_local std::vector<LookupResult> results;
  std::vector<uint64_t> addresses;
  std::vector<size_t> frames_of_module, order;
  std::vector<const ModuleOutcome*> by_index;
  std::vector<std::string> module_names;
  for (const Job& job : req.jobs) {
    JobResult jr;
    // Per memoryMap entry: its outcome (null = not looked up) and the module name frames report.
    by_index.assign(job.memory_map.size(), nullptr);
    module_names.assign(job.memory_map.size(), std::string());
    for (size_t i = 0; i < job.memory_map.size(); ++i) {
      const ModuleRef& m = job.memory_map[i];
      module_names[i] = m.debug_file.empty() ? "<unknown>" : m.debug_file;
      if (m.debug_file.empty() || m.debug_id.empty()) continue;
      auto it = lookup.find({m.debug_file, m.debug_id});
      if (it == lookup.end()) continue;
      by_index[i] = it->second;
      if (it->second->index && !it->second->index->code_file().empty()) {
        module_names[i] = std::string(it->second->index->code_file());
      }
    }
    jr.stacks.reserve(job.stacks.size());
    for (const auto& stack : job.stacks) {
      std::vector<FrameResult> out(stack.size());
      for (size_t fi = 0; fi < stack.size(); ++fi) {
        const FrameRef& f = stack[fi];
        FrameResult& fr = out[fi];
        fr.frame = fi;
        fr.offset_is_minus_one = f.offset_is_minus_one;
        fr.module_offset = f.module_offset;
        bool in_map =
            f.module_index >= 0 && static_cast<size_t>(f.module_index) < job.memory_map.size();
        fr.module = in_map ? module_names[static_cast<size_t>(f.module_index)] : "<unknown>";
      }
      // Frames to look up, grouped by module (frame order kept within a module).
      order.clear();
      for (size_t fi = 0; fi < stack.size(); ++fi) {
        const FrameRef& f = stack[fi];
        if (f.module_index < 0 || static_cast<size_t>(f.module_index) >= job.memory_map.size() ||
            f.offset_is_minus_one) {
          continue;
        }
        const ModuleOutcome* o = by_index[static_cast<size_t>(f.module_index)];
        if (o != nullptr && o->index) order.push_back(fi);
      }
      std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
        return stack[x].module_index < stack[y].module_index;
      });
      for (size_t run = 0; run < order.size();) {
        const int64_t module = stack[order[run]].module_index;
        const ModuleOutcome* o = by_index[static_cast<size_t>(module)];
        addresses.clear();
        frames_of_module.clear();
        for (; run < order.size() && stack[order[run]].module_index == module; ++run) {
          addresses.push_back(stack[order[run]].module_offset);
          frames_of_module.push_back(order[run]);
        }
        if (addresses.empty()) continue;
        if (results.size() < addresses.size()) results.resize(addresses.size());
        o->index->LookupBatch(addresses, results);
        for (size_t k = 0; k < addresses.size(); ++k) {
          const LookupResult& r = results[k];
          if (!r.found) continue;
          FrameResult& fr = out[frames_of_module[k]];
          fr.has_function = true;
          fr.function = r.function;
          fr.function_offset = fr.module_offset - r.function_base;
          fr.file = r.file;
          if (!fr.file.empty()) fr.line = r.line;
          fr.inlines.reserve(r.inlines.size());
          for (const InlineFrame& in : r.inlines) {
            fr.inlines.push_back(InlineResult{in.function, in.file, in.file.empty() ? 0 : in.line});
          }
        }
      }
      jr.stacks.push_back(std::move(out));
    }
    std::set<std::string> keys;
    for (size_t i = 0; i < job.memory_map.size(); ++i) {
      const ModuleRef& m = job.memory_map[i];
      std::string key = m.debug_file + "/" + m.debug_id;
      if (!keys.insert(key).second) continue;
      std::optional<bool> found;
      auto it = lookup.find({m.debug_file, m.debug_id});
      if (it != lookup.end()) found = it->second->index != nullptr;
      jr.found_modules.emplace_back(std::move(key), found);
    }
    resp.results.push_back(std::move(jr));
  }

  if (req.debug) {
    DebugInfo& d = resp.debug;
    for (size_t i = 0; i < state->modules.size(); ++i) {
      const ModuleOutcome& o = state->outcomes[i];
      std::string key = state->modules[i].first + "/" + state->modules[i].second;
      ++d.cache_lookups;
      if (o.cache_hit) ++d.cache_hits;
      d.cache_time += o.cache_time;
      if (o.downloaded) {
        ++d.downloads;
        if (o.index || o.download_bytes > 0) {
          d.download_size_per_module[key] = o.download_bytes;
          d.download_time_per_module[key] = o.download_time;
        } else {
          d.download_fail_time_per_module[key] = o.download_time;
        }
        if (o.parse_time > 0) d.parse_time_per_module[key] = o.parse_time;
        if (o.save_time > 0) d.save_time_per_module[key] = o.save_time;
      }
    }
    for (const JobResult& jr : resp.results) {
      for (const auto& [key, found] : jr.found_modules) {
        if (!found.has_value()) continue;
        ++d.modules;
        ++d.stacks_per_module[key];
      }
    }
    d.time = Since(state->start);
  }
  Callback done = std::move(state->done);
  done(std::move(resp));
}

Result<SymbolicateResponse> SymbolicationService::SymbolicateSync(SymbolicateRequest request) {
  std::promise<Result<SymbolicateResponse>> promise;
  auto future = promise.get_future();
  Symbolicate(std::move(request),
              [&promise](Result<SymbolicateResponse> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace sigil::symbolication
