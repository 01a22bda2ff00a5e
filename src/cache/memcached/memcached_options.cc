#include "cache/memcached/memcached_options.h"

#include <string_view>

namespace sigil::cache::memcached {
namespace {

constexpr std::string_view kSubject = "memcached URL";

Result<MemcachedServerAddress> ParseHostPort(std::string_view hp) {
  MemcachedServerAddress a;
  std::string_view port;
  if (!hp.empty() && hp[0] == '[') {  // [v6]:port
    size_t close = hp.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument("memcached URL: unclosed '[' in host");
    a.host = std::string(hp.substr(1, close - 1));
    std::string_view rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return InvalidArgument("memcached URL: junk after ']' in host");
      port = rest.substr(1);
    }
  } else {
    size_t colon = hp.rfind(':');
    a.host = std::string(hp.substr(0, colon));
    if (colon != std::string_view::npos) port = hp.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) {
      return InvalidArgument("memcached URL: put IPv6 addresses in brackets ([::1]:11211)");
    }
  }
  if (a.host.empty()) return InvalidArgument("memcached URL has an empty host");
  for (char c : a.host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '@' || c == '/') {
      return InvalidArgument("memcached URL host \"" + a.host +
                             "\" has a character not allowed in hosts");
    }
  }
  if (!port.empty() || hp.back() == ':') {
    SIGIL_ASSIGN_OR_RETURN(int64_t p, ParseUrlInt(kSubject, "port", port, 1, 65535));
    a.port = static_cast<int>(p);
  }
  return a;
}

}  // namespace

std::string MemcachedOptions::Describe() const {
  if (unix_socket) return "memcached unix:" + (servers.empty() ? std::string() : servers[0].host);
  std::string s = "memcached ";
  for (size_t i = 0; i < servers.size(); ++i) {
    if (i > 0) s += ',';
    const std::string& h = servers[i].host;
    s += (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
         std::to_string(servers[i].port);
  }
  return s;
}

Result<MemcachedOptions> ParseMemcachedUrl(const std::string& url) {
  MemcachedOptions o;
  std::string_view rest = url;
  constexpr std::string_view kTcp = "memcached://", kUnix = "memcached+unix://";
  if (rest.substr(0, kUnix.size()) == kUnix) {
    o.unix_socket = true;
    rest.remove_prefix(kUnix.size());
  } else if (rest.substr(0, kTcp.size()) == kTcp) {
    rest.remove_prefix(kTcp.size());
  } else {
    return InvalidArgument("memcached URL must start with memcached:// or memcached+unix://: " +
                           url);
  }
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (o.unix_socket) {
    if (rest.size() < 2 || rest[0] != '/') {
      return InvalidArgument(
          "memcached+unix URL needs an absolute socket path (memcached+unix:///path/to/sock)");
    }
    o.servers.push_back({std::string(rest), 0});
  } else {
    if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
      if (slash + 1 != rest.size()) return InvalidArgument("memcached URL takes no path: " + url);
      rest = rest.substr(0, slash);
    }
    if (rest.empty()) return InvalidArgument("memcached URL has no host: " + url);
    while (true) {
      size_t comma = rest.find(',');
      SIGIL_ASSIGN_OR_RETURN(MemcachedServerAddress a, ParseHostPort(rest.substr(0, comma)));
      o.servers.push_back(std::move(a));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    if (o.servers.size() > 64) return InvalidArgument("memcached URL lists more than 64 servers");
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    SIGIL_ASSIGN_OR_RETURN(bool known, ParseConnectionOption(kSubject, key, value, o));
    if (known) continue;
    return InvalidArgument("unknown memcached URL option \"" + std::string(key) +
                           "\" (known: connect_timeout_ms, timeout_ms, retry_ms, pool_size)");
  }
  return o;
}

}  // namespace sigil::cache::memcached
