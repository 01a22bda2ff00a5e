// memcached connection settings parsed from the cache URL.
//
//   memcached://host[:port][,host[:port]...][?option=value&...]   (port 11211 by default; several
//                                                                  servers are consistent-hashed)
//   memcached+unix:///path/to/memcached.sock[?option=value&...]
//
// Options (all optional): connect_timeout_ms (default 250), timeout_ms (per I/O wait, default 500),
// retry_ms (how long a failed server is skipped before reconnecting, rounded up to whole seconds as
// libmemcached counts them, default 1000), pool_size (connections, default 16). Unknown options are
// rejected. IPv6 hosts go in brackets: memcached://[::1]:11211.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cache/url_options.h"
#include "common/status.h"

namespace sigil::cache::memcached {

struct MemcachedServerAddress {
  std::string host;  // or the socket path when unix_socket
  int port = 11211;
};

// connect_timeout, timeout, retry_interval, pool_size: see cache/url_options.h.
struct MemcachedOptions : ConnectionOptions {
  bool unix_socket = false;
  std::vector<MemcachedServerAddress> servers;  // one entry for a unix socket

  // "memcached 10.0.0.1:11211,10.0.0.2:11211" or "memcached unix:/path", for messages.
  std::string Describe() const;
};

Result<MemcachedOptions> ParseMemcachedUrl(const std::string& url);

}  // namespace sigil::cache::memcached
