#include "upload/lane_scheduler.h"

#include <algorithm>
#include <cassert>

namespace sigil::upload {
namespace {

// How long a member's bytes take relative to one read in a full round (inflate + its share of a
// 16-lane MD5 round, ~0.2 ns/byte: kSharedCost), when it is read alone (inflate ~1.16 ns/byte + a
// one-stream MD5 ~1.19) and when it is read in a pair (both streams inflated, then their MD5 steps
// interleaved: a round of two chunks takes ~1.5x a lone one). Bench machine figures: bench/upload
// and bench/hashing, docs/benchmarks.md "A round at a time" and "Pairs".
constexpr uint64_t kAloneCost = 17;
constexpr uint64_t kPairCost = 27;
constexpr uint64_t kSharedCost = 10;

}  // namespace

LaneScheduler::LaneScheduler(std::vector<uint64_t> sizes, size_t threads, size_t lanes,
                             size_t max_open)
    : threads_(std::max<size_t>(1, threads)),
      lanes_(std::max<size_t>(1, lanes)),
      max_open_(std::max<size_t>(1, max_open)) {
  entries_.resize(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    entries_[i].size = sizes[i];
    entries_[i].remaining = sizes[i];
    remaining_ += sizes[i];
  }
}

bool LaneScheduler::Next(std::vector<size_t>* batch, std::vector<size_t>* open) {
  batch->clear();
  open->clear();
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopped_ || done_ == entries_.size()) return false;
    if (Pick(batch, open)) return true;
    changed_.wait(lock);
  }
}

LaneScheduler::Turn LaneScheduler::TryNext(std::vector<size_t>* batch, std::vector<size_t>* open) {
  batch->clear();
  open->clear();
  std::lock_guard lock(mu_);
  if (stopped_ || done_ == entries_.size()) return Turn::kEnd;
  return Pick(batch, open) ? Turn::kWork : Turn::kWait;
}

void LaneScheduler::OpenNext(std::vector<size_t>* batch, std::vector<size_t>* open) {
  Entry& e = entries_[next_];
  e.state = State::kBusy;
  ++open_;
  max_open_seen_ = std::max(max_open_seen_, open_);
  batch->push_back(next_);
  open->push_back(next_);
  ++next_;
}

std::vector<size_t>::iterator LaneScheduler::LargestReady() {
  return std::max_element(ready_.begin(), ready_.end(), [this](size_t a, size_t b) {
    return entries_[a].remaining < entries_[b].remaining;
  });
}

void LaneScheduler::TakeReady(std::vector<size_t>::iterator it, std::vector<size_t>* batch) {
  const size_t item = *it;
  ready_.erase(it);
  entries_[item].state = State::kBusy;
  batch->push_back(item);
}

// The open member with the most bytes left, or the next one to open if it is larger.
void LaneScheduler::TakePartner(std::vector<size_t>* batch, std::vector<size_t>* open) {
  auto largest = LargestReady();
  const uint64_t ready_left = largest != ready_.end() ? entries_[*largest].remaining : 0;
  const bool can_open = next_ < entries_.size() && open_ < max_open_;
  if (can_open && (largest == ready_.end() || entries_[next_].size > ready_left)) {
    OpenNext(batch, open);
  } else if (largest != ready_.end()) {
    TakeReady(largest, batch);
  }
}

bool LaneScheduler::Pick(std::vector<size_t>* batch, std::vector<size_t>* open) {
  const bool can_open = next_ < entries_.size() && open_ < max_open_;
  // The open member with the most bytes left, waiting between rounds.
  auto largest = LargestReady();
  // A round of its own for the largest member once its remaining bytes, read in a pair, would
  // take at least an even share of what is left (never with one thread: there is nothing to
  // balance against). While it could still end in time read alone, it takes the next largest
  // member as a partner: the pair's MD5 steps interleave, so the partner's bytes cost hardly more
  // than in a full round and the lead member still moves several times faster than there.
  if (threads_ > 1) {
    const uint64_t share = remaining_ / threads_ * kSharedCost;
    const uint64_t ready_left = largest != ready_.end() ? entries_[*largest].remaining : 0;
    const uint64_t next_size = can_open ? entries_[next_].size : 0;
    uint64_t lead_left = 0;
    if (ready_left > 0 && ready_left >= next_size && ready_left * kPairCost >= share) {
      lead_left = ready_left;
      TakeReady(largest, batch);
    } else if (next_size > ready_left && next_size * kPairCost >= share) {
      lead_left = next_size;
      OpenNext(batch, open);
    }
    if (!batch->empty()) {
      if (lead_left * kAloneCost < share) TakePartner(batch, open);
      for (size_t item : *batch) entries_[item].own_round = true;
      own_round_items_ += batch->size();
      ++own_rounds_;
      return true;
    }
  }
  // A shared round: the members with the most bytes left, at most an even share of them among
  // the threads not in a round of their own.
  const size_t shared_threads = threads_ > own_rounds_ ? threads_ - own_rounds_ : 1;
  const size_t candidates =
      std::min(open_ + (entries_.size() - next_), max_open_) - own_round_items_;
  const size_t want = std::min(lanes_, (candidates + shared_threads - 1) / shared_threads);
  const size_t take = std::min(want, ready_.size());
  std::partial_sort(
      ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(take), ready_.end(),
      [this](size_t a, size_t b) { return entries_[a].remaining > entries_[b].remaining; });
  for (size_t k = 0; k < take; ++k) {
    entries_[ready_[k]].state = State::kBusy;
    batch->push_back(ready_[k]);
  }
  ready_.erase(ready_.begin(), ready_.begin() + static_cast<std::ptrdiff_t>(take));
  while (batch->size() < want && next_ < entries_.size() && open_ < max_open_) {
    OpenNext(batch, open);
  }
  return !batch->empty();
}

void LaneScheduler::Return(const std::vector<Progress>& progress) {
  {
    std::lock_guard lock(mu_);
    bool own_round = false;
    for (const Progress& p : progress) {
      assert(p.item < entries_.size() && entries_[p.item].state == State::kBusy);
      Entry& e = entries_[p.item];
      if (e.own_round) {
        e.own_round = false;
        --own_round_items_;
        own_round = true;
      }
      const uint64_t read = std::min(p.bytes, e.remaining);
      e.remaining -= read;
      remaining_ -= read;
      if (p.restarted) {
        remaining_ += e.size - e.remaining;
        e.remaining = e.size;
        e.state = State::kReady;
        ready_.push_back(p.item);
      } else if (p.ended) {
        remaining_ -= e.remaining;  // a member shorter than declared fails its checks anyway
        e.remaining = 0;
        e.state = State::kDone;
        --open_;
        ++done_;
      } else {
        e.state = State::kReady;
        ready_.push_back(p.item);
      }
    }
    if (own_round) --own_rounds_;
  }
  changed_.notify_all();
}

void LaneScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  changed_.notify_all();
}

size_t LaneScheduler::max_open_seen() const {
  std::lock_guard lock(mu_);
  return max_open_seen_;
}

}  // namespace sigil::upload
