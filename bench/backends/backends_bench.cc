// Backends benchmark: the filesystem ObjectStore, the SQLite Database and the Authenticator, each
// candidate side by side with the plainest reference that does the same job without sigil's
// guarantees, in one interleaved run (docs/benchmarks.md, "## storage/fs, db/sqlite, auth"):
//
//   fs.head        FsObjectStore::Head (open, fstat, read + match sidecar)   vs open + fstat of
//                                                                              <root>/<key>
//   fs.get64k      FsObjectStore::Get + read 64 KiB                          vs open + read 64 KiB
//   fs.put64k      FsObjectStore::Put 64 KiB (temp, fsync, sidecar, renames,  vs write temp + fsync
//   +
//                  dir fsync)                                                   rename + dir fsync
//   auth.cached    Authenticator::Authenticate, cache hit                   vs cache off (SQLite)
//   missing.batch  RecordMissingSymbols, 100 hits in one call               vs 100 calls of 1 hit
//
// Each repetition runs every block once, in a shuffled order; reported: per-operation median and
// p90 over repetitions, and the candidate/reference ratio of the medians.
//
// Usage: backends_bench [--reps N] [--ops N] [--dir PATH]   (dir: a scratch directory on the disk
// to measure; default $TMPDIR)
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "db/sqlite/sqlite_database.h"
#include "storage/fs/fs_object_store.h"

using namespace sigil;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "backends_bench: %s\n", msg.c_str());
  std::exit(1);
}

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

void MustOk(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Block {
  std::string name;
  std::string pair;  // blocks of one pair are compared
  bool reference = false;
  int ops = 0;  // operations per run
  std::function<void(int i)> op;
  std::vector<double> micros;  // per operation, one value per repetition
};

void RawWrite(int dir_fd, const std::string& name, const std::string& data) {
  std::string tmp = name + ".tmp";
  int fd = ::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size()) ||
      ::fsync(fd) != 0 || ::close(fd) != 0 ||
      ::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0 || ::fsync(dir_fd) != 0) {
    Die("raw write failed");
  }
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 11, ops = 300;
  std::string base = std::filesystem::temp_directory_path().string();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--ops") == 0 && i + 1 < argc) {
      ops = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      base = argv[++i];
    } else {
      Die(std::string("unknown argument ") + argv[i]);
    }
  }
  std::string pattern = base + "/sigil-backends-bench-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) Die("mkdtemp under " + base);
  const std::string dir = pattern;

  // Fixtures.
  auto store = Must(storage::fs::MakeFsObjectStore(dir + "/store"), "fs store");
  std::filesystem::create_directories(dir + "/raw/xul.pdb/ID");
  int raw_dir = ::open((dir + "/raw/xul.pdb/ID").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int raw_root = ::open((dir + "/raw").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw_dir < 0 || raw_root < 0) Die("raw dir");
  const std::string payload(64 * 1024, 'x');
  const int kObjects = 64;
  storage::PutOptions put_options;
  put_options.content_type = "text/plain";
  put_options.content_encoding = "gzip";
  put_options.metadata = {{"original_size", "262144"}, {"original_md5_hash", std::string(32, 'a')}};
  for (int k = 0; k < kObjects; ++k) {
    MustOk(store->Put("xul.pdb/ID/f" + std::to_string(k), payload, put_options), "seed put");
    RawWrite(raw_dir, "f" + std::to_string(k), payload);
  }

  auto database = Must(db::sqlite::OpenSqliteDatabase(dir + "/sigil.db"), "sqlite");
  MustOk(database->Migrate(), "migrate");
  auto token = Must(auth::TokenService(*database).CreateToken("bench@example.com",
                                                              {"upload_symbols"}, 30, "bench"),
                    "token");
  auth::Authenticator cached(*database);
  auth::AuthenticatorOptions no_cache_options;
  no_cache_options.cache_ttl = std::chrono::seconds(0);
  auth::Authenticator uncached(*database, no_cache_options);
  std::vector<db::MissingSymbolHit> hits;
  for (int h = 0; h < 100; ++h) {
    db::MissingSymbolHit hit;
    hit.debug_file = "m" + std::to_string(h) + ".pdb";
    hit.debug_id = "ABCDEF0123456789ABCDEF0123456789A";
    hit.filename = "m" + std::to_string(h) + ".sym";
    hit.hash = db::MissingSymbolHash(hit);
    hits.push_back(hit);
  }

  std::vector<char> buf(64 * 1024);
  std::vector<Block> blocks;
  blocks.push_back({"fs.head sigil", "fs.head", false, ops, [&](int i) {
                      MustOk(store->Head("xul.pdb/ID/f" + std::to_string(i % kObjects)).status(),
                             "head");
                    }});
  blocks.push_back({"fs.head open+fstat", "fs.head", true, ops, [&](int i) {
                      std::string name = "xul.pdb/ID/f" + std::to_string(i % kObjects);
                      int fd = ::openat(raw_root, name.c_str(), O_RDONLY | O_CLOEXEC);
                      struct stat st;
                      if (fd < 0 || ::fstat(fd, &st) != 0) Die("raw head");
                      ::close(fd);
                    }});
  blocks.push_back({"fs.get64k sigil", "fs.get64k", false, ops, [&](int i) {
                      auto reader =
                          Must(store->Get("xul.pdb/ID/f" + std::to_string(i % kObjects)), "get");
                      while (Must(reader->Read(buf.data(), buf.size()), "read") > 0) {
                      }
                    }});
  blocks.push_back({"fs.get64k open+read", "fs.get64k", true, ops, [&](int i) {
                      std::string name = "xul.pdb/ID/f" + std::to_string(i % kObjects);
                      int fd = ::openat(raw_root, name.c_str(), O_RDONLY | O_CLOEXEC);
                      if (fd < 0) Die("raw get");
                      while (::read(fd, buf.data(), buf.size()) > 0) {
                      }
                      ::close(fd);
                    }});
  const int put_ops = std::max(1, ops / 10);
  blocks.push_back(
      {"fs.put64k sigil", "fs.put64k", false, put_ops, [&](int i) {
         MustOk(store->Put("xul.pdb/ID/f" + std::to_string(i % kObjects), payload, put_options),
                "put");
       }});
  blocks.push_back({"fs.put64k write+fsync+rename", "fs.put64k", true, put_ops, [&](int i) {
                      RawWrite(raw_dir, "f" + std::to_string(i % kObjects), payload);
                    }});
  blocks.push_back({"auth cached", "auth", false, ops * 10,
                    [&](int) { MustOk(cached.Authenticate(token.key).status(), "auth"); }});
  blocks.push_back({"auth uncached (sqlite)", "auth", true, ops * 10,
                    [&](int) { MustOk(uncached.Authenticate(token.key).status(), "auth"); }});
  // Per-hit cost: one op = 100 hits either way.
  blocks.push_back({"missing 1 call x 100 hits", "missing", false, std::max(1, ops / 10),
                    [&](int) { MustOk(database->RecordMissingSymbols(hits), "record"); }});
  blocks.push_back({"missing 100 calls x 1 hit", "missing", true, std::max(1, ops / 10), [&](int) {
                      for (const db::MissingSymbolHit& hit : hits) {
                        MustOk(database->RecordMissingSymbols({hit}), "record");
                      }
                    }});

  std::mt19937 rng(12345);
  std::vector<size_t> order(blocks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int rep = 0; rep < reps + 1; ++rep) {  // repetition 0 warms up and is dropped
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t index : order) {
      Block& b = blocks[index];
      auto start = Clock::now();
      for (int i = 0; i < b.ops; ++i) b.op(i);
      double micros = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      if (rep > 0) b.micros.push_back(micros / b.ops);
    }
  }

  std::printf("%-32s %12s %12s %10s\n", "block", "median us", "p90 us", "ratio");
  for (const Block& b : blocks) {
    const Block* ref = nullptr;
    for (const Block& r : blocks) {
      if (r.pair == b.pair && r.reference) ref = &r;
    }
    double median = Percentile(b.micros, 0.5);
    double ratio = ref != nullptr ? median / Percentile(ref->micros, 0.5) : 0;
    std::printf("%-32s %12.2f %12.2f %9.2fx%s\n", b.name.c_str(), median, Percentile(b.micros, 0.9),
                ratio, b.reference ? "  (reference)" : "");
  }
  ::close(raw_dir);
  ::close(raw_root);
  store.reset();
  database.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
