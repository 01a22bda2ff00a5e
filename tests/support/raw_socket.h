// test::RawSocket: a blocking TCP client socket for tests that need byte-level control over HTTP
// (pipelining, slow clients, malformed requests, connection limits).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace sigil::test {

class RawSocket {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether it worked.
  explicit RawSocket(uint16_t port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends all bytes; false on error (e.g. the server closed the connection).
  bool Send(std::string_view data);
  // Reads whatever arrives within `timeout` (stops early at EOF); appends to the result.
  std::string ReadFor(std::chrono::milliseconds timeout);
  // Reads until `count` complete HTTP responses with Content-Length bodies have arrived, EOF, or
  // timeout.
  std::string ReadResponses(int count, std::chrono::milliseconds timeout);
  // True when the server closes the connection (EOF or reset) within `timeout`; data read meanwhile
  // is appended to `*received` if given.
  bool WaitForClose(std::chrono::milliseconds timeout, std::string* received = nullptr);
  // Half-closes the sending side.
  void ShutdownWrite();

 private:
  int fd_ = -1;
};

// Counts complete responses ("HTTP/1.1 ..." head + Content-Length body) at the start of `data`.
int CountCompleteResponses(std::string_view data);

}  // namespace sigil::test
