#include "cache/memcached/memcached_cache.h"

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include <cstring>
#include <ctime>
#include <unordered_map>

#include "cache/memcached/memcached_client.h"
#include "cache/memcached/memcached_options.h"

namespace sigil::cache::memcached {
namespace {

constexpr int64_t kMaxRelativeTtl = 30 * 24 * 3600;  // beyond this memcached reads a unix time

// Failures that mean "this connection was stale" (the server restarted or closed it while it sat in
// the pool): worth one immediate retry on a reconnected link. Timeouts and skipped servers are not.
bool IsStaleConnection(memcached_return_t rc) {
  switch (rc) {
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_ERRNO:
      return true;
    default:
      return false;
  }
}

// "CONNECTION FAILURE (Connection refused)": libmemcached's own last-error message carries pointers
// and source lines, not for users.
std::string ErrorText(const memcached_st* m, memcached_return_t rc) {
  std::string text = memcached_strerror(m, rc);
  int err = memcached_last_error_errno(m);
  if (err != 0) text += std::string(" (") + std::strerror(err) + ")";
  return text;
}

class MemcachedCache : public Cache {
 public:
  MemcachedCache(MemcachedOptions options, memcached_st* master, memcached_pool_st* pool)
      : options_(std::move(options)), master_(master), pool_(pool) {}
  ~MemcachedCache() override {
    memcached_pool_destroy(pool_);
    memcached_free(master_);
  }

  std::string Name() const override { return "memcached"; }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string safe = SafeCacheKey(key);
    std::optional<std::string> value;
    SIGIL_RETURN_IF_ERROR(Run("get", [&](memcached_st* m) {
      size_t len = 0;
      uint32_t flags = 0;
      memcached_return_t rc = MEMCACHED_SUCCESS;
      char* v = memcached_get(m, safe.data(), safe.size(), &len, &flags, &rc);
      if (rc == MEMCACHED_SUCCESS) value.emplace(v != nullptr ? v : "", len);
      if (v != nullptr) free(v);
      return rc == MEMCACHED_NOTFOUND ? MEMCACHED_SUCCESS : rc;
    }));
    return value;
  }

  Status Set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
    if (ttl.count() <= 0) {
      return InvalidArgument("cache TTL must be positive, got " + std::to_string(ttl.count()));
    }
    std::string safe = SafeCacheKey(key);
    time_t expiration =
        ttl.count() > kMaxRelativeTtl ? std::time(nullptr) + ttl.count() : ttl.count();
    return Run("set", [&](memcached_st* m) {
      return memcached_set(m, safe.data(), safe.size(), value.data(), value.size(), expiration, 0);
    });
  }

  Status Delete(std::string_view key) override {
    std::string safe = SafeCacheKey(key);
    return Run("delete", [&](memcached_st* m) {
      memcached_return_t rc = memcached_delete(m, safe.data(), safe.size(), 0);
      return rc == MEMCACHED_NOTFOUND ? MEMCACHED_SUCCESS : rc;
    });
  }

  Result<std::vector<std::optional<std::string>>> GetMulti(
      const std::vector<std::string>& keys) override {
    std::vector<std::optional<std::string>> out(keys.size());
    if (keys.empty()) return out;
    std::vector<std::string> safe;
    std::unordered_map<std::string, size_t> index;  // distinct safe key -> position in `safe`
    std::vector<size_t> slot(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      std::string s = SafeCacheKey(keys[i]);
      auto [it, inserted] = index.emplace(s, safe.size());
      if (inserted) safe.push_back(std::move(s));
      slot[i] = it->second;
    }
    std::vector<std::optional<std::string>> found(safe.size());
    SIGIL_RETURN_IF_ERROR(
        Run("get", [&](memcached_st* m) { return MultiGet(m, safe, index, found); }));
    for (size_t i = 0; i < keys.size(); ++i) out[i] = found[slot[i]];
    return out;
  }

  Status Ping() override {
    // A get of a key nobody sets: NOTFOUND from the server proves it answers.
    static const std::string kPingKey = "sigil:ping";
    return Run("ping", [&](memcached_st* m) {
      memcached_return_t rc = MEMCACHED_SUCCESS;
      size_t len = 0;
      uint32_t flags = 0;
      char* v = memcached_get(m, kPingKey.data(), kPingKey.size(), &len, &flags, &rc);
      if (v != nullptr) free(v);
      return rc == MEMCACHED_NOTFOUND ? MEMCACHED_SUCCESS : rc;
    });
  }

 private:
  static memcached_return_t MultiGet(memcached_st* m, const std::vector<std::string>& safe,
                                     const std::unordered_map<std::string, size_t>& index,
                                     std::vector<std::optional<std::string>>& found) {
    std::vector<const char*> ptrs;
    std::vector<size_t> lens;
    for (const std::string& k : safe) {
      ptrs.push_back(k.data());
      lens.push_back(k.size());
    }
    memcached_return_t rc = memcached_mget(m, ptrs.data(), lens.data(), ptrs.size());
    if (rc != MEMCACHED_SUCCESS) return rc;
    // Caller-owned storage: libmemcached frees a result it allocated itself when the fetch loop
    // ends, but only resets one it did not allocate.
    memcached_result_st storage;
    memcached_result_st* result = memcached_result_create(m, &storage);
    if (result == nullptr) return MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    while (memcached_fetch_result(m, result, &rc) != nullptr) {
      std::string key(memcached_result_key_value(result), memcached_result_key_length(result));
      auto it = index.find(key);
      if (it != index.end()) {
        found[it->second].emplace(memcached_result_value(result), memcached_result_length(result));
      }
    }
    memcached_result_free(result);
    // The fetch loop ends with END (or NOTFOUND when nothing matched); anything else is a failure.
    return rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND || rc == MEMCACHED_SUCCESS
               ? MEMCACHED_SUCCESS
               : rc;
  }

  // Runs `op` on a pooled connection, retrying once on a fresh link if the pooled one was stale.
  template <typename Op>
  Status Run(const char* what, Op op) {
    memcached_return_t rc = MEMCACHED_SUCCESS;
    for (int attempt = 0; attempt < 2; ++attempt) {
      timespec wait{static_cast<time_t>(options_.timeout.count() / 1000),
                    static_cast<long>((options_.timeout.count() % 1000) * 1000000)};
      memcached_return_t pool_rc = MEMCACHED_SUCCESS;
      memcached_st* m = memcached_pool_fetch(pool_, &wait, &pool_rc);
      if (m == nullptr) {
        return Unavailable(options_.Describe() + ": all " + std::to_string(options_.pool_size) +
                           " connections busy for " + std::to_string(options_.timeout.count()) +
                           " ms");
      }
      rc = op(m);
      std::string message = rc == MEMCACHED_SUCCESS ? std::string() : ErrorText(m, rc);
      if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_E2BIG)
        memcached_quit(m);  // drop a suspect link
      memcached_pool_release(pool_, m);
      if (rc == MEMCACHED_SUCCESS) return Status::Ok();
      if (attempt == 0 && IsStaleConnection(rc)) continue;
      return ToStatus(rc, what, message);
    }
    return ToStatus(rc, what, memcached_strerror(nullptr, rc));
  }

  Status ToStatus(memcached_return_t rc, const char* what, const std::string& message) const {
    std::string text = options_.Describe() + ": " + what + ": " + message;
    switch (rc) {
      case MEMCACHED_E2BIG:
        return TooLarge(options_.Describe() + ": value larger than the server's item size limit");
      case MEMCACHED_BAD_KEY_PROVIDED:
      case MEMCACHED_KEY_TOO_BIG:
        return InvalidArgument(text);
      default:
        return Unavailable(text);
    }
  }

  const MemcachedOptions options_;
  memcached_st* master_;
  memcached_pool_st* pool_;
};

}  // namespace

Result<memcached_st*> NewMemcachedClient(const MemcachedOptions& options) {
  memcached_st* m = memcached_create(nullptr);
  if (m == nullptr) return Internal("memcached_create failed");
  for (const MemcachedServerAddress& s : options.servers) {
    memcached_return_t rc =
        options.unix_socket
            ? memcached_server_add_unix_socket(m, s.host.c_str())
            : memcached_server_add(m, s.host.c_str(), static_cast<in_port_t>(s.port));
    if (rc != MEMCACHED_SUCCESS) {
      memcached_free(m);
      return InvalidArgument(options.Describe() + ": cannot use server " + s.host + ": " +
                             memcached_strerror(nullptr, rc));
    }
  }
  int64_t timeout_ms = options.timeout.count();
  int64_t retry_s = (options.retry_interval.count() + 999) / 1000;
  struct {
    memcached_behavior_t flag;
    uint64_t value;
  } behaviors[] = {
      {MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, static_cast<uint64_t>(options.connect_timeout.count())},
      {MEMCACHED_BEHAVIOR_POLL_TIMEOUT, static_cast<uint64_t>(timeout_ms)},
      {MEMCACHED_BEHAVIOR_RCV_TIMEOUT, static_cast<uint64_t>(timeout_ms * 1000)},
      {MEMCACHED_BEHAVIOR_SND_TIMEOUT, static_cast<uint64_t>(timeout_ms * 1000)},
      {MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, static_cast<uint64_t>(retry_s)},
      {MEMCACHED_BEHAVIOR_TCP_NODELAY, 1},
      {MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT},
      // With several servers, skip a dead one (its keys move to the others until it is back).
      {MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, options.servers.size() > 1 ? 1u : 0u},
  };
  for (const auto& b : behaviors) {
    if (memcached_behavior_set(m, b.flag, b.value) != MEMCACHED_SUCCESS) {
      memcached_free(m);
      return Internal(options.Describe() + ": cannot set a client option (" +
                      std::to_string(static_cast<int>(b.flag)) + ")");
    }
  }
  return m;
}

Result<std::unique_ptr<Cache>> MakeMemcachedCache(const std::string& url) {
  SIGIL_ASSIGN_OR_RETURN(MemcachedOptions options, ParseMemcachedUrl(url));
  SIGIL_ASSIGN_OR_RETURN(memcached_st * master, NewMemcachedClient(options));
  memcached_pool_st* pool =
      memcached_pool_create(master, 1, static_cast<uint32_t>(options.pool_size));
  if (pool == nullptr) {
    memcached_free(master);
    return Internal(options.Describe() + ": cannot create the connection pool");
  }
  return std::unique_ptr<Cache>(std::make_unique<MemcachedCache>(std::move(options), master, pool));
}

}  // namespace sigil::cache::memcached
