#include "cache/redis/redis_options.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

namespace sigil::cache::redis {
namespace {

Result<int64_t> ParseInt(const std::string& name, const std::string& value, int64_t min,
                         int64_t max) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < min || v > max) {
    return InvalidArgument("redis URL option " + name + " must be an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "], got \"" + value +
                           "\"");
  }
  return v;
}

}  // namespace

std::string RedisOptions::Describe() const {
  if (unix_socket) return "redis unix:" + path + "/" + std::to_string(db);
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return "redis " + h + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Result<RedisOptions> ParseRedisUrl(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return InvalidArgument("not a valid redis URL: " + url);
  boost::urls::url_view u = *parsed;
  RedisOptions o;
  std::string scheme(u.scheme());
  if (scheme == "redis+unix") {
    o.unix_socket = true;
  } else if (scheme != "redis") {
    return InvalidArgument("redis URL must start with redis:// or redis+unix://, got " + scheme +
                           "://");
  }
  if (u.has_userinfo()) {
    o.username = u.user();
    o.password = u.password();
  }
  std::string path = u.path();
  if (o.unix_socket) {
    if (!u.host().empty() || u.has_port()) {
      return InvalidArgument("redis+unix URL takes a socket path, not a host: " +
                             std::string(u.host()));
    }
    if (path.size() < 2 || path[0] != '/') {
      return InvalidArgument(
          "redis+unix URL needs an absolute socket path (redis+unix:///path/to/sock)");
    }
    o.path = path;
  } else {
    o.host = u.host_address();
    if (o.host.empty()) return InvalidArgument("redis URL has no host: " + url);
    if (u.has_port()) {
      SIGIL_ASSIGN_OR_RETURN(int64_t port, ParseInt("port", std::string(u.port()), 1, 65535));
      o.port = static_cast<int>(port);
    }
    if (!path.empty() && path != "/") {
      SIGIL_ASSIGN_OR_RETURN(int64_t db, ParseInt("db (the URL path)", path.substr(1), 0, 1 << 20));
      o.db = static_cast<int>(db);
    }
  }
  bool channel_set = false;
  for (auto param : u.params()) {
    std::string key = param.key;
    std::string value = param.value;
    if (key == "db") {
      SIGIL_ASSIGN_OR_RETURN(int64_t db, ParseInt(key, value, 0, 1 << 20));
      o.db = static_cast<int>(db);
    } else if (key == "connect_timeout_ms") {
      SIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseInt(key, value, 1, 600000));
      o.connect_timeout = std::chrono::milliseconds(ms);
    } else if (key == "timeout_ms") {
      SIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseInt(key, value, 1, 600000));
      o.timeout = std::chrono::milliseconds(ms);
    } else if (key == "retry_ms") {
      SIGIL_ASSIGN_OR_RETURN(int64_t ms, ParseInt(key, value, 0, 600000));
      o.retry_interval = std::chrono::milliseconds(ms);
    } else if (key == "pool_size") {
      SIGIL_ASSIGN_OR_RETURN(int64_t n, ParseInt(key, value, 1, 1024));
      o.pool_size = static_cast<int>(n);
    } else if (key == "channel") {
      if (value.empty()) return InvalidArgument("redis URL option channel must not be empty");
      o.channel = value;
      channel_set = true;
    } else {
      return InvalidArgument(
          "unknown redis URL option \"" + key +
          "\" (known: db, connect_timeout_ms, timeout_ms, retry_ms, pool_size, channel)");
    }
  }
  if (!channel_set) o.channel = "sigil:invalidate:" + std::to_string(o.db);
  return o;
}

}  // namespace sigil::cache::redis
