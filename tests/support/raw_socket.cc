#include "support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace sigil::test {

RawSocket::RawSocket(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::Send(std::string_view data) {
  if (fd_ < 0) return false;
  while (!data.empty()) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

namespace {
using Clock = std::chrono::steady_clock;

// Reads once with a deadline: >0 bytes, 0 = EOF/reset, -1 = timeout.
ssize_t ReadSome(int fd, std::string& out, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return -1;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -1;
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    out.append(buf, static_cast<size_t>(n));
    return n;
  }
}
}  // namespace

std::string RawSocket::ReadFor(std::chrono::milliseconds timeout) {
  std::string out;
  if (fd_ < 0) return out;
  auto deadline = Clock::now() + timeout;
  while (ReadSome(fd_, out, deadline) > 0) {
  }
  return out;
}

std::string RawSocket::ReadResponses(int count, std::chrono::milliseconds timeout) {
  std::string out;
  if (fd_ < 0) return out;
  auto deadline = Clock::now() + timeout;
  while (CountCompleteResponses(out) < count) {
    if (ReadSome(fd_, out, deadline) <= 0) break;
  }
  return out;
}

bool RawSocket::WaitForClose(std::chrono::milliseconds timeout, std::string* received) {
  if (fd_ < 0) return true;
  std::string out;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    ssize_t n = ReadSome(fd_, out, deadline);
    if (n == 0) {
      if (received) *received += out;
      return true;
    }
    if (n < 0) {
      if (received) *received += out;
      return false;
    }
  }
}

void RawSocket::ShutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

int CountCompleteResponses(std::string_view data) {
  int count = 0;
  while (!data.empty()) {
    size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    std::string_view head = data.substr(0, end);
    size_t length = 0;
    // Case-insensitive search for Content-Length.
    std::string lower(head);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t pos = lower.find("\r\ncontent-length:");
    if (pos != std::string::npos) length = std::strtoull(lower.c_str() + pos + 17, nullptr, 10);
    if (data.size() < end + 4 + length) break;
    data.remove_prefix(end + 4 + length);
    ++count;
  }
  return count;
}

}  // namespace sigil::test
