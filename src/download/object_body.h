// ObjectBody: a pull stream of a byte window of a stored object, for response bodies that are not a
// plain file range (remote storage, or the decoded form of a gzip object).
//
// The object is opened lazily on the first Read, so creating an ObjectBody on an io thread is free;
// Read blocks (storage I/O, inflate) and runs on the worker pool. With `gunzip`, the stored bytes
// are inflated (concatenated gzip members included) and the window addresses the decoded bytes:
// decoding skips to `offset` and stops after `length` bytes. A stream that ends early, corrupt gzip
// data, or a storage error is an error (the server then closes the connection: a client never
// mistakes a truncated body for a whole one). Not thread-safe: one reader at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace sigil::storage {
class ObjectStore;
class ObjectReader;
}  // namespace sigil::storage

namespace sigil::download {

class ObjectBody {
 public:
  // `store` must outlive this object. length unset: to the end.
  ObjectBody(storage::ObjectStore& store, std::string key, bool gunzip, uint64_t offset,
             std::optional<uint64_t> length);
  ~ObjectBody();
  ObjectBody(const ObjectBody&) = delete;
  ObjectBody& operator=(const ObjectBody&) = delete;

  // Fills up to `size` bytes; 0 at the end of the window.
  Result<size_t> Read(char* buf, size_t size);

 private:
  struct Inflater;
  Status Open();
  // Reads the next bytes of the (decoded) stream, before windowing; 0 at its end.
  Result<size_t> ReadStream(char* buf, size_t size);

  storage::ObjectStore& store_;
  const std::string key_;
  const bool gunzip_;
  uint64_t skip_;                      // bytes still to drop before the window
  std::optional<uint64_t> remaining_;  // bytes left in the window
  std::unique_ptr<storage::ObjectReader> reader_;
  std::unique_ptr<Inflater> inflater_;
  bool opened_ = false;
};

}  // namespace sigil::download
