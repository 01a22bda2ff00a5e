// MD5 throughput (docs/benchmarks.md "## Upload"): Md5UpdateMany over N streams of 256 KiB each
// (the upload pipeline's chunk per member and round) with each instruction set this CPU has,
// against OpenSSL's MD5 hashing the same N inputs one after another. Bytes/s counts every
// stream's bytes.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/md5_mb.h"

namespace {

constexpr size_t kChunk = 256 * 1024;

const std::vector<std::string>& Inputs() {
  static const std::vector<std::string> inputs = [] {
    std::mt19937 rng(42);
    std::vector<std::string> v(16, std::string(kChunk, '\0'));
    for (std::string& s : v) {
      for (char& c : s) c = static_cast<char>('a' + rng() % 26);  // text, like .sym files
    }
    return v;
  }();
  return inputs;
}

void BM_Md5Many(benchmark::State& state, sigil::Md5Simd simd) {
  if (std::min(simd, sigil::Md5BestSimd()) != simd) {
    state.SkipWithError("instruction set not available on this CPU");
    return;
  }
  const size_t lanes = static_cast<size_t>(state.range(0));
  std::vector<std::string_view> views(Inputs().begin(), Inputs().begin() + lanes);
  for (auto _ : state) {
    std::vector<sigil::Md5Stream> streams(lanes);
    std::vector<sigil::Md5Stream*> ptrs;
    for (auto& s : streams) ptrs.push_back(&s);
    sigil::Md5UpdateMany(ptrs, views, simd);
    for (auto& s : streams) benchmark::DoNotOptimize(s.FinishHex());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lanes * kChunk));
}

void BM_OpenSslMd5(benchmark::State& state) {
  const size_t lanes = static_cast<size_t>(state.range(0));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < lanes; ++i) {
      EVP_DigestInit_ex(ctx, EVP_md5(), nullptr);
      EVP_DigestUpdate(ctx, Inputs()[i].data(), kChunk);
      EVP_DigestFinal_ex(ctx, digest, &len);
      benchmark::DoNotOptimize(digest);
    }
  }
  EVP_MD_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * lanes * kChunk));
}

BENCHMARK(BM_OpenSslMd5)->Arg(1)->Arg(16);
BENCHMARK_CAPTURE(BM_Md5Many, portable, sigil::Md5Simd::kNone)->Arg(1)->Arg(2)->Arg(16);
BENCHMARK_CAPTURE(BM_Md5Many, avx2, sigil::Md5Simd::kAvx2)->Arg(4)->Arg(8)->Arg(12)->Arg(16);
BENCHMARK_CAPTURE(BM_Md5Many, avx512, sigil::Md5Simd::kAvx512)->Arg(4)->Arg(8)->Arg(12)->Arg(16);

}  // namespace

BENCHMARK_MAIN();
