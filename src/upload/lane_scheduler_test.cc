// LaneScheduler: its policy (checked by driving "virtual threads" one call at a time, so every
// batch is deterministic) and its blocking and exclusivity under real threads.
#include "upload/lane_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace sigil::upload {
namespace {

constexpr uint64_t kChunk = 64;

// One thread's view: its batch, and how many bytes of each item it has read.
struct Virtual {
  std::vector<size_t> batch, open;
};

// Reads one chunk of each item of `v`'s batch and returns it, tracking `left` (bytes per item).
void ReadRound(LaneScheduler& s, Virtual& v, std::vector<uint64_t>& left,
               std::vector<int>& finished) {
  std::vector<LaneScheduler::Progress> progress;
  for (size_t i : v.batch) {
    LaneScheduler::Progress p;
    p.item = i;
    if (left[i] == 0) {
      p.ended = true;
      ++finished[i];
    } else {
      p.bytes = std::min(kChunk, left[i]);
      left[i] -= p.bytes;
    }
    progress.push_back(p);
  }
  s.Return(progress);
}

TEST(LaneSchedulerTest, OneThreadReadsEveryItemToItsEndWithinTheLimits) {
  const std::vector<uint64_t> sizes = {900, 500, 300, 300, 64, 1, 0};
  LaneScheduler s(sizes, /*threads=*/1, /*lanes=*/3, /*max_open=*/4);
  std::vector<uint64_t> left = sizes;
  std::vector<int> finished(sizes.size(), 0);
  std::set<size_t> opened;
  Virtual v;
  int rounds = 0;
  while (s.Next(&v.batch, &v.open)) {
    ASSERT_LE(v.batch.size(), 3u);
    ASSERT_FALSE(v.batch.empty());
    for (size_t i : v.open) {
      EXPECT_TRUE(opened.insert(i).second) << "item " << i << " opened twice";
      EXPECT_NE(std::find(v.batch.begin(), v.batch.end(), i), v.batch.end());
    }
    for (size_t i : v.batch) EXPECT_TRUE(opened.count(i)) << "item " << i << " read unopened";
    ReadRound(s, v, left, finished);
    ASSERT_LT(++rounds, 1000);
  }
  EXPECT_EQ(finished, std::vector<int>(sizes.size(), 1));
  EXPECT_LE(s.max_open_seen(), 4u);
  // Items are opened in the caller's order.
  EXPECT_EQ(opened.size(), sizes.size());
}

TEST(LaneSchedulerTest, OneThreadNeverReadsAMemberAlone) {
  // With one thread there is nothing to balance: rounds stay full while members are left.
  const std::vector<uint64_t> sizes = {64 * 100, 64, 64, 64};
  LaneScheduler s(sizes, 1, 16, 32);
  Virtual v;
  ASSERT_TRUE(s.Next(&v.batch, &v.open));
  EXPECT_EQ(v.batch.size(), 4u);
}

TEST(LaneSchedulerTest, AMemberWithMostOfTheWorkIsReadAlone) {
  // Item 0 holds 90% of the bytes: read in shared rounds it would move one chunk per round of
  // sixteen and end long after the rest, so it gets rounds of its own from the start.
  std::vector<uint64_t> sizes = {kChunk * 900};
  for (int i = 0; i < 20; ++i) sizes.push_back(kChunk * 5);
  LaneScheduler s(sizes, /*threads=*/2, /*lanes=*/16, /*max_open=*/32);
  Virtual a, b;
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  EXPECT_EQ(a.batch, std::vector<size_t>{0});
  EXPECT_EQ(a.open, std::vector<size_t>{0});
  ASSERT_TRUE(s.Next(&b.batch, &b.open));
  EXPECT_EQ(b.batch.size(), 16u);
  EXPECT_EQ(std::count(b.batch.begin(), b.batch.end(), 0u), 0);
}

TEST(LaneSchedulerTest, AMemberWithTimeToSpareIsReadWithAPartner) {
  // Item 0 holds 300 of 1300 chunks: in shared rounds it would end long after the rest, but read
  // alone it would end well before; so its rounds of its own take the next largest member along.
  std::vector<uint64_t> sizes = {kChunk * 300, kChunk * 60};
  for (int i = 0; i < 19; ++i) sizes.push_back(kChunk * 50);
  LaneScheduler s(sizes, /*threads=*/2, /*lanes=*/16, /*max_open=*/32);
  std::vector<uint64_t> left = sizes;
  std::vector<int> finished(sizes.size(), 0);
  Virtual a, b;
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  EXPECT_EQ(a.batch, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(a.open, (std::vector<size_t>{0, 1}));
  // The other thread's round holds neither; the pair counts as one thread.
  ASSERT_TRUE(s.Next(&b.batch, &b.open));
  EXPECT_EQ(b.batch.size(), 16u);
  EXPECT_EQ(std::count_if(b.batch.begin(), b.batch.end(), [](size_t i) { return i < 2; }), 0);
  // While item 0 has time to spare, every round of a's is a pair led by it; the partner is
  // always the member with the most bytes left, so item 1 (60 chunks) is read until it has no
  // more left than the others (50, and 49 for those b read once).
  ReadRound(s, b, left, finished);
  std::set<size_t> partners;
  for (int round = 0; round < 60; ++round) {
    ReadRound(s, a, left, finished);
    ASSERT_TRUE(s.Next(&a.batch, &a.open));
    ASSERT_EQ(a.batch.size(), 2u);
    ASSERT_EQ(a.batch[0], 0u);
    partners.insert(a.batch[1]);
  }
  EXPECT_EQ(left[0], kChunk * 240);  // read in 60 rounds
  EXPECT_LE(left[1], kChunk * 50);
  EXPECT_GT(partners.size(), 2u);
}

TEST(LaneSchedulerTest, APartnerThatRestartsIsReadAgainFromTheStart) {
  // Same shape as above: item 0 leads a pair with item 1. Item 1's pass ends early and a second
  // pass over all its bytes begins (a stored object turned out to differ): it is back with all its
  // bytes left, the largest partner again, and still open (the caller opened its second pass).
  std::vector<uint64_t> sizes = {kChunk * 300, kChunk * 60};
  for (int i = 0; i < 19; ++i) sizes.push_back(kChunk * 50);
  LaneScheduler s(sizes, 2, 16, 32);
  Virtual a, b;
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  ASSERT_EQ(a.batch, (std::vector<size_t>{0, 1}));
  ASSERT_TRUE(s.Next(&b.batch, &b.open));
  s.Return({{0, kChunk, false, false}, {1, kChunk * 10, true, /*restarted=*/true}});
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  EXPECT_EQ(a.batch, (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(a.open.empty());
}

TEST(LaneSchedulerTest, AMemberThatFallsBehindIsReadAloneLater) {
  // No member is large enough to be read alone at first; as the small ones end, the large one's
  // remaining bytes become the bulk of what is left and it gets rounds of its own. Two virtual
  // threads take turns: each returns its round, then asks for the next (without blocking).
  std::vector<uint64_t> sizes = {kChunk * 40};
  for (int i = 0; i < 31; ++i) sizes.push_back(kChunk * 20);
  LaneScheduler s(sizes, 2, 16, 32);
  std::vector<uint64_t> left = sizes;
  std::vector<int> finished(sizes.size(), 0);
  Virtual v[2];
  ASSERT_EQ(s.TryNext(&v[0].batch, &v[0].open), LaneScheduler::Turn::kWork);
  ASSERT_EQ(s.TryNext(&v[1].batch, &v[1].open), LaneScheduler::Turn::kWork);
  EXPECT_EQ(v[0].batch.size(), 16u);
  EXPECT_EQ(v[1].batch.size(), 16u);
  bool alone = false;
  bool ended = false;
  for (int round = 0; round < 2000 && !ended; ++round) {
    Virtual& t = v[round % 2];
    if (!t.batch.empty()) ReadRound(s, t, left, finished);
    LaneScheduler::Turn turn = s.TryNext(&t.batch, &t.open);
    ended = turn == LaneScheduler::Turn::kEnd;
    // Its rounds of its own: alone, or with a partner while it has time to spare.
    if (!t.batch.empty() && t.batch.front() == 0 && t.batch.size() <= 2) alone = true;
  }
  EXPECT_TRUE(ended);
  EXPECT_TRUE(alone);
  EXPECT_EQ(finished, std::vector<int>(sizes.size(), 1));
}

// As many members as an archive may hold (UploadConfig::max_members), each one chunk: every member
// ends once, in batches of 16 while enough are left.
TEST(LaneSchedulerTest, FiftyThousandSmallMembersAllEnd) {
  const std::vector<uint64_t> sizes(50000, 1);
  LaneScheduler s(sizes, 2, 16, 32);
  std::vector<uint64_t> left = sizes;
  std::vector<int> finished(sizes.size(), 0);
  Virtual v[2];
  size_t rounds = 0, full = 0;
  for (bool ended = false; !ended;) {
    for (Virtual& t : v) {
      if (!t.batch.empty()) ReadRound(s, t, left, finished);
      LaneScheduler::Turn turn = s.TryNext(&t.batch, &t.open);
      ended = ended || turn == LaneScheduler::Turn::kEnd;
      if (turn == LaneScheduler::Turn::kWork) {
        ++rounds;
        full += t.batch.size() == 16 ? 1 : 0;
      }
    }
    ASSERT_LT(rounds, 20000u);
  }
  EXPECT_EQ(std::count(finished.begin(), finished.end(), 1), 50000);
  EXPECT_GT(full, rounds * 9 / 10);
}

TEST(LaneSchedulerTest, TheLastMembersAreSplitBetweenThreads) {
  const std::vector<uint64_t> sizes(10, kChunk * 8);
  LaneScheduler s(sizes, 2, 16, 32);
  Virtual a, b;
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  ASSERT_TRUE(s.Next(&b.batch, &b.open));
  EXPECT_EQ(a.batch.size(), 5u);
  EXPECT_EQ(b.batch.size(), 5u);
  std::set<size_t> all(a.batch.begin(), a.batch.end());
  all.insert(b.batch.begin(), b.batch.end());
  EXPECT_EQ(all.size(), 10u);
}

TEST(LaneSchedulerTest, ARestartedMemberIsReadAgainFromTheStart) {
  LaneScheduler s({kChunk * 2}, 1, 16, 32);
  Virtual v;
  ASSERT_TRUE(s.Next(&v.batch, &v.open));
  s.Return({{0, kChunk, false, false}});
  ASSERT_TRUE(s.Next(&v.batch, &v.open));
  s.Return({{0, kChunk, false, false}});
  ASSERT_TRUE(s.Next(&v.batch, &v.open));
  s.Return({{0, 0, true, /*restarted=*/true}});
  ASSERT_TRUE(s.Next(&v.batch, &v.open));
  EXPECT_EQ(v.batch, std::vector<size_t>{0});
  EXPECT_TRUE(v.open.empty());  // still open: the caller opened its second pass itself
  s.Return({{0, 0, true, false}});
  EXPECT_FALSE(s.Next(&v.batch, &v.open));
}

TEST(LaneSchedulerTest, NextWaitsForAnotherThreadsRoundAndStopWakesIt) {
  LaneScheduler s({kChunk * 4}, 2, 16, 32);
  Virtual a;
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  // The only member is in a's round: b waits until a returns it.
  std::atomic<int> got{-1};
  std::thread b([&] {
    Virtual v;
    got = s.Next(&v.batch, &v.open) ? static_cast<int>(v.batch.size()) : 0;
    if (got > 0) s.Return({{0, kChunk, false, false}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(got.load(), -1);
  s.Return({{0, kChunk, false, false}});
  b.join();
  EXPECT_EQ(got.load(), 1);

  // Now a holds it again and c waits; Stop releases c with false, and a's next call too.
  ASSERT_TRUE(s.Next(&a.batch, &a.open));
  std::atomic<int> stopped{-1};
  std::thread c([&] {
    Virtual v;
    stopped = s.Next(&v.batch, &v.open) ? 1 : 0;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(stopped.load(), -1);
  s.Stop();
  c.join();
  EXPECT_EQ(stopped.load(), 0);
  s.Return({{0, kChunk, false, false}});
  EXPECT_FALSE(s.Next(&a.batch, &a.open));
}

TEST(LaneSchedulerTest, ThreadsNeverShareAMemberAndAllEnd) {
  std::mt19937 rng(7);
  std::vector<uint64_t> sizes;
  for (int i = 0; i < 300; ++i) sizes.push_back(rng() % 4 == 0 ? rng() % 20000 : rng() % 2000);
  LaneScheduler s(sizes, 4, 16, 32);
  std::vector<std::atomic<int>> owners(sizes.size());
  std::vector<std::atomic<uint64_t>> read(sizes.size());
  std::vector<std::atomic<int>> ended(sizes.size());
  std::atomic<bool> overlap{false};
  auto worker = [&] {
    Virtual v;
    while (s.Next(&v.batch, &v.open)) {
      std::vector<LaneScheduler::Progress> progress;
      for (size_t i : v.batch) {
        if (owners[i].fetch_add(1) != 0) overlap = true;
        LaneScheduler::Progress p;
        p.item = i;
        uint64_t done = read[i].load();
        if (done == sizes[i]) {
          p.ended = true;
          ended[i]++;
        } else {
          p.bytes = std::min(kChunk, sizes[i] - done);
          read[i] += p.bytes;
        }
        progress.push_back(p);
      }
      for (size_t i : v.batch) owners[i].fetch_sub(1);
      s.Return(progress);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlap.load());
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(read[i].load(), sizes[i]) << i;
    EXPECT_EQ(ended[i].load(), 1) << i;
  }
  EXPECT_LE(s.max_open_seen(), 32u);
}

}  // namespace
}  // namespace sigil::upload
