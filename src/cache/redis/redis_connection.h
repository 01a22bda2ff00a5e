// One hiredis connection (blocking, with the connect and read/write timeouts of RedisOptions), and
// the owning pointer for its replies. Internal to cache/redis.
//
// Not thread-safe: one thread uses a connection at a time (RedisPool hands them out).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cache/redis/redis_options.h"
#include "common/status.h"

struct redisContext;
struct redisReply;

namespace sigil::cache::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const;
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisConnection {
 public:
  // Connects, authenticates (AUTH when the URL has a password) and selects the db (if select_db and
  // db != 0). kUnavailable when the server cannot be reached or refuses us.
  static Result<std::unique_ptr<RedisConnection>> Connect(const RedisOptions& options,
                                                          bool select_db = true);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends one command (binary-safe arguments) and waits for its reply.
  // - I/O failure or timeout: kUnavailable; the connection is broken() from then on.
  // - An error reply: kUnavailable for the server-side "not now" errors (LOADING, BUSY, READONLY,
  // OOM,
  //   MASTERDOWN, TRYAGAIN, NOAUTH, ...), kInternal for the others; the connection stays usable.
  Result<ReplyPtr> Command(const std::vector<std::string_view>& args);

  // True after an I/O failure: the connection must be discarded.
  bool broken() const;
  // True if the last failure was a timeout (the server may be alive but stalled).
  bool timed_out() const { return timed_out_; }

  // The raw context, for the pub/sub reader (which drives the socket itself).
  redisContext* context() { return ctx_; }

 private:
  RedisConnection(redisContext* ctx, std::string describe)
      : ctx_(ctx), describe_(std::move(describe)) {}
  Status IoError();

  redisContext* ctx_;
  std::string describe_;
  bool timed_out_ = false;
};

// Maps an error reply's text to a Status (see Command).
Status ErrorReplyStatus(const std::string& describe, std::string_view error);

}  // namespace sigil::cache::redis
