#include "cache/redis/redis_options.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace sigil::cache::redis {
namespace {

constexpr std::string_view kSubject = "redis URL option";

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
      SIGIL_ASSIGN_OR_RETURN(int64_t port,
                             ParseUrlInt(kSubject, "port", std::string(u.port()), 1, 65535));
      o.port = static_cast<int>(port);
    }
    if (!path.empty() && path != "/") {
      SIGIL_ASSIGN_OR_RETURN(
          int64_t db, ParseUrlInt(kSubject, "db (the URL path)", path.substr(1), 0, 1 << 20));
      o.db = static_cast<int>(db);
    }
  }
  bool channel_set = false;
  for (auto param : u.params()) {
    std::string key = param.key;
    std::string value = param.value;
    SIGIL_ASSIGN_OR_RETURN(bool known, ParseConnectionOption(kSubject, key, value, o));
    if (known) continue;
    if (key == "db") {
      SIGIL_ASSIGN_OR_RETURN(int64_t db, ParseUrlInt(kSubject, key, value, 0, 1 << 20));
      o.db = static_cast<int>(db);
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
