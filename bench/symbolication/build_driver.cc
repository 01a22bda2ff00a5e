// symbolication_build_driver: times BuildIndex on .sym files and fingerprints the index bytes, for
// A/B runs between two trees (build the same driver in both, alternate them) and for checking that
// a builder change leaves the index bytes unchanged.
//
//   symbolication_build_driver [--reps N] [--out DIR] FILE...
//
// For each FILE: N builds (default 5) from the in-memory text, one line "<name> <MB> <median MB/s>
// <min..max MB/s> <median system ms> <median page faults> <index bytes> <fnv1a-64 of the index>"
// (CPU time of the calling thread). With
// --out, the index of each file is also written to DIR/<n>.symidx (n = its position on the command
// line).
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "symbolication/index_builder.h"

namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// System CPU seconds and minor page faults of the calling thread so far.
void ThreadSysAndFaults(double* sys, long* faults) {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  *sys = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) * 1e-6;
  *faults = ru.ru_minflt;
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  std::string out_dir;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--out" && i + 1 < argc) {
      out_dir = argv[++i];
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s [--reps N] [--out DIR] FILE...\n", argv[0]);
    return 2;
  }
  for (size_t n = 0; n < files.size(); ++n) {
    std::ifstream in(files[n], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", files[n].c_str());
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string sym = ss.str();
    std::vector<double> rates, sys_ms;
    std::vector<long> faults;
    std::string bytes;
    sigil::symbolication::BuildStats stats;
    for (int r = 0; r < reps; ++r) {
      double s0, s1;
      long f0, f1;
      ThreadSysAndFaults(&s0, &f0);
      const double t0 = ThreadCpuSeconds();
      auto built = sigil::symbolication::BuildIndex(sym);
      const double t1 = ThreadCpuSeconds();
      ThreadSysAndFaults(&s1, &f1);
      sys_ms.push_back((s1 - s0) * 1e3);
      faults.push_back(f1 - f0);
      if (!built.ok()) {
        std::fprintf(stderr, "%s: %s\n", files[n].c_str(), built.status().ToString().c_str());
        return 1;
      }
      rates.push_back(static_cast<double>(sym.size()) / 1e6 / std::max(t1 - t0, 1e-9));
      if (r == 0) {
        bytes = std::move(built->bytes);
        stats = built->stats;
      }
    }
    std::vector<double> sorted = rates;
    std::sort(sorted.begin(), sorted.end());
    std::sort(sys_ms.begin(), sys_ms.end());
    std::sort(faults.begin(), faults.end());
    std::printf(
        "%-40s %8.2f MB  %7.1f MB/s  (%.1f..%.1f)  sys %.0f ms  %ld faults  %10zu B  %016llx\n",
        std::filesystem::path(files[n]).filename().c_str(), static_cast<double>(sym.size()) / 1e6,
        sorted[sorted.size() / 2], sorted.front(), sorted.back(), sys_ms[sys_ms.size() / 2],
        faults[faults.size() / 2], bytes.size(), static_cast<unsigned long long>(Fnv1a(bytes)));
    if (std::getenv("SIGIL_BUILD_STATS") != nullptr) {
      std::printf(
          "  lines %llu funcs %llu publics %llu line entries %llu inline nodes %llu strings %llu\n",
          static_cast<unsigned long long>(stats.parse.lines),
          static_cast<unsigned long long>(stats.funcs),
          static_cast<unsigned long long>(stats.publics),
          static_cast<unsigned long long>(stats.lines),
          static_cast<unsigned long long>(stats.inline_nodes),
          static_cast<unsigned long long>(stats.strings));
    }
    if (!out_dir.empty()) {
      std::ofstream(out_dir + "/" + std::to_string(n) + ".symidx", std::ios::binary) << bytes;
    }
  }
  return 0;
}
