#include "upload/temp_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

namespace sigil::upload {

Result<TempFile> TempFile::Create(const std::string& dir, const std::string& prefix) {
  std::string pattern = dir + "/" + prefix + "XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) return Internal("creating a temp file in " + dir + ": " + std::strerror(errno));
  TempFile file;
  file.path_ = buf.data();
  file.fd_ = fd;
  return file;
}

TempFile::TempFile(TempFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      size_(std::exchange(other.size_, 0)) {
  other.path_.clear();
}

TempFile& TempFile::operator=(TempFile&& other) noexcept {
  if (this != &other) {
    Reset();
    path_ = std::move(other.path_);
    other.path_.clear();
    fd_ = std::exchange(other.fd_, -1);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

TempFile::~TempFile() { Reset(); }

void TempFile::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  size_ = 0;
}

Status TempFile::Append(std::string_view data) {
  if (fd_ < 0) return Internal("temp file is closed");
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal("writing " + path_ + ": " + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
    size_ += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status TempFile::Clear() {
  if (fd_ < 0) return Internal("temp file is closed");
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) < 0) {
    return Internal("truncating " + path_ + ": " + std::strerror(errno));
  }
  size_ = 0;
  return Status::Ok();
}

Status TempFile::Close() {
  if (fd_ < 0) return Status::Ok();
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Internal("closing " + path_ + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace sigil::upload
