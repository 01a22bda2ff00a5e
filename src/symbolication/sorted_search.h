// Searches over ascending keys used by SymbolIndex's lookups (internal to symbolication).
// All are header-only so they inline into the lookup loops; none allocates or throws.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace sigil::symbolication::search {

// First index in [lo, hi) whose key is > x (keys ascending). Branch-free halving (the compiler
// emits conditional moves), so the search costs memory latency but no mispredictions.
template <typename Key, typename GetKey>
inline uint64_t UpperBound(uint64_t lo, uint64_t hi, Key x, GetKey key) {
  uint64_t n = hi - lo;
  if (n == 0) return lo;
  uint64_t base = lo;
  while (n > 1) {
    uint64_t half = n / 2;
    base = (key(base + half) <= x) ? base + half : base;
    n -= half;
  }
  return base + (key(base) <= x ? 1 : 0);
}

// UpperBound over a plain array, prefetching both possible next probes (memory-level
// parallelism for indexes larger than the cache).
template <typename T>
inline uint64_t UpperBoundArray(const T* keys, uint64_t lo, uint64_t hi, uint64_t x) {
  uint64_t n = hi - lo;
  if (n == 0) return lo;
  const T* base = keys + lo;
  while (n > 1) {
    uint64_t half = n / 2;
    __builtin_prefetch(base + (n - half) / 2);
    __builtin_prefetch(base + half + (n - half) / 2);
    base = (base[half] <= x) ? base + half : base;
    n -= half;
  }
  return static_cast<uint64_t>(base - keys) + (*base <= x ? 1 : 0);
}

// Runs m independent upper-bound searches in step: probe k of every search is issued before probe
// k + 1 of any, so up to m cache misses are in flight at once (a lone binary search has one).
// Search i covers [lo[i], hi[i]) for x[i] with keys key(i, index) ascending; on return lo[i] is
// the first index whose key is > x[i] (hi[i] if none).
template <size_t kMax, typename GetKey>
inline void SearchSideBySide(size_t m, uint64_t* lo, const uint64_t* hi, const uint64_t* x,
                             GetKey key) {
  uint64_t len[kMax];  // m <= kMax
  bool more = false;
  for (size_t i = 0; i < m; ++i) {
    len[i] = hi[i] - lo[i];
    more |= len[i] > 1;
  }
  while (more) {
    more = false;
    for (size_t i = 0; i < m; ++i) {
      if (len[i] <= 1) continue;
      const uint64_t half = len[i] / 2;
      lo[i] = key(i, lo[i] + half) <= x[i] ? lo[i] + half : lo[i];
      len[i] -= half;
      more |= len[i] > 1;
    }
  }
  for (size_t i = 0; i < m; ++i) {
    if (len[i] != 0) lo[i] += key(i, lo[i]) <= x[i] ? 1 : 0;
  }
}

// Where in [lo, hi) a key near x probably lies, assuming keys spread evenly over [0, span): line
// restart points and inline node starts do within a function, so the guess is usually within a
// cache line of the answer. Requires lo < hi, x < 2^32, hi - lo <= 2^32 and span > 0; the
// result lies in [lo, hi) whatever x and span are.
inline uint64_t GuessPosition(uint64_t lo, uint64_t hi, uint64_t x, uint64_t span) {
  return std::min(hi - 1, lo + x * (hi - lo) / span);  // the product fits 64 bits
}

// UpperBound over [lo, hi) starting at `guess` (lo <= guess < hi): gallops from the guess toward
// the answer, then halves the last step. A guess d entries off costs O(log d) probes, next to
// each other for small d, instead of log(hi - lo) probes spread over the whole interval.
template <typename GetKey>
inline uint64_t UpperBoundFrom(uint64_t lo, uint64_t hi, uint64_t guess, uint64_t x, GetKey key) {
  if (key(guess) <= x) {                   // the answer is above the guess
    uint64_t known = guess + 1, step = 1;  // every key below `known` is <= x
    for (;;) {
      const uint64_t probe = guess + step;
      if (probe >= hi) return UpperBound(known, hi, x, key);
      if (key(probe) > x) return UpperBound(known, probe, x, key);
      known = probe + 1;
      step *= 2;
    }
  }
  uint64_t above = guess, step = 1;  // key(above) > x
  for (;;) {
    if (step > above - lo) return UpperBound(lo, above, x, key);
    const uint64_t probe = above - step;
    if (key(probe) <= x) return UpperBound(probe + 1, above, x, key);
    above = probe;
    step *= 2;
  }
}

}  // namespace sigil::symbolication::search
