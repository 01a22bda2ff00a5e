#include "cache_comparison.h"

#include <stdlib.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/download_handlers.h"
#include "cache/memcached/memcached_cache.h"
#include "cache/memcached/memcached_invalidation_bus.h"
#include "cache/memory/memory_cache.h"
#include "cache/redis/redis_cache.h"
#include "cache/redis/redis_invalidation_bus.h"
#include "common/config.h"
#include "common/hashing.h"
#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "db/sqlite/sqlite_database.h"
#include "download/download_service.h"
#include "http/server.h"
#include "integration/support/services.h"
#include "mixed_load.h"
#include "storage/fs/fs_object_store.h"

namespace sigil::bench {
namespace {

namespace fs = std::filesystem;

const char* kSymRel =
    "/testdata/symbols/libc-2.13.so/F4F8DFCD5A5FB5A7CE64717E9E6AE3890/libc-2.13.so.sym";

// One download stack: everything `sigil serve` builds for the download routes, with one cache.
// Members are destroyed in reverse order: server, service, pool, bus, cache, database.
struct Stack {
  std::string name;
  std::unique_ptr<db::Database> db;
  std::unique_ptr<cache::Cache> cache;
  std::unique_ptr<InvalidationBus> bus;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<download::DownloadService> service;
  std::unique_ptr<http::Server> server;
  std::vector<LoadResult> runs;
  long answered_404 = 0;  // 404s the client received from this stack (warm-up included)
};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> Gzip(const std::string& data) {
  z_stream zs{};
  if (deflateInit2(&zs, 3, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Internal("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Internal("deflate");
  return out;
}

// A 33-character Breakpad debug id made from `n` (33 characters: no code-id fallback lookup).
std::string DebugId(uint64_t n, char tag) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c%031llX0", tag, static_cast<unsigned long long>(n));
  return buf;
}

Status BuildStack(Stack& s, const std::string& cache_url, const std::string& dir,
                  storage::ObjectStore& store, const CacheComparisonOptions& o) {
  SIGIL_ASSIGN_OR_RETURN(s.db, db::sqlite::OpenSqliteDatabase(dir + "/" + s.name + ".db"));
  SIGIL_RETURN_IF_ERROR(s.db->Migrate());
  const Config defaults;
  if (cache_url.starts_with("memory://")) {
    s.cache = cache::memory::MakeMemoryCache(defaults.storage.memory_cache_bytes);
    s.bus = std::make_unique<LocalInvalidationBus>();
  } else if (cache_url.starts_with("redis")) {
    SIGIL_ASSIGN_OR_RETURN(s.cache, cache::redis::MakeRedisCache(cache_url));
    SIGIL_ASSIGN_OR_RETURN(s.bus, cache::redis::MakeRedisInvalidationBus(cache_url));
  } else {
    SIGIL_ASSIGN_OR_RETURN(s.cache, cache::memcached::MakeMemcachedCache(cache_url));
    SIGIL_ASSIGN_OR_RETURN(s.bus, cache::memcached::MakeMemcachedInvalidationBus(cache_url));
  }
  // As app.cc sizes it with the default server.worker_threads (0 = 2 per core).
  const size_t workers = 2 * std::max(1u, std::thread::hardware_concurrency());
  s.pool = std::make_unique<WorkerPool>(workers, static_cast<size_t>(defaults.server.worker_queue),
                                        "bench-" + s.name);
  s.service = std::make_unique<download::DownloadService>(defaults.download, store, *s.db, *s.cache,
                                                          *s.bus, *s.pool);
  http::RouteTable routes;
  api::RegisterDownloadRoutes(routes, *s.service);
  http::ServerOptions opts;
  opts.listen = "127.0.0.1:0";
  opts.io_threads = o.io_threads;
  opts.access_log = false;
  opts.tmp_dir = dir;
  s.server = std::make_unique<http::Server>(opts, std::move(routes), *s.pool, nullptr);
  return s.server->Start();
}

// Sum of the missing-symbol counts recorded for debug_file missing.so, and the number of rows.
Result<std::pair<int64_t, int64_t>> RecordedMisses(db::Database& database) {
  db::MissingSymbolQuery q;
  q.debug_file = "missing.so";
  q.order_by = "debug_id";
  q.limit = 10000;
  int64_t sum = 0, rows = 0;
  for (;;) {
    SIGIL_ASSIGN_OR_RETURN(db::MissingSymbolPage page, database.QueryMissingSymbols(q));
    for (const auto& row : page.rows) sum += row.count;
    rows += static_cast<int64_t>(page.rows.size());
    if (page.rows.empty() || rows >= page.total) break;
    q.offset = rows;
  }
  return std::make_pair(sum, rows);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "download_bench --cache-backends: %s\n", msg.c_str());
  return 1;
}

// The body of RunCacheComparison; `dir` is removed by the caller, the peers stop when the
// testing:: servers are destroyed (before this returns).
int Run(const CacheComparisonOptions& o, const std::string& dir) {
  auto sym = ReadFile(std::string(SIGIL_SHARED_DIR) + kSymRel);
  if (!sym.ok()) return Fail(sym.status().ToString());
  auto gz = Gzip(*sym);
  if (!gz.ok()) return Fail(gz.status().ToString());
  auto store = storage::fs::MakeFsObjectStore(dir + "/symbols");
  if (!store.ok()) return Fail(store.status().ToString());
  storage::PutOptions put;
  put.content_type = "text/plain";
  put.content_encoding = "gzip";
  put.metadata = {{"original_size", std::to_string(sym->size())},
                  {"original_md5_hash", Md5Hex(*sym)}};
  std::vector<std::string> hit_keys, miss_paths;
  for (int i = 0; i < o.files; ++i) {
    hit_keys.push_back("libc-2.13.so/" + DebugId(static_cast<uint64_t>(i), 'A') +
                       "/libc-2.13.so.sym");
    if (Status st = (*store)->Put(hit_keys.back(), *gz, put); !st.ok()) return Fail(st.ToString());
  }
  for (int i = 0; i < o.missing; ++i) {
    miss_paths.push_back("/missing.so/" + DebugId(static_cast<uint64_t>(i), 'B') +
                         "/missing.so.sym?code_file=missing.so&code_id=C0FFEE");
  }

  // The request sequence: exactly 4 hits per miss, shuffled with a fixed seed, hits cycling over
  // the stored files and misses over the missing keys.
  std::vector<LoadRequest> sequence;
  const size_t length = static_cast<size_t>(std::max(10000, 5 * std::max(o.files, o.missing)));
  for (size_t j = 0; j < length; ++j) {
    if (j % 5 == 4) {
      sequence.push_back({"GET " + miss_paths[(j / 5) % miss_paths.size()] +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                          404});
    } else {
      sequence.push_back({"GET /" + hit_keys[(j - j / 5) % hit_keys.size()] +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
                          200});
    }
  }
  std::mt19937 rng(42);
  std::shuffle(sequence.begin(), sequence.end(), rng);

  auto redis = testing::RedisServer::Start();
  if (!redis.ok()) return Fail("redis-server: " + redis.status().ToString());
  auto mc_tcp = testing::MemcachedServer::Start(false);
  if (!mc_tcp.ok()) return Fail("memcached (tcp): " + mc_tcp.status().ToString());
  auto mc_unix = testing::MemcachedServer::Start(true);
  if (!mc_unix.ok()) return Fail("memcached (unix): " + mc_unix.status().ToString());

  const std::vector<std::pair<std::string, std::string>> urls = {
      {"memory", "memory://"},
      {"redis-tcp", (*redis)->Url(0)},
      {"redis-unix", (*redis)->UnixUrl() + "?db=1"},
      {"memcached-tcp", (*mc_tcp)->Url()},
      {"memcached-unix", (*mc_unix)->Url()},
  };
  std::vector<std::unique_ptr<Stack>> stacks;
  for (const auto& [name, url] : urls) {
    stacks.push_back(std::make_unique<Stack>());
    stacks.back()->name = name;
    if (Status st = BuildStack(*stacks.back(), url, dir, **store, o); !st.ok())
      return Fail(name + " (" + url + "): " + st.ToString());
  }

  LoadOptions load;
  load.connections = o.connections;
  load.threads = o.client_threads;
  auto check = [](const Stack& s, const LoadResult& r) -> std::string {
    if (r.errors == 0 && r.unexpected == 0 && r.requests > 0) return "";
    return s.name + ": " + std::to_string(r.errors) + " errors, " + std::to_string(r.unexpected) +
           " unexpected statuses of " + std::to_string(r.requests) + " (first: " + r.first_problem +
           ")";
  };

  std::printf(
      "object: libc-2.13.so.sym, %zu bytes stored gzip (level 3), %zu decoded; %d stored "
      "copies (hits, 200), %d missing keys (misses, 404), 4 hits per miss\n",
      gz->size(), sym->size(), o.files, o.missing);
  std::printf(
      "client: %d keep-alive connections over %d threads, %d s per run, %d reps; sigil "
      "io_threads=%d, workers=%u\n\n",
      o.connections, o.client_threads, o.duration_s, o.reps, o.io_threads,
      2 * std::max(1u, std::thread::hardware_concurrency()));
  std::fflush(stdout);
  // Warm-up: one pass over the whole sequence per stack, so every key is memoized (hit or miss),
  // then one short timed run (descriptors, connections, pools).
  for (auto& s : stacks) {
    load.port = s->server->port();
    load.seconds = 0;
    LoadResult r = RunMixedLoad(sequence, load);
    s->answered_404 += r.statuses_404;
    if (std::string problem = check(*s, r); !problem.empty()) return Fail("warm-up " + problem);
    load.seconds = 1;
    r = RunMixedLoad(sequence, load);
    s->answered_404 += r.statuses_404;
    if (std::string problem = check(*s, r); !problem.empty()) return Fail("warm-up " + problem);
  }

  load.seconds = o.duration_s;
  for (int rep = 0; rep < o.reps; ++rep) {
    for (size_t i = 0; i < stacks.size(); ++i) {
      Stack& s = *stacks[(i + static_cast<size_t>(rep)) % stacks.size()];
      std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
      load.port = s.server->port();
      LoadResult r = RunMixedLoad(sequence, load);
      s.answered_404 += r.statuses_404;
      std::printf(
          "rep %d %-15s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  404s %4.1f%%  errors %ld  "
          "unexpected %ld\n",
          rep + 1, s.name.c_str(), r.rps, r.p50_ms, r.p99_ms,
          100.0 * static_cast<double>(r.statuses_404) /
              static_cast<double>(std::max(1L, r.expected + r.unexpected)),
          r.errors, r.unexpected);
      std::fflush(stdout);
      if (std::string problem = check(s, r); !problem.empty()) return Fail(problem);
      s.runs.push_back(r);
    }
  }

  std::map<std::string, double> med_rps;
  for (auto& s : stacks) {
    std::vector<double> rps;
    for (const auto& r : s->runs) rps.push_back(r.rps);
    med_rps[s->name] = Median(rps);
  }
  // Under a varying machine load the paired ratio (each repetition's run against the memory run of
  // the same repetition, at most four runs apart) is steadier than the ratio of the medians.
  const Stack& memory = *stacks.front();
  std::printf(
      "\n| backend | median req/s | vs memory (medians) | vs memory (median of per-rep "
      "ratios) | median p50 ms | median p99 ms |\n|---|---:|---:|---:|---:|---:|\n");
  for (auto& s : stacks) {
    std::vector<double> p50, p99, paired;
    for (size_t i = 0; i < s->runs.size(); ++i) {
      p50.push_back(s->runs[i].p50_ms);
      p99.push_back(s->runs[i].p99_ms);
      paired.push_back(s->runs[i].rps / memory.runs[i].rps);
    }
    std::printf("| %s | %.0f | %.2fx | %.2fx | %.3f | %.3f |\n", s->name.c_str(), med_rps[s->name],
                med_rps[s->name] / med_rps["memory"], Median(paired), Median(p50), Median(p99));
  }

  // Exactness: every 404 a stack answered is one count in its database, over every missing key.
  int rc = 0;
  std::printf("\n");
  for (auto& s : stacks) {
    s->server->Shutdown(std::chrono::milliseconds(5000));
    s->server->Wait();
    if (Status st = s->service->missing_symbols().Flush(); !st.ok())
      return Fail(s->name + ": flush: " + st.ToString());
    auto recorded = RecordedMisses(*s->db);
    if (!recorded.ok()) return Fail(s->name + ": " + recorded.status().ToString());
    const bool exact =
        recorded->first == s->answered_404 && recorded->second == static_cast<int64_t>(o.missing);
    std::printf(
        "%-15s missing-symbol counts: %ld 404s received, %lld recorded over %lld keys: %s\n",
        s->name.c_str(), s->answered_404, static_cast<long long>(recorded->first),
        static_cast<long long>(recorded->second), exact ? "EXACT" : "MISMATCH");
    if (!exact) rc = 2;
  }
  return rc;
}

}  // namespace

int RunCacheComparison(const CacheComparisonOptions& options) {
  char tmpl[] = "/tmp/sigil-download-cache-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) return Fail("mkdtemp failed");
  const std::string dir = tmpl;
  const int rc = Run(options, dir);  // stops the stacks and the peers before returning
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc;
}

}  // namespace sigil::bench
