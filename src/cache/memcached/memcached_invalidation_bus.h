// MemcachedInvalidationBus: an InvalidationBus that reaches every node sharing a memcached, which
// has no publish/subscribe. It keeps a short event log in memcached itself:
//
//   Publish(key): delivers to this node's subscribers at once (synchronously, like
//     LocalInvalidationBus), then numbers the event with an atomic `incr` of `<prefix>seq` and
//     stores it at `<prefix>ev:<n>` (cache/invalidation_wire.h format, kept for `event_ttl`).
//   A background thread polls `<prefix>seq` every `poll` and fetches the events numbered after the
//   last one it saw with one multi-get, delivering other nodes' events to local subscribers.
//
// So every node drops stale in-process entries (symbolication negative cache, memos) within about
// one poll interval of an upload anywhere. Best effort, like Redis pub/sub: while memcached is down
// Publish still reaches local subscribers and other nodes' memos expire by TTL (a warning is
// logged); an event another node has not fetched yet when it is evicted is lost the same way. An
// event numbered but not written yet (the publisher is between `incr` and `set`) is fetched again
// on the next polls. A memcached restart resets the counter; the poller notices it going backwards
// and reads the new log from its start.
//
// Thread-safe. The destructor stops the poller promptly.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/invalidation_bus.h"
#include "common/status.h"

namespace sigil::cache::memcached {

struct MemcachedBusOptions {
  std::chrono::milliseconds poll{200};
  std::chrono::seconds event_ttl{600};
  std::string prefix = "sigil:invalidate:";
};

// Parses the cache URL (as MakeMemcachedCache); memcached being down is not an error (the poller
// keeps trying), a bad URL is.
Result<std::unique_ptr<InvalidationBus>> MakeMemcachedInvalidationBus(
    const std::string& url, MemcachedBusOptions options = {});

}  // namespace sigil::cache::memcached
