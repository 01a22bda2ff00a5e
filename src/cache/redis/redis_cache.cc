#include "cache/redis/redis_cache.h"

#include <hiredis/hiredis.h>

#include "cache/redis/redis_pool.h"

namespace sigil::cache::redis {
namespace {

class RedisCache : public Cache {
 public:
  explicit RedisCache(RedisOptions options) : pool_(std::move(options)) {}

  std::string Name() const override { return "redis"; }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string safe = SafeCacheKey(key);
    SIGIL_ASSIGN_OR_RETURN(ReplyPtr reply, pool_.Command({"GET", safe}));
    return ToValue(*reply);
  }

  Status Set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
    if (ttl.count() <= 0)
      return InvalidArgument("cache TTL must be positive, got " + std::to_string(ttl.count()));
    std::string safe = SafeCacheKey(key);
    std::string ex = std::to_string(ttl.count());
    SIGIL_ASSIGN_OR_RETURN(ReplyPtr reply, pool_.Command({"SET", safe, value, "EX", ex}));
    if (reply->type != REDIS_REPLY_STATUS) return Unexpected("SET");
    return Status::Ok();
  }

  Status Delete(std::string_view key) override {
    std::string safe = SafeCacheKey(key);
    SIGIL_ASSIGN_OR_RETURN(ReplyPtr reply, pool_.Command({"DEL", safe}));
    if (reply->type != REDIS_REPLY_INTEGER) return Unexpected("DEL");
    return Status::Ok();
  }

  Result<std::vector<std::optional<std::string>>> GetMulti(
      const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out;
    if (keys.empty()) return out;
    std::vector<std::string> safe;
    safe.reserve(keys.size());
    for (const std::string& k : keys) safe.push_back(SafeCacheKey(k));
    std::vector<std::string_view> args;
    args.reserve(keys.size() + 1);
    args.push_back("MGET");
    for (const std::string& k : safe) args.push_back(k);
    SIGIL_ASSIGN_OR_RETURN(ReplyPtr reply, pool_.Command(args));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != keys.size())
      return Unexpected("MGET");
    out.reserve(keys.size());
    for (size_t i = 0; i < reply->elements; ++i) {
      SIGIL_ASSIGN_OR_RETURN(std::optional<std::string> v, ToValue(*reply->element[i]));
      out.push_back(std::move(v));
    }
    return out;
  }

  Status Ping() override {
    SIGIL_ASSIGN_OR_RETURN(ReplyPtr reply, pool_.Command({"PING"}, /*probe=*/true));
    if (reply->type != REDIS_REPLY_STATUS) return Unexpected("PING");
    return Status::Ok();
  }

 private:
  Result<std::optional<std::string>> ToValue(const redisReply& r) {
    if (r.type == REDIS_REPLY_NIL) return std::optional<std::string>();
    if (r.type != REDIS_REPLY_STRING) return Unexpected("GET");
    return std::optional<std::string>(std::string(r.str, r.len));
  }

  Status Unexpected(const std::string& command) {
    return Internal(pool_.options().Describe() + ": unexpected reply type to " + command);
  }

  RedisPool pool_;
};

}  // namespace

Result<std::unique_ptr<Cache>> MakeRedisCache(const std::string& url) {
  SIGIL_ASSIGN_OR_RETURN(RedisOptions options, ParseRedisUrl(url));
  return std::unique_ptr<Cache>(std::make_unique<RedisCache>(std::move(options)));
}

}  // namespace sigil::cache::redis
