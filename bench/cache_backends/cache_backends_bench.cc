// Cache backend benchmark: the memoize access pattern (Get; on a miss, Set) against every cache
// backend, side by side in one interleaved run (docs/benchmarks.md, "## cache and database
// backends"):
//
//   memcached-tcp    MakeMemcachedCache("memcached://127.0.0.1:<port>")       [reference]
//   memcached-unix   MakeMemcachedCache("memcached+unix://<sock>")
//   redis-tcp        MakeRedisCache("redis://127.0.0.1:<port>/0")
//   redis-unix       MakeRedisCache("redis+unix://<sock>")
//   memory           MakeMemoryCache (in process; the floor, no round trip)
//
// After the seed note "Fastest *local* cache backend possible for Django": server on the same
// machine, short keys, values a list of 30 short strings, about 80% hits. Each repetition runs
// every backend's block once in a shuffled order; keys a block adds on misses are deleted after it
// (untimed), so every block sees the same hit ratio. Reported: per-operation median and p90 latency
// over all repetitions, and the median's ratio to the reference.
//
// Usage: cache_backends_bench [--reps N] [--ops N] [--keys N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cache/memcached/memcached_cache.h"
#include "cache/memory/memory_cache.h"
#include "cache/redis/redis_cache.h"
#include "integration/support/services.h"

using namespace sigil;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "cache_backends_bench: %s\n", msg.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Backend {
  std::string name;
  std::unique_ptr<cache::Cache> cache;
  std::vector<double> micros;
  uint64_t hits = 0, misses = 0, errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 15, ops = 2000, keys = 1000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
      ops = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--keys") == 0 && i + 1 < argc) {
      keys = std::atoi(argv[++i]);
    } else {
      Die(std::string("unknown argument ") + argv[i]);
    }
  }
  auto redis = Must(testing::RedisServer::Start(), "redis-server");
  auto mc_tcp = Must(testing::MemcachedServer::Start(false), "memcached (tcp)");
  auto mc_unix = Must(testing::MemcachedServer::Start(true), "memcached (unix)");

  std::vector<Backend> backends;
  backends.push_back(
      {"memcached-tcp", Must(cache::memcached::MakeMemcachedCache(mc_tcp->Url()), "mc")});
  backends.push_back(
      {"memcached-unix", Must(cache::memcached::MakeMemcachedCache(mc_unix->Url()), "mc")});
  backends.push_back({"redis-tcp", Must(cache::redis::MakeRedisCache(redis->Url()), "redis")});
  backends.push_back({"redis-unix", Must(cache::redis::MakeRedisCache(redis->UnixUrl()), "redis")});
  backends.push_back({"memory", cache::memory::MakeMemoryCache(64 << 20)});

  // The value: a list of 30 three-letter strings, as the seed note's benchmark used.
  std::string value;
  for (int i = 0; i < 30; ++i) value += std::string(i == 0 ? "" : ",") + "abc";
  std::vector<std::string> names;
  for (int k = 0; k < keys; ++k) names.push_back("memo:" + std::to_string(k));
  std::mt19937 rng(42);
  // 80% of the keys are present before every block.
  std::vector<bool> preset(keys);
  for (int k = 0; k < keys; ++k) preset[k] = k % 5 != 0;
  for (auto& b : backends) {
    for (int k = 0; k < keys; ++k) {
      if (preset[k] && !b.cache->Set(names[k], value, std::chrono::seconds(3600)).ok())
        Die("preload");
    }
  }
  // One access sequence for every block.
  std::vector<int> sequence(ops);
  std::uniform_int_distribution<int> pick(0, keys - 1);
  for (int& k : sequence) k = pick(rng);

  std::vector<size_t> order(backends.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int rep = 0; rep < reps; ++rep) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t idx : order) {
      Backend& b = backends[idx];
      std::vector<int> added;
      for (int k : sequence) {
        auto start = Clock::now();
        auto got = b.cache->Get(names[k]);
        bool miss = got.ok() && !got->has_value();
        if (miss) {
          if (!b.cache->Set(names[k], value, std::chrono::seconds(3600)).ok()) ++b.errors;
        }
        b.micros.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        if (!got.ok()) ++b.errors;
        if (miss) {
          ++b.misses;
          added.push_back(k);
        } else if (got.ok()) {
          ++b.hits;
        }
      }
      for (int k : added) (void)b.cache->Delete(names[k]);  // untimed: restore the 80% hit ratio
    }
  }

  double reference = Percentile(backends[0].micros, 0.5);
  std::printf("cache backends: %d reps x %d ops, %d keys, value %zu bytes, hit ratio %.0f%%\n\n",
              reps, ops, keys, value.size(),
              100.0 * static_cast<double>(backends[0].hits) /
                  static_cast<double>(backends[0].hits + backends[0].misses));
  std::printf("| backend | median µs/op | p90 µs/op | median vs memcached-tcp | errors |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  for (const Backend& b : backends) {
    double median = Percentile(b.micros, 0.5);
    std::printf("| %s | %.1f | %.1f | %.2f | %llu |\n", b.name.c_str(), median,
                Percentile(b.micros, 0.9), median / reference,
                static_cast<unsigned long long>(b.errors));
  }
  return 0;
}
