// A closed-loop keep-alive HTTP/1.1 load client for mixed request lists (bench/download): like wrk
// (`connections` sockets spread over `threads` threads; each connection sends one request, reads
// the whole response, records the latency and sends the next), but every response's status is
// checked against the status expected for the request that produced it, so a broken backend that
// answers fast with the wrong status cannot look fast.
//
// Responses must carry Content-Length (or be answers to HEAD); a chunked response counts as an
// error. The client reads and discards bodies without copying them.
//
// Not for general use: the server must be on 127.0.0.1. Thread-safe to call from one thread at a
// time (it starts and joins its own threads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sigil::bench {

struct LoadRequest {
  std::string bytes;    // the whole request (request line, headers, empty line; no body)
  int expected_status;  // e.g. 200 for a stored symbol, 404 for a missing one
  bool head = false;    // the response has no body whatever Content-Length says
};

struct LoadOptions {
  int port = 0;  // 127.0.0.1:port
  int connections = 50;
  int threads = 2;
  // > 0: run for this long, then stop sending and drain the requests in flight (their responses
  // are checked and counted in `by_status` but not in requests/latencies).
  // 0: one pass: connection c sends exactly the entries [c*n/C, (c+1)*n/C) of the sequence, so the
  // connections together send every entry once (warm-up that touches every key).
  double seconds = 0;
};

struct LoadResult {
  double rps = 0;  // responses completed before the deadline / seconds (0 for a one-pass run)
  double p50_ms = 0;
  double p99_ms = 0;
  long requests = 0;      // responses completed before the deadline (all of them for one pass)
  long expected = 0;      // responses (including drained ones) with the expected status
  long unexpected = 0;    // responses with another status
  long errors = 0;        // connect/read/write failures, closed connections, unparsable responses
  long statuses_404 = 0;  // 404 responses, including drained ones
  std::string first_problem;  // description of the first unexpected status or error
};

// Sends `sequence` in order, connection c starting at entry c * n / connections and wrapping.
// Precondition: sequence is not empty, connections >= threads >= 1.
LoadResult RunMixedLoad(const std::vector<LoadRequest>& sequence, const LoadOptions& options);

}  // namespace sigil::bench
