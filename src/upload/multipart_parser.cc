#include "upload/multipart_parser.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace sigil::upload {
namespace {

// Bytes read from the body at a time while looking for delimiters.
constexpr size_t kChunk = 1024 * 1024;

class MemorySource final : public BodySource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  uint64_t size() const override { return data_.size(); }
  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t size) const override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<uint64_t>(size, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, n);
    return n;
  }

 private:
  std::string_view data_;
};

class FileSource final : public BodySource {
 public:
  FileSource(int fd, uint64_t size) : fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t size) const override {
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::pread(fd_, buf + done, size - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Internal(std::string("reading request body: ") + std::strerror(errno));
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  int fd_;
  uint64_t size_;
};

// Sequential reader with a sliding window over the body: reads of kChunk bytes into one buffer
// (not zero-filled, not shifted but for the few bytes a match may still start with), searched
// with memmem.
class Scanner {
 public:
  explicit Scanner(const BodySource& body) : body_(body) {}

  // Absolute offset of the next occurrence of `pat` at or after `from`, searching at most up to
  // `limit` (absolute, exclusive end of the match); nullopt if absent. Bytes before the match are
  // dropped from the window as the search advances.
  Result<std::optional<uint64_t>> Find(std::string_view pat, uint64_t from, uint64_t limit) {
    Drop(from);
    for (;;) {
      uint64_t start = std::max(from, start_);
      const size_t skip = static_cast<size_t>(start - start_);
      if (skip < size()) {
        const void* hit = ::memmem(data() + skip, size() - skip, pat.data(), pat.size());
        if (hit != nullptr) {
          uint64_t abs = start_ + static_cast<size_t>(static_cast<const char*>(hit) - data());
          if (abs + pat.size() > limit) return std::optional<uint64_t>();
          return std::optional<uint64_t>(abs);
        }
      }
      if (start_ + size() >= limit) return std::optional<uint64_t>();
      // Keep the tail that could still begin a match.
      uint64_t keep_from = start_ + size() - std::min<size_t>(size(), pat.size() - 1);
      Drop(std::max(keep_from, from));
      SIGIL_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) return std::optional<uint64_t>();
    }
  }

  // The bytes [offset, offset + n) (n small), or fewer at the end of the body.
  Result<std::string> Peek(uint64_t offset, size_t n) {
    Drop(offset);
    while (start_ + size() < offset + n) {
      SIGIL_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) break;
    }
    if (offset >= start_ + size()) return std::string();
    size_t at = static_cast<size_t>(offset - start_);
    return std::string(data() + at, std::min(n, size() - at));
  }

 private:
  const char* data() const { return buf_.get() + begin_; }
  size_t size() const { return end_ - begin_; }

  void Drop(uint64_t upto) {
    if (upto <= start_) return;
    size_t n = static_cast<size_t>(std::min<uint64_t>(upto - start_, size()));
    begin_ += n;
    start_ += n;
    if (size() == 0) start_ = std::max(start_, upto);
  }

  // Appends up to kChunk bytes of the body after the window; false at its end.
  Result<bool> Fill() {
    uint64_t at = start_ + size();
    if (at >= body_.size()) return false;
    if (cap_ - end_ < kChunk) {
      // Move the window to the front, into a larger buffer if it does not leave kChunk free.
      const size_t need = size() + kChunk;
      if (need > cap_) {
        auto bigger = std::unique_ptr<char[]>(new char[need]);
        if (size() > 0) std::memcpy(bigger.get(), data(), size());
        buf_ = std::move(bigger);
        cap_ = need;
      } else if (size() > 0) {
        std::memmove(buf_.get(), data(), size());
      }
      end_ = size();
      begin_ = 0;
    }
    SIGIL_ASSIGN_OR_RETURN(size_t n, body_.ReadAt(at, buf_.get() + end_, kChunk));
    end_ += n;
    return n > 0;
  }

  const BodySource& body_;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t begin_ = 0;  // the window is buf_[begin_, end_)
  size_t end_ = 0;
  uint64_t start_ = 0;  // absolute offset of the window's first byte
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Value of parameter `key` in a header value like `form-data; name="a"; filename="b"`.
std::optional<std::string> HeaderParam(std::string_view value, std::string_view key) {
  size_t i = value.find(';');
  while (i != std::string_view::npos) {
    value.remove_prefix(i + 1);
    std::string_view item = Trim(value);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      i = value.find(';');
      continue;
    }
    std::string name = Lower(Trim(item.substr(0, eq)));
    std::string_view rest = Trim(item.substr(eq + 1));
    std::string parsed;
    if (!rest.empty() && rest.front() == '"') {
      size_t j = 1;
      for (; j < rest.size() && rest[j] != '"'; ++j) {
        if (rest[j] == '\\' && j + 1 < rest.size()) ++j;
        parsed.push_back(rest[j]);
      }
      // Continue after the closing quote (a quoted value may contain ';').
      size_t consumed =
          static_cast<size_t>(rest.data() - value.data()) + std::min(j + 1, rest.size());
      value.remove_prefix(consumed);
      i = value.find(';');
    } else {
      size_t semi = rest.find(';');
      parsed = std::string(Trim(rest.substr(0, semi)));
      value.remove_prefix(static_cast<size_t>(rest.data() - value.data()));
      i = value.find(';');
    }
    if (name == key) return parsed;
  }
  return std::nullopt;
}

Status ParseHeaders(std::string_view block, MultipartPart& part) {
  bool disposition = false;
  while (!block.empty()) {
    size_t eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    if (line.empty()) continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return InvalidArgument("Malformed multipart part header");
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string_view value = Trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (Lower(value.substr(0, value.find(';'))) != "form-data") {
        return InvalidArgument("Multipart part is not form-data");
      }
      auto field = HeaderParam(value, "name");
      if (!field) return InvalidArgument("Multipart part has no field name");
      part.name = *field;
      part.filename = HeaderParam(value, "filename");
      disposition = true;
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    }
  }
  if (!disposition) return InvalidArgument("Multipart part has no Content-Disposition");
  return Status::Ok();
}

}  // namespace

std::unique_ptr<BodySource> MemoryBodySource(std::string_view data) {
  return std::make_unique<MemorySource>(data);
}

Result<std::unique_ptr<BodySource>> FileBodySource(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Internal("opening request body " + path + ": " + std::strerror(errno));
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) {
    ::close(fd);
    return Internal("sizing request body " + path);
  }
  return std::unique_ptr<BodySource>(std::make_unique<FileSource>(fd, static_cast<uint64_t>(end)));
}

Result<std::string> MultipartBoundary(std::string_view content_type) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  if (Lower(media) != "multipart/form-data") return InvalidArgument("Not multipart/form-data");
  auto boundary = HeaderParam(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) {
    return InvalidArgument("multipart/form-data without a valid boundary");
  }
  return *boundary;
}

Result<std::vector<MultipartPart>> ParseMultipart(const BodySource& body, std::string_view boundary,
                                                  const MultipartLimits& limits,
                                                  const MultipartDelimiters* delimiters) {
  const std::string dash_boundary = "--" + std::string(boundary);
  const std::string delimiter = "\r\n" + dash_boundary;
  const uint64_t end = body.size();
  Scanner scan(body);
  std::vector<MultipartPart> parts;
  if (delimiters != nullptr &&
      (!delimiters->complete(end) || delimiters->delimiter() != delimiter)) {
    delimiters = nullptr;
  }
  // The first delimiter at or after `from` that ends by `limit`, as Scanner::Find finds it.
  auto find_delimiter = [&](uint64_t from, uint64_t limit) -> Result<std::optional<uint64_t>> {
    if (delimiters == nullptr) return scan.Find(delimiter, from, limit);
    const std::vector<uint64_t>& at = delimiters->occurrences();
    auto it = std::lower_bound(at.begin(), at.end(), from);
    if (it == at.end() || *it + delimiter.size() > limit) return std::optional<uint64_t>();
    return std::optional<uint64_t>(*it);
  };

  // The first boundary: at the very start, or after a preamble that ends in CRLF.
  uint64_t pos = 0;
  SIGIL_ASSIGN_OR_RETURN(std::string head, scan.Peek(0, dash_boundary.size()));
  if (head != dash_boundary) {
    SIGIL_ASSIGN_OR_RETURN(auto first, find_delimiter(0, std::min<uint64_t>(end, 64 * 1024)));
    if (!first) return InvalidArgument("Multipart body has no opening boundary");
    pos = *first + delimiter.size();
  } else {
    pos = dash_boundary.size();
  }

  for (;;) {
    // After a boundary: "--" closes the body; otherwise optional whitespace, CRLF, headers.
    SIGIL_ASSIGN_OR_RETURN(std::string after, scan.Peek(pos, 2));
    if (after == "--") return parts;
    SIGIL_ASSIGN_OR_RETURN(auto eol, scan.Find("\r\n", pos, std::min<uint64_t>(end, pos + 256)));
    if (!eol) return InvalidArgument("Multipart body is truncated (no closing boundary)");
    uint64_t header_start = *eol + 2;
    SIGIL_ASSIGN_OR_RETURN(auto header_end,
                           scan.Find("\r\n\r\n", header_start - 2,
                                     std::min(end, header_start + limits.max_header_bytes)));
    if (!header_end) {
      return header_start + limits.max_header_bytes < end
                 ? TooLarge("Multipart part headers are too large")
                 : InvalidArgument("Multipart body is truncated (part headers)");
    }
    if (parts.size() >= limits.max_parts) return TooLarge("Too many multipart parts");

    MultipartPart part;
    if (*header_end > header_start) {
      SIGIL_ASSIGN_OR_RETURN(
          std::string block,
          scan.Peek(header_start, static_cast<size_t>(*header_end - header_start)));
      SIGIL_RETURN_IF_ERROR(ParseHeaders(block, part));
    } else {
      return InvalidArgument("Multipart part has no Content-Disposition");
    }
    part.offset = *header_end + 4;
    SIGIL_ASSIGN_OR_RETURN(auto next, find_delimiter(part.offset, end));
    if (!next) return InvalidArgument("Multipart body is truncated (no closing boundary)");
    part.length = *next - part.offset;
    if (!part.filename) {
      if (part.length > limits.max_field_bytes) {
        return TooLarge("Multipart field '" + part.name + "' is too large");
      }
      part.value.resize(static_cast<size_t>(part.length));
      SIGIL_ASSIGN_OR_RETURN(size_t n,
                             body.ReadAt(part.offset, part.value.data(), part.value.size()));
      if (n != part.value.size()) return Internal("request body changed while parsing");
    }
    parts.push_back(std::move(part));
    pos = *next + delimiter.size();
  }
}

}  // namespace sigil::upload
