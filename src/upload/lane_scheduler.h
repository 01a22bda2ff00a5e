// LaneScheduler: shares the members of one upload's phase 1 among its threads, one round at a
// time. In a round a thread reads one chunk of each member in its batch and hashes those chunks
// together (Md5UpdateMany: a vector round of 5 to 16 lanes costs the same; fewer lanes go in
// scalar pairs, a lone one at about half a pair's rate per byte). Members are
// not tied to a thread: between rounds every open member is up for grabs, so the threads end
// together instead of one finishing its own members while the other still has many.
//
// The policy, per round (all under one mutex; a round is ~1 ms of work):
//  - A member whose remaining bytes, read in a pair (~2.7x the time per byte of a full vector
//    round, the pair's MD5 steps interleaved), would take at least an even share of all the work
//    left gets rounds of its own: in a full round it would move one chunk per round and finish
//    long after the rest. While it would still end in time read alone (inflate + a one-lane MD5,
//    ~1.7x), the next largest member joins it as a partner (for a pair of MD5 streams, the
//    partner's bytes cost about what they would in a full round); after that it is read alone.
//  - Otherwise the batch is the open members with the most bytes left, up to `lanes`, but no more
//    than an even share of the open (and still to open) members among the threads not in a
//    round of their own, so near the end each thread gets some; and members not opened yet (in the
//    caller's order, largest first) while fewer than `max_open` are open.
//
// Items are positions 0..n-1 in the caller's order; `sizes` are their declared sizes. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace sigil::upload {

class LaneScheduler {
 public:
  // What became of one batch member in a round.
  struct Progress {
    size_t item = 0;
    uint64_t bytes = 0;      // read this round
    bool ended = false;      // its pass ended; with restarted false, the item is done
    bool restarted = false;  // a new pass over all its bytes begins (it stays open)
  };

  // `threads`: how many threads will share the work (helpers may join late; the policy assumes
  // this many). `lanes` >= 1, `max_open` >= 1.
  LaneScheduler(std::vector<uint64_t> sizes, size_t threads, size_t lanes, size_t max_open);

  // The next batch for the calling thread: `batch` (cleared first) gets the items to read a chunk
  // of, `open` (cleared first) the subset the caller must open first. Blocks while every open
  // item is in another thread's round and none can be opened. False once every item is done or
  // Stop() was called (the caller then returns; it holds no batch).
  bool Next(std::vector<size_t>* batch, std::vector<size_t>* open);

  // Next without blocking: kWait instead of waiting (the batch is then empty).
  enum class Turn { kWork, kWait, kEnd };
  Turn TryNext(std::vector<size_t>* batch, std::vector<size_t>* open);

  // Ends the calling thread's round: one entry per item of its batch.
  void Return(const std::vector<Progress>& progress);

  // Ends the phase early (an error): every Next returns false from now on. Items in a thread's
  // round at that moment stay with it (it need not Return them).
  void Stop();

  // For tests: the largest number of items open at once so far.
  size_t max_open_seen() const;

 private:
  enum class State { kPending, kReady, kBusy, kDone };
  struct Entry {
    uint64_t size = 0;
    uint64_t remaining = 0;
    State state = State::kPending;
    bool own_round = false;  // in a round of its own (alone or in a pair)
  };

  // Under mu_: fills the batch if there is work for this round.
  bool Pick(std::vector<size_t>* batch, std::vector<size_t>* open);
  void OpenNext(std::vector<size_t>* batch, std::vector<size_t>* open);
  std::vector<size_t>::iterator LargestReady();  // the ready member with the most bytes left
  void TakeReady(std::vector<size_t>::iterator it, std::vector<size_t>* batch);
  void TakePartner(std::vector<size_t>* batch, std::vector<size_t>* open);

  const size_t threads_;
  const size_t lanes_;
  const size_t max_open_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Entry> entries_;
  std::vector<size_t> ready_;   // items kReady (open, between rounds): at most max_open, so every
                                // round's choice is O(max_open), not O(items)
  size_t next_ = 0;             // first item not opened yet
  size_t open_ = 0;             // items kReady or kBusy
  size_t done_ = 0;             // items kDone
  size_t own_round_items_ = 0;  // items in rounds of their own
  size_t own_rounds_ = 0;       // rounds of their own under way (each takes a whole thread)
  uint64_t remaining_ = 0;      // bytes left to read over all items not done
  size_t max_open_seen_ = 0;
  bool stopped_ = false;
};

}  // namespace sigil::upload
