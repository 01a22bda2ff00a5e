// ZipHandle: an open libzip archive over an ArchiveFile range (read-only). Move-only RAII owner.
// A zip_t is not thread-safe: use one handle per thread.
#pragma once

#include <zip.h>

#include <utility>

#include "common/status.h"
#include "upload/zip_inspector.h"

namespace sigil::upload {

class ZipHandle {
 public:
  // kInvalidArgument "File is not a zip file" when libzip cannot read the central directory.
  static Result<ZipHandle> Open(const ArchiveFile& archive);

  ZipHandle(ZipHandle&& other) noexcept : zip_(std::exchange(other.zip_, nullptr)) {}
  ZipHandle& operator=(ZipHandle&& other) noexcept {
    std::swap(zip_, other.zip_);
    return *this;
  }
  ZipHandle(const ZipHandle&) = delete;
  ZipHandle& operator=(const ZipHandle&) = delete;
  ~ZipHandle() {
    if (zip_ != nullptr) zip_discard(zip_);
  }

  zip_t* get() const { return zip_; }

 private:
  explicit ZipHandle(zip_t* zip) : zip_(zip) {}
  zip_t* zip_ = nullptr;
};

}  // namespace sigil::upload
