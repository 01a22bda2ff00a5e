// TempFile: a uniquely named file in a temp directory, removed when the owner goes away.
// Move-only; not thread-safe (one owner).
#pragma once

#include <string>

#include "common/status.h"

namespace sigil::upload {

class TempFile {
 public:
  // Creates `<dir>/<prefix>XXXXXX` (mode 0600) and keeps it open for writing.
  static Result<TempFile> Create(const std::string& dir, const std::string& prefix);

  TempFile() = default;
  TempFile(TempFile&& other) noexcept;
  TempFile& operator=(TempFile&& other) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }
  uint64_t size() const { return size_; }
  // Appends all of `data`.
  Status Append(std::string_view data);
  // Truncates to empty.
  Status Clear();
  // Closes the descriptor (the file stays until destruction).
  Status Close();

 private:
  void Reset();
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace sigil::upload
