// Internal to src/http: one accepted HTTP/1.1 connection and its request state machine.
//
// All methods except Deliver run on the connection's strand (on whichever io thread runs it).
// Requests are processed one at a time: while a handler runs, pipelined bytes wait in the read
// buffer, so responses go out in order and the Request handed to the handler stays untouched until
// its Responder is called.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "http/message.h"
#include "http/server_core.h"

namespace sigil::http {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Clock = std::chrono::steady_clock;

  // `socket` uses `strand` as its executor.
  Connection(std::shared_ptr<Core> core, Strand strand, boost::asio::ip::tcp::socket socket);
  ~Connection();

  const Strand& strand() const { return strand_; }
  void Start();
  // Server shutdown: close now when idle (or lingering), else close after the current response.
  void OnServerShutdown();
  void ForceClose() { Close(); }
  // Set by the acceptor once Core::Register accepted the connection (before Start is posted).
  void MarkRegistered() { registered_ = true; }
  // Completes request `seq` with `response`; any thread.
  void Deliver(uint64_t seq, Response response);

 private:
  enum class State { kIdle, kHeader, kAuth, kBody, kHandler, kWrite, kDrain, kLinger, kClosed };
  enum class BodyMode { kMemory, kSpool };

  // Reading and parsing.
  void ReadMore();
  void OnRead(boost::system::error_code ec, size_t n);
  void ParseHeader();
  void OnHeader();
  bool ParseTarget();
  void OnAuthDone(uint64_t seq, std::optional<Response> verdict);
  void StartBody();
  void ParseBody();
  // Reads up to `size` body bytes from the socket into `dst` (OnRead passes them to
  // OnBodyReadDirect); only for a body of known length, once buffer_ holds none of it.
  void ReadBodyDirect(char* dst, size_t size);
  void OnBodyReadDirect(size_t n);
  bool OpenSpool();
  void SubmitSpoolWrite();
  void SubmitSpoolData(std::string data);
  void OnSpoolWritten(int err, std::string buffer);
  void PrefaultSpool();
  void FinishBody();
  void ParseDrain();

  // Dispatch and responses.
  void Dispatch();
  void CallHandler();
  void OnResponse(uint64_t seq, Response response);
  // Answers the current request without (fully) reading its body: drains a small remaining body
  // first, else closes after the response.
  void Reject(Response response);
  void SendError(int status, std::string_view message, bool close);
  void WriteResponse(Response response);
  void BuildHead(int status, std::string_view content_length, bool chunked);
  void SendFileChunk();
  bool TrySendHeadBeforeFile();
  bool EnsureNativeNonBlocking();
  void PumpProducer();
  void OnProduced(Result<size_t> produced);
  void LogAndRecord(int status);
  void FinishResponse();
  void CleanupRequest();
  void ResetRequest();

  // Lifecycle and timeouts.
  void GracefulClose(bool linger);
  void Close();
  void SetDeadline(Clock::time_point deadline);
  void ClearDeadline() { deadline_ = Clock::time_point::max(); }
  void ArmTimer();
  void OnTimer(boost::system::error_code ec);
  void OnTimeout();

  std::shared_ptr<Core> core_;
  Strand strand_;
  const ServerOptions& options_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string remote_;
  State state_ = State::kIdle;
  bool registered_ = false;
  bool counted_connection_ = false;

  // Timeouts: deadline_ is when the current phase times out (max = none); a timer ticking every
  // tick_ while a deadline is set enforces it.
  Clock::time_point deadline_ = Clock::time_point::max();
  std::chrono::milliseconds tick_{1000};
  bool timer_armed_ = false;
  bool timed_out_ = false;
  bool read_pending_ = false;
  bool direct_read_ = false;  // the pending read is a ReadBodyDirect
  bool header_deadline_set_ = false;
  uint64_t lingered_ = 0;

  // The current request.
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::buffer_body>> parser_;
  Request request_;
  uint64_t seq_ = 0;
  size_t route_ = 0;  // index, or core_->unmatched_route()
  bool counted_in_flight_ = false;
  Clock::time_point started_;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool close_after_ = false;
  bool expect_continue_ = false;
  bool body_expected_ = false;
  std::optional<uint64_t> content_length_;
  uint64_t body_limit_ = 0;
  uint64_t body_bytes_ = 0;
  bool body_complete_ = false;  // FinishBody ran: the whole body was read (parser or direct)
  BodyMode body_mode_ = BodyMode::kMemory;
  std::optional<Response> pending_reject_;  // sent once the drain completes
  uint64_t drained_ = 0;

  // Spooling: bytes are collected in spool_fill_ while the worker pool writes the previous buffer;
  // buffers are recycled through spool_spare_.
  int spool_fd_ = -1;
  std::string spool_path_;
  std::string spool_fill_;
  std::string spool_spare_;
  size_t spool_used_ = 0;
  bool spool_writing_ = false;
  bool spool_finishing_ = false;
  bool spool_paused_ = false;
  // The route's observer of this body (RouteOptions::body_observer), fed by each spool write.
  std::shared_ptr<BodyObserver> spool_observer_;
  // Prefaulting a spool of known length (PrefaultSpool): a duplicate of its descriptor for the pool
  // tasks (null: not prefaulting), how far it was prefaulted, whether a task is under way, and
  // which spool that task is for.
  std::shared_ptr<const Fd> spool_prefault_fd_;
  uint64_t spool_prefaulted_ = 0;
  bool spool_prefaulting_ = false;
  uint64_t spool_generation_ = 0;

  // The response being written.
  Response response_;
  int status_ = 0;
  bool response_has_body_ = false;
  std::string head_;
  uint64_t bytes_sent_ = 0;
  std::optional<uint64_t> response_length_;  // fixed length of a file/producer body
  bool chunked_ = false;
  std::shared_ptr<const Fd> file_;  // the file being sent (FileRange::fd)
  uint64_t file_offset_ = 0;
  uint64_t file_remaining_ = 0;
  std::vector<char> chunk_buf_;
  bool producing_ = false;
  std::string chunk_head_;
};

}  // namespace sigil::http
