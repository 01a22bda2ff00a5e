#include "common/invalidation_bus.h"

#include <vector>

namespace sigil {

uint64_t LocalInvalidationBus::Subscribe(Listener listener) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void LocalInvalidationBus::Unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

void LocalInvalidationBus::Publish(const SymbolKey& key) { Deliver(key); }

void LocalInvalidationBus::Deliver(const SymbolKey& key) {
  std::vector<Listener> copy;
  {
    std::lock_guard lock(mu_);
    copy.reserve(listeners_.size());
    for (auto& [id, l] : listeners_) copy.push_back(l);
  }
  for (auto& l : copy) l(key);
}

}  // namespace sigil
