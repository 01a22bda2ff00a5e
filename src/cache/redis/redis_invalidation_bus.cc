#include "cache/redis/redis_invalidation_bus.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/hashing.h"

namespace sigil::cache::redis {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kHealthInterval{5000};  // PING an idle subscription this often
constexpr milliseconds kWarningInterval{10000};

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(Clock::now().time_since_epoch()).count();
}

// Flushes the context's output buffer (blocking socket with a send timeout).
Status Flush(redisContext* c) {
  int done = 0;
  while (!done) {
    if (redisBufferWrite(c, &done) != REDIS_OK)
      return Unavailable(std::string("write: ") + c->errstr);
  }
  return Status::Ok();
}

bool ReplyIs(const redisReply& r, std::string_view s) {
  return (r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS) &&
         std::string_view(r.str, r.len) == s;
}

}  // namespace

RedisInvalidationBus::RedisInvalidationBus(RedisOptions options, int wake_fd)
    : options_(std::move(options)),
      sender_(RandomHex(8)),
      publish_pool_([&] {
        RedisOptions o = options_;
        o.pool_size = std::min(o.pool_size, 4);
        return o;
      }()),
      wake_fd_(wake_fd) {
  thread_ = std::thread([this] { Run(); });
}

Result<std::unique_ptr<RedisInvalidationBus>> RedisInvalidationBus::Create(RedisOptions options) {
  int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0)
    return Internal(std::string("invalidation bus: eventfd: ") + std::strerror(errno));
  return std::unique_ptr<RedisInvalidationBus>(
      new RedisInvalidationBus(std::move(options), wake_fd));
}

RedisInvalidationBus::~RedisInvalidationBus() {
  stop_ = true;
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(wake_fd_);
}

uint64_t RedisInvalidationBus::Subscribe(Listener listener) {
  return local_.Subscribe(std::move(listener));
}

void RedisInvalidationBus::Unsubscribe(uint64_t id) { local_.Unsubscribe(id); }

void RedisInvalidationBus::Publish(const SymbolKey& key) {
  local_.Deliver(key);
  std::string message = EncodeInvalidation(sender_, key);
  auto reply = publish_pool_.Command({"PUBLISH", options_.channel, message});
  if (reply.ok()) return;
  ++publish_failures_;
  int64_t now = NowMs();
  int64_t last = last_warning_ms_.load();
  if (now - last >= kWarningInterval.count() &&
      last_warning_ms_.compare_exchange_strong(last, now)) {
    spdlog::warn("invalidation of {} not sent to other nodes (their memos expire by TTL): {}",
                 key.StorageKey(), reply.status().ToString());
  }
}

bool RedisInvalidationBus::WaitUntilSubscribed(milliseconds timeout) {
  std::unique_lock lock(mu_);
  return subscribed_cv_.wait_for(lock, timeout, [&] { return subscribed_; });
}

void RedisInvalidationBus::SetSubscribed(bool subscribed) {
  {
    std::lock_guard lock(mu_);
    subscribed_ = subscribed;
  }
  subscribed_cv_.notify_all();
}

bool RedisInvalidationBus::WaitForStop(milliseconds d) {
  pollfd p{wake_fd_, POLLIN, 0};
  poll(&p, 1, static_cast<int>(d.count()));
  return stop_.load();
}

void RedisInvalidationBus::Run() {
  // One warning per outage, not one per retry (warned_ also tells HandleReply to log the recovery).
  milliseconds retry = std::max(options_.retry_interval, milliseconds(50));
  while (!stop_) {
    auto conn = RedisConnection::Connect(options_, /*select_db=*/false);
    Status status = conn.ok() ? Listen(**conn) : conn.status();
    bool was_subscribed;
    {
      std::lock_guard lock(mu_);
      was_subscribed = subscribed_;
    }
    SetSubscribed(false);
    if (stop_) break;
    if (was_subscribed) warned_ = false;
    if (!warned_) {
      spdlog::warn("invalidation bus: lost the subscription to {} on {}; retrying every {} ms: {}",
                   options_.channel, options_.Describe(), retry.count(), status.ToString());
      warned_ = true;
    }
    if (was_subscribed) continue;  // the link was fine until now: reconnect at once
    if (WaitForStop(retry)) break;
  }
}

Status RedisInvalidationBus::Listen(RedisConnection& conn) {
  redisContext* c = conn.context();
  const char* argv[] = {"SUBSCRIBE", options_.channel.c_str()};
  size_t argvlen[] = {9, options_.channel.size()};
  if (redisAppendCommandArgv(c, 2, argv, argvlen) != REDIS_OK)
    return Internal("cannot format SUBSCRIBE");
  SIGIL_RETURN_IF_ERROR(Flush(c));

  Clock::time_point last_rx = Clock::now();
  std::optional<Clock::time_point> ping_sent;
  const milliseconds ping_timeout = std::max(milliseconds(1000), 2 * options_.timeout);
  while (!stop_) {
    Clock::time_point now = Clock::now();
    Clock::time_point wake_at = ping_sent ? *ping_sent + ping_timeout : last_rx + kHealthInterval;
    auto wait_ms = std::chrono::duration_cast<milliseconds>(wake_at - now).count();
    pollfd fds[2] = {{c->fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, static_cast<int>(std::max<int64_t>(wait_ms, 0)) + 1);
    if (n < 0 && errno != EINTR) return Internal("poll failed");
    if (fds[1].revents != 0) return Status::Ok();  // stopping
    if (n > 0 && fds[0].revents != 0) {
      if (redisBufferRead(c) != REDIS_OK) {
        return Unavailable(options_.Describe() + ": " +
                           (c->errstr[0] ? c->errstr : "connection lost"));
      }
      while (true) {
        void* raw = nullptr;
        if (redisGetReplyFromReader(c, &raw) != REDIS_OK)
          return Unavailable("protocol error from Redis");
        if (raw == nullptr) break;
        ReplyPtr reply(static_cast<redisReply*>(raw));
        HandleReply(*reply);
      }
      last_rx = Clock::now();
      ping_sent.reset();
      continue;
    }
    now = Clock::now();
    if (ping_sent && now >= *ping_sent + ping_timeout) {
      return Unavailable(options_.Describe() + ": no reply to PING within " +
                         std::to_string(ping_timeout.count()) + " ms");
    }
    if (!ping_sent && now >= last_rx + kHealthInterval) {
      if (redisAppendCommand(c, "PING") != REDIS_OK) return Internal("cannot format PING");
      SIGIL_RETURN_IF_ERROR(Flush(c));
      ping_sent = now;
    }
  }
  return Status::Ok();
}

void RedisInvalidationBus::HandleReply(const ::redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) {
    spdlog::warn("invalidation bus: Redis error: {}", std::string_view(reply.str, reply.len));
    return;
  }
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 1) return;
  const redisReply& kind = *reply.element[0];
  if (ReplyIs(kind, "subscribe")) {
    if (warned_) spdlog::info("invalidation bus: subscribed to {} again", options_.channel);
    SetSubscribed(true);
  } else if (ReplyIs(kind, "message") && reply.elements == 3 &&
             reply.element[2]->type == REDIS_REPLY_STRING) {
    std::string sender;
    Result<SymbolKey> key =
        DecodeInvalidation(std::string_view(reply.element[2]->str, reply.element[2]->len), &sender);
    if (!key.ok()) {
      spdlog::warn("invalidation bus: dropped a message: {}", key.status().message());
      return;
    }
    if (sender == sender_) return;  // delivered locally when published
    ++remote_events_;
    local_.Deliver(*key);
  }
  // "pong" (health check) and anything else: nothing to do.
}

Result<std::unique_ptr<InvalidationBus>> MakeRedisInvalidationBus(const std::string& url) {
  SIGIL_ASSIGN_OR_RETURN(RedisOptions options, ParseRedisUrl(url));
  milliseconds wait = options.connect_timeout + options.timeout;
  SIGIL_ASSIGN_OR_RETURN(std::unique_ptr<RedisInvalidationBus> bus,
                         RedisInvalidationBus::Create(std::move(options)));
  bus->WaitUntilSubscribed(
      wait);  // not subscribed yet: the background thread keeps trying (and logs)
  return std::unique_ptr<InvalidationBus>(std::move(bus));
}

}  // namespace sigil::cache::redis
