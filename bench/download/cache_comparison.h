// download_bench --cache-backends: the download path (fs store, SQLite, DownloadService,
// http::Server) built once per cache backend and loaded with the same request mix, side by side in
// one interleaved run (docs/benchmarks.md, "### Cache backends through the download path").
//
//   memory           MakeMemoryCache, in-process bus                        [reference]
//   redis-tcp        MakeRedisCache("redis://127.0.0.1:<port>/0") + Redis pub/sub bus
//   redis-unix       MakeRedisCache("redis+unix://<sock>?db=1") + Redis pub/sub bus
//   memcached-tcp    MakeMemcachedCache("memcached://127.0.0.1:<port>") + memcached bus
//   memcached-unix   MakeMemcachedCache("memcached+unix://<sock>") + memcached bus
//
// Those are the factories src/server/backends.cc (OpenCache / OpenInvalidationBus) dispatches the
// storage.cache_url to. redis-server and two memcached (memcached listens on TCP or a unix socket,
// not both) are started in a temp dir on free loopback ports and stopped at the end, also when the
// run fails.
#pragma once

namespace sigil::bench {

struct CacheComparisonOptions {
  int duration_s = 5;    // per measured run
  int reps = 5;          // repetitions; each runs every backend once, order rotated per rep
  int connections = 50;  // keep-alive connections of the load client
  int client_threads = 2;
  int io_threads = 2;   // http::Server io threads of every stack
  int pause_ms = 1000;  // quiet time before each run
  int files = 500;      // distinct stored symbol files (the hits)
  int missing = 1000;   // distinct missing symbol keys (the misses)
};

// Runs the comparison and prints per-run lines and a median table to stdout. Returns the process
// exit code: 0, 1 when a peer, a stack or a status check failed, 2 when the missing-symbol counts
// in a database differ from the 404s the client received.
int RunCacheComparison(const CacheComparisonOptions& options);

}  // namespace sigil::bench
