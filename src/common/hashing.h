// Hashing and secrets: SHA-256, MD5 (streaming, for original_md5_hash), hex, constant-time compare,
// random tokens. Backed by OpenSSL. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sigil {

std::string HexEncode(std::string_view bytes);
std::string Sha256Hex(std::string_view data);
std::string Sha256Raw(std::string_view data);
std::string HmacSha256Raw(std::string_view key, std::string_view data);
std::string Md5Hex(std::string_view data);
// Compares in time that depends only on the lengths, never on where the inputs differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);
// `bytes` random bytes from a CSPRNG, hex-encoded (2*bytes characters).
std::string RandomHex(size_t bytes);

// Incremental digest (MD5 or SHA-256). Not thread-safe; one per stream.
class Digest {
 public:
  enum class Kind { kMd5, kSha256 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Lower-case hex of the digest; the object may not be updated afterwards.
  std::string FinishHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sigil
