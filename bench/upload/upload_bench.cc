// Upload benchmark (docs/benchmarks.md "## Upload"). For three bundles shaped like the seed's
// measurements, interleaved repetitions of:
//   (a) serial zlib level 6 on one thread over the members' bytes (the seed's baseline f1),
//   (c) raw ISA-L compression (configured level) of the same bytes on one thread; "two cores'
//       worth" is half its time,
//   (b) sigil's pipeline end to end: POST /upload/ to a real http::Server + UploadService +
//       filesystem store + SQLite, in a fresh child process (so its peak RSS is its own), timed
//       from the request to the 201,
//   (d) the work no pipeline can skip for these members, on one thread: inflate with the CRC
//       check (MemberReader, as the service reads a member) and the MD5 the spec stores as
//       original_md5_hash (Md5UpdateMany over 16 members side by side, as the service does);
//       "two cores' worth" is half its time. For members the client deflated, sigil keeps the
//       client's stream and does not compress at all, so (d), not (c), bounds what (b) can reach.
// Prints medians, MB/s, ratios, the child's peak RSS and the CPU (user / sys) its process spent
// during the request (server and client together) as a Markdown table.
//
// With --reference-binary, (b) is also run with that binary's child (e.g. an upload_bench built
// from an older tree) beside this one's in every repetition (the two take turns going first), for a
// before/after comparison under the same machine load; a second table gives both medians and the
// median of the per-repetition ratios.
//
//   upload_bench [--reps N] [--bundles bundle66,bundle103,bundle26,stored66]
//                [--reference-binary PATH] [--remove-trees each|end] [--warmup N]
//
// --warmup N (0-5, default 0): N untimed uploads right before each timed one. Without them the
// timed child is the first upload after the compression loops, which on this VM runs 1.5-2x slower
// than one right after another upload (fresh memory costs a host fault; just-freed memory does
// not).
//
// --remove-trees: when the children's store trees are removed: "each" (default, as before) right
// after each run, i.e. shortly before the next one; "end" after the last run (see RunChild).
#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <system_error>

#include "api/upload_handlers.h"
#include "bundle_generator.h"
#include "common/invalidation_bus.h"
#include "common/md5_mb.h"
#include "db/sqlite/sqlite_database.h"
#include "http/server.h"
#include "storage/fs/fs_object_store.h"
#include "upload/gzip_compressor.h"
#include "upload/member_reader.h"
#include "upload/zip_inspector.h"

namespace fs = std::filesystem;
using sigil::upload::GzipCompressor;

namespace {

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double CpuSeconds(const timeval& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct CompressResult {
  double seconds = 0;
  uint64_t in = 0, out = 0;
};

// A bundle's members (as InspectArchive plans them) and a reader for them; exits on failure.
struct Bundle {
  sigil::upload::ArchivePlan plan;
  std::unique_ptr<sigil::upload::MemberReader> reader;
};

Bundle OpenBundle(const std::string& zip) {
  sigil::upload::ArchiveFile file{zip, 0, fs::file_size(zip)};
  auto plan = sigil::upload::InspectArchive(file, sigil::UploadConfig{}, false);
  auto reader = sigil::upload::MemberReader::Open(file);
  if (!plan.ok() || !reader.ok()) {
    std::cerr << "cannot read " << zip << "\n";
    std::exit(1);
  }
  return Bundle{std::move(plan).value(), std::move(reader).value()};
}

// Reads one member through `consume` (inflating and checking its CRC); exits on failure.
void ReadMember(Bundle& bundle, const sigil::upload::ArchiveMember& m,
                const std::function<void(std::string_view)>& consume) {
  sigil::Status st = bundle.reader->Read(m, [&](std::string_view c) {
    consume(c);
    return sigil::Status::Ok();
  });
  if (!st.ok()) {
    std::cerr << "reading " << m.name << ": " << st.ToString() << "\n";
    std::exit(1);
  }
}

std::string MemberBytes(Bundle& bundle, const sigil::upload::ArchiveMember& m) {
  std::string data;
  data.reserve(m.size);
  ReadMember(bundle, m, [&](std::string_view c) { data.append(c); });
  return data;
}

// Compresses every member (read one at a time, so memory stays small) and times only compression.
CompressResult CompressAll(const std::string& zip, GzipCompressor::Backend backend, int level) {
  CompressResult r;
  Bundle bundle = OpenBundle(zip);
  for (const auto& m : bundle.plan.members) {
    const std::string data = MemberBytes(bundle, m);
    auto t0 = std::chrono::steady_clock::now();
    auto gz = sigil::upload::GzipString(data, backend, level);
    r.seconds += Seconds(std::chrono::steady_clock::now() - t0);
    r.in += data.size();
    r.out += gz->size();
  }
  return r;
}

// (d): inflate + CRC check of every member (timed alone), then MD5 over groups of 16 members
// side by side (each group read into memory untimed first, then hashed timed).
double RequiredWorkAll(const std::string& zip) {
  Bundle bundle = OpenBundle(zip);
  const auto& members = bundle.plan.members;
  uint64_t sink = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& m : members)
    ReadMember(bundle, m, [&](std::string_view c) { sink += c.size(); });
  double seconds = Seconds(std::chrono::steady_clock::now() - t0);
  const double inflate_seconds = seconds;
  constexpr size_t kLanes = 16;
  for (size_t g = 0; g < members.size(); g += kLanes) {
    const size_t n = std::min(kLanes, members.size() - g);
    std::vector<std::string> data;
    for (size_t i = 0; i < n; ++i) data.push_back(MemberBytes(bundle, members[g + i]));
    std::vector<sigil::Md5Stream> streams(n);
    std::vector<sigil::Md5Stream*> ptrs;
    for (auto& stream : streams) ptrs.push_back(&stream);
    const std::vector<std::string_view> views(data.begin(), data.end());
    t0 = std::chrono::steady_clock::now();
    sigil::Md5UpdateMany(ptrs, views);
    for (auto& stream : streams) sink += stream.FinishHex().size();
    seconds += Seconds(std::chrono::steady_clock::now() - t0);
  }
  if (sink == 0) std::cerr << "nothing read from " << zip << "\n";
  if (std::getenv("UPLOAD_BENCH_DEBUG") != nullptr) {
    std::cerr << zip << ": (d) inflate+CRC " << inflate_seconds << " s, MD5 "
              << seconds - inflate_seconds << " s\n";
  }
  return seconds;
}

// Child: serve, POST the zip, print "<seconds> <maxrss_kb> <status> <user_s> <sys_s>".
int Child(const std::string& zip, const std::string& work) {
  // UPLOAD_BENCH_DEBUG=1: the service's debug log (phase timings of the upload) on stderr.
  if (std::getenv("UPLOAD_BENCH_DEBUG") != nullptr) spdlog::set_level(spdlog::level::debug);
  fs::create_directories(work + "/tmp");
  sigil::UploadConfig config;
  auto store = sigil::storage::fs::MakeFsObjectStore(work + "/symbols");
  auto db = sigil::db::sqlite::OpenSqliteDatabase(work + "/sigil.db");
  if (!store.ok() || !db.ok() || !(*db)->Migrate().ok()) return 2;
  auto user = (*db)->CreateUser("bench@example.com", {"upload_symbols"});
  if (!user.ok()) return 2;
  int64_t uid = user->id;
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  sigil::WorkerPool pool(2 * cores, 1024, "bench-worker");
  sigil::LocalInvalidationBus bus;
  sigil::upload::UploadService service(config, **store, **db, pool, bus, work + "/tmp");
  sigil::http::RouteTable routes;
  sigil::api::RegisterUploadRoutes(
      routes, service,
      [uid](sigil::http::Request& r) -> std::optional<sigil::http::Response> {
        sigil::http::Principal p;
        p.user_id = uid;
        p.email = "bench@example.com";
        p.permissions = {"upload_symbols"};
        r.principal = p;
        return std::nullopt;
      },
      4ull << 30);
  sigil::http::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.io_threads = static_cast<int>(cores);
  options.tmp_dir = work + "/tmp";
  options.access_log = false;
  sigil::http::Server server(options, std::move(routes), pool, nullptr);
  if (!server.Start().ok()) return 2;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL* curl = curl_easy_init();
  curl_mime* mime = curl_mime_init(curl);
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, "bundle.zip");
  curl_mime_filedata(part, zip.c_str());
  std::string url = "http://" + server.address() + "/upload/";
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* d, size_t s, size_t n, void* u) {
        static_cast<std::string*>(u)->append(d, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  auto t0 = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl);
  double secs = Seconds(std::chrono::steady_clock::now() - t0);
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_mime_free(mime);
  curl_easy_cleanup(curl);
  server.Shutdown(std::chrono::milliseconds(1000));
  server.Wait();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  // CPU of the whole process (server and the curl client) while the request ran.
  std::printf("%.4f %ld %ld %.4f %.4f\n", secs, ru.ru_maxrss, rc == CURLE_OK ? status : 0L,
              CpuSeconds(after.ru_utime) - CpuSeconds(before.ru_utime),
              CpuSeconds(after.ru_stime) - CpuSeconds(before.ru_stime));
  if (status != 201) std::fprintf(stderr, "upload failed: %ld %s\n", status, body.c_str());
  return status == 201 ? 0 : 1;
}

struct EndToEnd {
  double seconds = 0;
  long rss_kb = 0;
  double user_s = -1, sys_s = -1;  // CPU during the request; -1: a child that does not report it
};

// Runs one child in a fresh directory `work`. With `remove` false the directory is left for the
// caller to remove later: on this machine's ext4 (no journal) every inode created within ~30 s of
// many deletions scans past the recently freed ones, so removing the previous run's tree right
// before a run makes its inode allocation cost several times what a server that rarely deletes
// files pays (~10-25% of the child's CPU in kernel profiles).
EndToEnd RunChild(const std::string& self, const std::string& zip, const std::string& work,
                  bool remove = true) {
  fs::remove_all(work);
  std::string cmd = "'" + self + "' --child '" + zip + "' '" + work + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  EndToEnd r;
  long status = 0;
  // The child's last stdout line is the result (log lines may precede it).
  std::string last;
  char buf[4096];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) last = buf;
  if (p == nullptr ||
      std::sscanf(last.c_str(), "%lf %ld %ld %lf %lf", &r.seconds, &r.rss_kb, &status, &r.user_s,
                  &r.sys_s) < 3 ||
      status != 201) {
    std::cerr << "child failed for " << zip << "\n";
    std::exit(1);
  }
  ::pclose(p);
  if (remove) fs::remove_all(work);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--child") return Child(argv[2], argv[3]);
  int reps = 3;
  std::string only;
  std::string reference;
  std::string remove_trees = "each";
  int warmups = 0;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc || (flag != "--reps" && flag != "--bundles" && flag != "--reference-binary" &&
                          flag != "--remove-trees" && flag != "--warmup")) {
      std::cerr << "usage: upload_bench [--reps N] [--bundles a,b,..] [--reference-binary PATH] "
                   "[--remove-trees each|end] [--warmup N]\n";
      return 2;
    }
    if (flag == "--reps") reps = std::atoi(argv[i + 1]);
    if (flag == "--bundles") only = argv[i + 1];
    if (flag == "--reference-binary") {
      std::error_code ec;
      reference = fs::canonical(argv[i + 1], ec);
      if (ec) {
        std::cerr << "--reference-binary " << argv[i + 1] << ": " << ec.message() << "\n";
        return 2;
      }
    }
    if (flag == "--remove-trees") remove_trees = std::string(argv[i + 1]);
    if (flag == "--warmup") warmups = std::atoi(argv[i + 1]);
  }
  if (warmups < 0 || warmups > 5) {
    std::cerr << "--warmup must be 0 to 5\n";
    return 2;
  }
  if (reps < 1) {
    std::cerr << "--reps must be a positive number\n";
    return 2;
  }
  if (remove_trees != "each" && remove_trees != "end") {
    std::cerr << "--remove-trees must be each or end\n";
    return 2;
  }
  std::string dir = std::string(SIGIL_BINARY_DIR) + "/bench-data/upload";
  fs::create_directories(dir);
  std::string self = fs::canonical("/proc/self/exe").string();
  sigil::UploadConfig defaults;

  struct Row {
    sigil::bench::BundleShape shape;
    std::string zip;
    std::vector<double> a, c, d, b, ref, user, sys;
    std::vector<long> rss, ref_rss;
    uint64_t in = 0, zlib_out = 0, isal_out = 0;
  };
  std::vector<Row> rows;
  for (const auto& shape : sigil::bench::SeedShapes()) {
    if (!only.empty() && only.find(shape.name) == std::string::npos) continue;
    Row row{shape, dir + "/" + shape.name + ".zip", {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, 0, 0};
    std::string error;
    std::cerr << "generating " << row.zip << "\n";
    if (!sigil::bench::WriteBundle(shape, row.zip, &error)) {
      std::cerr << error << "\n";
      return 1;
    }
    rows.push_back(std::move(row));
  }
  int runs = 0;
  for (int rep = 0; rep < reps; ++rep) {
    for (Row& row : rows) {
      auto a = CompressAll(row.zip, GzipCompressor::Backend::kZlib, 6);
      auto c = CompressAll(row.zip, GzipCompressor::Backend::kIsal, defaults.compression_level);
      const double d = RequiredWorkAll(row.zip);
      // Each run in its own tree; "end" removes them all after the last run.
      const bool each = remove_trees == "each";
      // With a reference the two children take turns going first: the first child after the
      // compressions above runs 1.5-2x slower on this VM (memory the guest just freed is warm, and
      // the second child gets it), which would otherwise always favour the reference.
      const bool reference_first = !reference.empty() && rep % 2 == 1;
      // --warmup N: N untimed uploads by the same binary right before each timed one, so the timed
      // child meets memory the way a server busy with uploads does (just freed, still warm).
      auto timed = [&](const std::string& binary) {
        for (int w = 0; w < warmups; ++w) {
          RunChild(binary, row.zip, dir + "/work-" + std::to_string(runs++), each);
        }
        return RunChild(binary, row.zip, dir + "/work-" + std::to_string(runs++), each);
      };
      EndToEnd r;
      if (reference_first) r = timed(reference);
      auto b = timed(self);
      if (!reference.empty()) {
        if (!reference_first) r = timed(reference);
        row.ref.push_back(r.seconds);
        row.ref_rss.push_back(r.rss_kb);
        std::cerr << row.shape.name << " rep " << rep << ": reference e2e " << r.seconds << " s"
                  << (reference_first ? " (ran first)" : "") << "\n";
      }
      row.a.push_back(a.seconds);
      row.c.push_back(c.seconds);
      row.d.push_back(d);
      row.b.push_back(b.seconds);
      row.rss.push_back(b.rss_kb);
      row.user.push_back(b.user_s);
      row.sys.push_back(b.sys_s);
      row.in = a.in;
      row.zlib_out = a.out;
      row.isal_out = c.out;
      std::cerr << row.shape.name << " rep " << rep << ": zlib6 " << a.seconds << " s, isal "
                << c.seconds << " s, inflate+CRC+MD5 " << d << " s, e2e " << b.seconds
                << " s (CPU user " << b.user_s << " sys " << b.sys_s << "), rss " << b.rss_kb / 1024
                << " MB\n";
    }
  }
  for (int i = 0; i < runs; ++i) fs::remove_all(dir + "/work-" + std::to_string(i));
  std::printf(
      "| bundle | files | MB | (a) zlib-6 serial s | (b) sigil e2e s | (b) MB/s | speedup a/b | "
      "ISA-L 1 core s | 2-core ISA-L / e2e | (d) inflate+CRC+MD5 1 core s | 2-core (d) / e2e | "
      "ratio zlib-6 | ratio ISA-L | peak RSS MB | (b) CPU user / sys s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& row : rows) {
    double mb = static_cast<double>(row.in) / 1e6;
    double a = Median(row.a), b = Median(row.b), c = Median(row.c), d = Median(row.d);
    long rss = *std::max_element(row.rss.begin(), row.rss.end());
    std::printf(
        "| %s | %d | %.1f | %.2f | %.2f | %.0f | %.1fx | %.2f | %.0f%% | %.2f | %.0f%% | %.2f | "
        "%.2f | %ld | %.2f / %.2f |\n",
        row.shape.name.c_str(), row.shape.files, mb, a, b, mb / b, a / b, c, 100.0 * (c / 2) / b, d,
        100.0 * (d / 2) / b, static_cast<double>(row.in) / static_cast<double>(row.zlib_out),
        static_cast<double>(row.in) / static_cast<double>(row.isal_out), rss / 1024,
        Median(row.user), Median(row.sys));
  }
  if (!reference.empty()) {
    std::printf("\nreference: %s\n\n", reference.c_str());
    std::printf(
        "| bundle | (b) e2e s | reference e2e s | median per-rep e2e ratio ref/b | 2-core ISA-L / "
        "e2e | 2-core ISA-L / reference e2e | peak RSS MB | reference peak RSS MB |\n");
    std::printf("|---|---|---|---|---|---|---|---|\n");
    for (const Row& row : rows) {
      std::vector<double> ratios;
      for (size_t i = 0; i < row.b.size(); ++i) ratios.push_back(row.ref[i] / row.b[i]);
      double b = Median(row.b), r = Median(row.ref), c = Median(row.c);
      std::printf("| %s | %.3f | %.3f | %.2fx | %.0f%% | %.0f%% | %ld | %ld |\n",
                  row.shape.name.c_str(), b, r, Median(ratios), 100.0 * (c / 2) / b,
                  100.0 * (c / 2) / r, *std::max_element(row.rss.begin(), row.rss.end()) / 1024,
                  *std::max_element(row.ref_rss.begin(), row.ref_rss.end()) / 1024);
    }
  }
  return 0;
}
