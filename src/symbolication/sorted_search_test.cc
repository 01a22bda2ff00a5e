// The searches of sorted_search.h against std::upper_bound, at every guess and window, and their
// bounds on keys that do not ascend (a corrupt index that slipped past validation must still give
// an index inside the window, never a read outside it).
#include "symbolication/sorted_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace sigil::symbolication::search {
namespace {

std::vector<uint32_t> SortedKeys(std::mt19937& rng, size_t n, uint32_t max_step) {
  std::vector<uint32_t> keys(n);
  uint32_t at = 0;
  for (uint32_t& k : keys) k = at += rng() % (max_step + 1);  // duplicates when the step is 0
  return keys;
}

uint64_t Expected(const std::vector<uint32_t>& keys, uint64_t lo, uint64_t hi, uint64_t x) {
  return static_cast<uint64_t>(std::upper_bound(keys.begin() + lo, keys.begin() + hi, x,
                                                [](uint64_t v, uint32_t k) { return v < k; }) -
                               keys.begin());
}

TEST(SortedSearchTest, UpperBoundFromMatchesUpperBoundFromEveryGuess) {
  std::mt19937 rng(7);
  for (size_t n : {1, 2, 3, 7, 16, 100}) {
    for (uint32_t step : {0u, 1u, 5u, 1000u}) {
      const std::vector<uint32_t> keys = SortedKeys(rng, n, step);
      auto key = [&](uint64_t k) { return keys[k]; };
      const uint64_t top = keys.back() + 2;
      for (uint64_t lo = 0; lo < n; lo += 1 + n / 5) {
        for (uint64_t hi = lo + 1; hi <= n; hi += 1 + n / 7) {
          for (uint64_t x : {uint64_t{0}, uint64_t{keys[lo]}, uint64_t{keys[hi - 1]}, top,
                             static_cast<uint64_t>(rng() % top)}) {
            for (uint64_t guess = lo; guess < hi; ++guess) {
              ASSERT_EQ(UpperBoundFrom(lo, hi, guess, x, key), Expected(keys, lo, hi, x))
                  << "n " << n << " lo " << lo << " hi " << hi << " guess " << guess << " x " << x;
            }
          }
        }
      }
    }
  }
}

TEST(SortedSearchTest, GuessPositionStaysInsideTheWindow) {
  EXPECT_EQ(GuessPosition(10, 20, 0, 100), 10u);
  EXPECT_EQ(GuessPosition(10, 20, 50, 100), 15u);
  EXPECT_EQ(GuessPosition(10, 20, 99, 100), 19u);
  EXPECT_EQ(GuessPosition(10, 20, 5000, 100), 19u);  // offset past the span: clamped
  EXPECT_EQ(GuessPosition(0, uint64_t{1} << 32, 0xFFFFFFFFu, 1), (uint64_t{1} << 32) - 1);
}

TEST(SortedSearchTest, SearchSideBySideMatchesUpperBoundForEverySearch) {
  std::mt19937 rng(11);
  const std::vector<uint32_t> a = SortedKeys(rng, 300, 9), b = SortedKeys(rng, 50, 0);
  constexpr size_t kSearches = 24;
  uint64_t lo[kSearches], hi[kSearches], x[kSearches], want[kSearches];
  for (size_t i = 0; i < kSearches; ++i) {
    const std::vector<uint32_t>& keys = i % 2 ? b : a;
    lo[i] = rng() % keys.size();
    hi[i] = i % 5 == 0 ? lo[i] : lo[i] + rng() % (keys.size() - lo[i] + 1);  // some empty
    x[i] = rng() % (keys.back() + 3);
    want[i] = Expected(keys, lo[i], hi[i], x[i]);
  }
  SearchSideBySide<kSearches>(kSearches, lo, hi, x,
                              [&](size_t i, uint64_t k) { return (i % 2 ? b : a)[k]; });
  for (size_t i = 0; i < kSearches; ++i) EXPECT_EQ(lo[i], want[i]) << "search " << i;
}

TEST(SortedSearchTest, KeysThatDoNotAscendStillGiveAnIndexInsideTheWindow) {
  std::mt19937 rng(3);
  for (int round = 0; round < 2000; ++round) {
    const size_t n = 1 + rng() % 40;
    std::vector<uint32_t> keys(n);
    for (uint32_t& k : keys) k = rng() % 50;  // no order at all
    const uint64_t lo = rng() % n, hi = lo + 1 + rng() % (n - lo), x = rng() % 60;
    size_t reads_outside = 0;
    auto key = [&](uint64_t k) {
      if (k < lo || k >= hi) ++reads_outside;
      return keys[std::min<uint64_t>(k, n - 1)];
    };
    const uint64_t r = UpperBoundFrom(lo, hi, lo + rng() % (hi - lo), x, key);
    EXPECT_GE(r, lo);
    EXPECT_LE(r, hi);
    EXPECT_EQ(reads_outside, 0u);
  }
}

}  // namespace
}  // namespace sigil::symbolication::search
