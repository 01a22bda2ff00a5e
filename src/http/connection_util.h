// Internal to src/http (included only by connection*.cc): constants and small helpers of the
// connection state machine.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sigil::http {

inline constexpr size_t kReadChunk = 16 * 1024;
// A rejected request's body up to this size is read and dropped (keeping the connection).
inline constexpr uint64_t kDrainLimit = 64 * 1024;
// Each of a spooling connection's two buffers (one filled from the socket while the pool writes the
// other to the spool file). 256 KiB made the receive of a 51-119 MB upload ~10% slower; 4 MiB was
// no faster than 1 MiB (bench/upload).
inline constexpr size_t kSpoolBufferBytes = 1024 * 1024;
// Spool prefaulting (Connection::PrefaultSpool): how far past the bytes received, in steps of at
// least this much, in read-ahead requests of this size.
inline constexpr uint64_t kSpoolPrefaultAhead = 16 << 20;
inline constexpr uint64_t kSpoolPrefaultStep = 4 << 20;
inline constexpr uint64_t kSpoolPrefaultPiece = 2 << 20;  // per posix_fadvise call
inline constexpr size_t kMemoryBodyStep = 64 * 1024;
inline constexpr size_t kProducerChunk = 64 * 1024;
inline constexpr size_t kSendfileSlice = 256 * 1024;
inline constexpr int kSendfileSlicesPerTurn = 4;
inline constexpr uint64_t kLingerBytes = 1 << 20;
inline constexpr std::chrono::milliseconds kMaxLinger{2000};

inline bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

inline std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline Response Overloaded() {
  Response r = Response::Error(503, "Service Unavailable: the server is overloaded, retry later");
  r.headers.Add("Retry-After", "1");
  return r;
}

inline std::string TooLargeMessage(uint64_t limit) {
  return fmt::format("Payload Too Large: the request body exceeds the limit of {} bytes", limit);
}

}  // namespace sigil::http
