#include "cache/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <array>
#include <cerrno>

namespace sigil::cache::redis {
namespace {

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

void ReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }

Status ErrorReplyStatus(const std::string& describe, std::string_view error) {
  // The server is alive but cannot serve us right now: same as an outage for a cache.
  static constexpr std::array<std::string_view, 10> kTransient = {
      "LOADING",  "BUSY",   "READONLY",  "MASTERDOWN",  "OOM",
      "TRYAGAIN", "NOAUTH", "WRONGPASS", "CLUSTERDOWN", "NOREPLICAS"};
  for (std::string_view prefix : kTransient) {
    if (error.substr(0, prefix.size()) == prefix) {
      return Unavailable(describe + ": " + std::string(error));
    }
  }
  return Internal(describe + ": " + std::string(error));
}

Result<std::unique_ptr<RedisConnection>> RedisConnection::Connect(const RedisOptions& options,
                                                                  bool select_db) {
  timeval connect_tv = ToTimeval(options.connect_timeout);
  redisContext* ctx = options.unix_socket
                          ? redisConnectUnixWithTimeout(options.path.c_str(), connect_tv)
                          : redisConnectWithTimeout(options.host.c_str(), options.port, connect_tv);
  std::string describe = options.Describe();
  if (ctx == nullptr) return Unavailable(describe + ": cannot allocate a connection");
  if (ctx->err != 0) {
    Status s = Unavailable(describe + ": connect: " + ctx->errstr);
    redisFree(ctx);
    return s;
  }
  std::unique_ptr<RedisConnection> conn(new RedisConnection(ctx, describe));
  if (redisSetTimeout(ctx, ToTimeval(options.timeout)) != REDIS_OK) {
    return Unavailable(describe + ": cannot set the socket timeout");
  }
  if (!options.unix_socket) redisEnableKeepAlive(ctx);  // so a dead peer is noticed on idle links
  if (!options.password.empty()) {
    std::vector<std::string_view> auth = {"AUTH"};
    if (!options.username.empty()) auth.push_back(options.username);
    auth.push_back(options.password);
    auto r = conn->Command(auth);
    if (!r.ok()) return Unavailable(r.status().message());
  }
  if (select_db && options.db != 0) {
    std::string db = std::to_string(options.db);
    auto r = conn->Command({"SELECT", db});
    if (!r.ok()) return Unavailable(r.status().message());
  }
  return conn;
}

RedisConnection::~RedisConnection() { redisFree(ctx_); }

bool RedisConnection::broken() const { return ctx_->err != 0; }

Status RedisConnection::IoError() {
  timed_out_ = ctx_->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
  if (timed_out_) return Unavailable(describe_ + ": timed out");
  return Unavailable(describe_ + ": " +
                     (ctx_->errstr[0] != '\0' ? ctx_->errstr : "connection lost"));
}

Result<ReplyPtr> RedisConnection::Command(const std::vector<std::string_view>& args) {
  if (broken()) return Unavailable(describe_ + ": connection is broken");
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  argv.reserve(args.size());
  argvlen.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  errno = 0;
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), argvlen.data())));
  if (reply == nullptr) return IoError();
  if (reply->type == REDIS_REPLY_ERROR) {
    return ErrorReplyStatus(describe_, std::string_view(reply->str, reply->len));
  }
  return reply;
}

}  // namespace sigil::cache::redis
