// S3 existence benchmark: two ways of answering "does this key exist and what size is it" on the S3
// backend, side by side in one interleaved run (docs/benchmarks.md, "## S3 existence"):
//
//   HEAD  S3ObjectStore::ExistingSizeByHead: HEAD <key> (200 + Content-Length, or 404) [reference]
//   LIST  S3ObjectStore::ExistingSizeByList: GET ?list-type=2&prefix=<key>&max-keys=1
//
// Cases, after the seed note "Fastest way to find out if a file exists in S3": hits (every key
// exists), misses (none does), and misses each followed by a PUT of that key (the upload path,
// where boto3's HEAD miss cost a fresh connection for the PUT). Each repetition runs every (method,
// case) block once in a shuffled order; per-operation medians over all repetitions are reported,
// with LIST/HEAD ratios and the number of TCP connections each block had to open.
//
// The server is s3rver on loopback (node; it does the real work of each request), started here.
// Keys use the store layout <debug_file>/<debug_id>/<file>, --symbols of them (default 300);
// objects created by miss+put are deleted again after their block (untimed), so every block sees
// the same bucket.
//
// Usage: s3_exists_bench [--reps N] [--ops N] [--symbols N] [--fork]
//        (--fork: the signature-checking @20minutes/s3rver instead of s3rver 3.7)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "integration/support/s3rver.h"
#include "storage/s3/s3_object_store.h"

using namespace sigil;
using namespace sigil::storage::s3;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "s3_exists_bench: %s\n", msg.c_str());
  std::exit(1);
}

std::string SymbolKey(int i) {
  char id[40];
  std::snprintf(id, sizeof id, "%032X%d", static_cast<unsigned>(i) * 2654435761u, i % 10);
  return "lib" + std::to_string(i) + ".so/" + id + "/lib" + std::to_string(i) + ".so.sym";
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Block {
  std::string method;  // HEAD / LIST
  std::string kase;    // hit / miss / miss+put
  std::vector<double> micros;
  uint64_t connections = 0;
  uint64_t errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int reps = 15;
  int ops = 100;
  bool fork = false;
  int symbols = 300;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
      ops = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--symbols") == 0 && i + 1 < argc) {
      symbols = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--fork") == 0) {
      fork = true;
    } else {
      Die("usage: s3_exists_bench [--reps N] [--ops N] [--symbols N] [--fork]");
    }
  }
  if (reps < 1 || ops < 1 || symbols < 1) Die("--reps, --ops and --symbols must be positive");

  testing::S3rverOptions so;
  so.signature_checking_fork = fork;
  auto server = testing::S3rver::Start(so);
  if (!server.ok()) Die(server.status().ToString());

  S3Options o;
  o.bucket = (*server)->bucket();
  o.endpoint = (*server)->endpoint();
  o.prefix = "bench";
  o.credentials = {testing::S3rver::kAccessKeyId, testing::S3rver::kSecretAccessKey, ""};
  if (Status s = ValidateS3Options(o); !s.ok()) Die(s.ToString());
  S3ObjectStore store(o);

  const int kSymbols = symbols;
  const std::string payload(4096, 's');
  for (int i = 0; i < kSymbols; ++i) {
    if (Status s = store.Put(SymbolKey(i), payload, {}); !s.ok()) Die(s.ToString());
  }

  using Lookup = Result<std::optional<uint64_t>> (S3ObjectStore::*)(std::string_view);
  const std::map<std::string, Lookup> methods = {{"HEAD", &S3ObjectStore::ExistingSizeByHead},
                                                 {"LIST", &S3ObjectStore::ExistingSizeByList}};
  std::vector<Block> blocks;
  for (const char* m : {"HEAD", "LIST"}) {
    for (const char* c : {"hit", "miss", "miss+put"}) blocks.push_back(Block{m, c, {}, 0, 0});
  }

  std::mt19937 rng(12345);
  int fresh = 0;  // unique suffix for miss keys
  std::vector<size_t> order(blocks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int rep = 0; rep < reps; ++rep) {
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t bi : order) {
      Block& b = blocks[bi];
      const Lookup lookup = methods.at(b.method);
      const uint64_t conns_before = store.client().pool_stats().connections_opened;
      std::vector<std::string> created;
      for (int i = 0; i < ops; ++i) {
        const bool hit = b.kase == "hit";
        const std::string key = hit ? SymbolKey(static_cast<int>(rng() % kSymbols))
                                    : "new" + std::to_string(fresh) +
                                          ".so/ABCDEF0123456789ABCDEF01234567890/new" +
                                          std::to_string(fresh) + ".so.sym";
        ++fresh;
        const auto t0 = Clock::now();
        auto size = (store.*lookup)(key);
        bool ok = size.ok() && size->has_value() == hit && (!hit || **size == payload.size());
        if (ok && b.kase == "miss+put") {
          ok = store.Put(key, payload, {}).ok();
          created.push_back(key);
        }
        const auto t1 = Clock::now();
        if (!ok) ++b.errors;
        b.micros.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
      b.connections += store.client().pool_stats().connections_opened - conns_before;
      // Untimed: keep the bucket at kSymbols objects, so later blocks list the same directory
      // sizes.
      for (const std::string& key : created) {
        if (Status s = store.Delete(key); !s.ok()) Die(s.ToString());
      }
    }
  }

  std::printf(
      "S3 existence: %d reps x %d ops per (method, case) block, interleaved; %d objects; server: "
      "%s "
      "on loopback\n\n",
      reps, ops, kSymbols, fork ? "@20minutes/s3rver 4.0.4 (signature-checking)" : "s3rver 3.7.1");
  std::printf(
      "| case | method | median us/op | p90 us/op | ops/s (from median) | new connections | errors "
      "| LIST/HEAD (median) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const char* c : {"hit", "miss", "miss+put"}) {
    const Block* head = nullptr;
    for (const Block& b : blocks) {
      if (b.kase == c && b.method == "HEAD") head = &b;
    }
    for (const Block& b : blocks) {
      if (b.kase != c) continue;
      const double med = Percentile(b.micros, 0.5);
      const double ratio = med / Percentile(head->micros, 0.5);
      std::printf(
          "| %s | %s | %.0f | %.0f | %.0f | %llu | %llu | %s |\n", c, b.method.c_str(), med,
          Percentile(b.micros, 0.9), 1e6 / med, static_cast<unsigned long long>(b.connections),
          static_cast<unsigned long long>(b.errors),
          b.method == "HEAD" ? "1.00 (reference)" : (std::to_string(ratio).substr(0, 4)).c_str());
    }
  }
  return 0;
}
