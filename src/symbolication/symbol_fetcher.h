// SymbolFetcher: gets the text of a module's .sym file, from sigil's own storage first (regular
// namespace, then try/), then from the configured upstream symbol servers in order.
//
// Storage objects are normally gzip-compressed (content_encoding "gzip"); they are inflated while
// they stream in, and uncompressed objects are accepted too. Upstream: GET
// <url>/<debug_file>/<debug_id>/ <sym_file> with libcurl (gzip transfer encoding accepted); 404
// moves to the next source; 429, 5xx and network errors are retried with exponential backoff
// (upstream_retries times); each attempt has upstream_timeout_ms. A .sym over max_sym_bytes
// (inflated) is refused (kTooLarge).
//
// Thread-safe; blocking (call from the worker pool).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/status.h"
#include "storage/object_store.h"

namespace sigil::symbolication {

// The symbol file name Eliot/Tecken use: "x.pdb" -> "x.sym", anything else "<debug_file>.sym".
std::string SymFileName(std::string_view debug_file);

struct FetchedSym {
  std::string data;          // the .sym text
  std::string source;        // "storage", "storage:try" or the upstream URL it came from
  uint64_t transferred = 0;  // bytes read from the source (compressed size when compressed)
};

class SymbolFetcher {
 public:
  SymbolFetcher(const SymbolicationConfig& config, storage::ObjectStore& store);

  // kNotFound when no source has it; kTooLarge over max_sym_bytes; kUpstream/kUnavailable when a
  // source failed and none had it.
  Result<FetchedSym> Fetch(std::string_view debug_file, std::string_view debug_id);

 private:
  Result<FetchedSym> FromStorage(const std::string& key, const std::string& source);
  Result<FetchedSym> FromUpstream(const std::string& base_url, const std::string& path);

  SymbolicationConfig config_;
  storage::ObjectStore& store_;
};

}  // namespace sigil::symbolication
