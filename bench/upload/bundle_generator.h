// Generates symbol bundles shaped like the seed's measurements (blog-posts.txt, "Concurrent Gzip"):
// text .sym-like members in store layout, zipped (deflate level 1 to keep generation quick), from a
// fixed seed so every run produces the same bytes. Bench-only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sigil::bench {

struct BundleShape {
  std::string name;
  int files = 0;
  uint64_t total_bytes = 0;
  uint64_t largest_bytes = 0;
  bool stored = false;  // members stored uncompressed in the zip (so the server compresses them)
};

// 66 files / 140 MB (largest 18 MB), 103 files / 330 MB (one 80 MB), 26 files / 87 MB (largest 22
// MB); and "stored66", bundle66's members stored uncompressed in the zip.
std::vector<BundleShape> SeedShapes();

// The member sizes of a shape (deterministic; sums to total_bytes).
std::vector<uint64_t> MemberSizes(const BundleShape& shape);

// Deterministic .sym-like text of exactly `size` bytes for member `index`.
std::string SymText(uint64_t size, int index);

// Writes the bundle zip to `path` unless it already exists with the right content marker.
bool WriteBundle(const BundleShape& shape, const std::string& path, std::string* error);

}  // namespace sigil::bench
