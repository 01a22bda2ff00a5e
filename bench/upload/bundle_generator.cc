#include "bundle_generator.h"

#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

namespace sigil::bench {

std::vector<BundleShape> SeedShapes() {
  return {{"bundle66", 66, 140ull << 20, 18ull << 20},
          {"bundle103", 103, 330ull << 20, 80ull << 20},
          {"bundle26", 26, 87ull << 20, 22ull << 20},
          {"stored66", 66, 140ull << 20, 18ull << 20, true}};
}

std::vector<uint64_t> MemberSizes(const BundleShape& s) {
  std::mt19937_64 rng(1234 + static_cast<uint64_t>(s.files));
  std::vector<uint64_t> sizes = {s.largest_bytes};
  uint64_t rest = s.total_bytes - s.largest_bytes;
  // Skewed sizes (many small, few large) like real symbol bundles, capped below the largest.
  std::vector<double> weights;
  for (int i = 1; i < s.files; ++i) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    weights.push_back(std::pow(u, 3.0) + 0.002);
  }
  double sum = 0;
  for (double w : weights) sum += w;
  uint64_t assigned = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    uint64_t n = static_cast<uint64_t>(static_cast<double>(rest) * weights[i] / sum);
    n = std::min<uint64_t>(n, s.largest_bytes - 1);
    sizes.push_back(n);
    assigned += n;
  }
  // Spread the rounding remainder over the smaller members.
  uint64_t left = rest - assigned;
  for (size_t i = 1; left > 0; i = i % (sizes.size() - 1) + 1) {
    uint64_t add = std::min<uint64_t>(left, s.largest_bytes - 1 - sizes[i]);
    add = std::min<uint64_t>(add, 1 << 20);
    sizes[i] += add;
    left -= add;
  }
  return sizes;
}

std::string SymText(uint64_t size, int index) {
  static const char* kNames[] = {
      "mozilla::dom::Element::GetAttribute(nsAtom const*, nsAString&) const",
      "nsDocShell::InternalLoad(nsDocShellLoadState*, mozilla::Maybe<unsigned int>)",
      "js::jit::CodeGenerator::visitCallNative(js::jit::LCallNative*)",
      "mozilla::layers::CompositorBridgeParent::CompositeToTarget(unsigned long)",
      "std::__1::vector<int, std::__1::allocator<int> >::__push_back_slow_path<int>(int&&)",
      "NS_LogAddRef",
      "mozilla::net::HttpChannelChild::OnStartRequest(mozilla::net::nsHttpResponseHead const&)",
      "JS::Value js::NativeObject::getSlot(unsigned int) const"};
  std::mt19937_64 rng(99 + static_cast<uint64_t>(index));
  std::string s;
  s.reserve(size + 256);
  char buf[512];
  std::snprintf(
      buf, sizeof buf,
      "MODULE windows x86_64 %016llX%016llX1 lib%d.pdb\nINFO CODE_ID %08X%06X lib%d.dll\n",
      static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()), index,
      static_cast<unsigned>(rng()), static_cast<unsigned>(rng() & 0xffffff), index);
  s += buf;
  for (int f = 0; f < 400 && s.size() < size; ++f) {
    std::snprintf(buf, sizeof buf,
                  "FILE %d hg:hg.mozilla.org/mozilla-central:dom/base/File%d.cpp:%llx\n", f, f,
                  static_cast<unsigned long long>(rng() & 0xffffffffffull));
    s += buf;
  }
  uint64_t addr = 0x1000;
  while (s.size() < size) {
    uint64_t len = 0x20 + (rng() & 0x3ff);
    std::snprintf(buf, sizeof buf, "FUNC %llx %llx 0 %s\n", static_cast<unsigned long long>(addr),
                  static_cast<unsigned long long>(len), kNames[rng() % 8]);
    s += buf;
    int file = static_cast<int>(rng() % 400);
    int line = static_cast<int>(rng() % 3000);
    for (uint64_t a = addr; a < addr + len && s.size() < size; a += 4 + (rng() & 0x1f)) {
      line += static_cast<int>(rng() % 3);
      std::snprintf(buf, sizeof buf, "%llx %llx %d %d\n", static_cast<unsigned long long>(a),
                    static_cast<unsigned long long>(4 + (rng() & 0x1f)), line, file);
      s += buf;
    }
    addr += len;
  }
  s.resize(size);
  return s;
}

bool WriteBundle(const BundleShape& shape, const std::string& path, std::string* error) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) return true;  // generated earlier
  std::string partial = path + ".partial";
  int err = 0;
  zip_t* z = zip_open(partial.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (z == nullptr) {
    *error = "cannot create " + partial;
    return false;
  }
  std::vector<uint64_t> sizes = MemberSizes(shape);
  std::vector<std::string> keep;  // libzip reads the buffers at zip_close
  keep.reserve(sizes.size());
  // Written in batches so memory stays bounded: close and reopen every ~64 MB.
  uint64_t pending = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    keep.push_back(SymText(sizes[i], static_cast<int>(i)));
    char name[128];
    std::snprintf(name, sizeof name, "lib%zu.pdb/%016zX1/lib%zu.sym", i, i * 7919 + 1, i);
    zip_source_t* src = zip_source_buffer(z, keep.back().data(), keep.back().size(), 0);
    zip_int64_t idx = zip_file_add(z, name, src, ZIP_FL_ENC_UTF_8);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(idx),
                             shape.stored ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 1);
    pending += sizes[i];
    if (pending > (64ull << 20) || i + 1 == sizes.size()) {
      if (zip_close(z) != 0) {
        *error = zip_strerror(z);
        return false;
      }
      keep.clear();
      pending = 0;
      if (i + 1 < sizes.size()) {
        z = zip_open(partial.c_str(), 0, &err);
        if (z == nullptr) {
          *error = "cannot reopen " + partial;
          return false;
        }
      }
    }
  }
  return std::rename(partial.c_str(), path.c_str()) == 0;
}

}  // namespace sigil::bench
