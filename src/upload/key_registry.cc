#include "upload/key_registry.h"

#include <utility>

namespace sigil::upload {

KeyRegistry::Pin::Pin(Pin&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)),
      key_(std::move(other.key_)),
      entry_(std::exchange(other.entry_, nullptr)),
      generation_at_pin_(other.generation_at_pin_) {}

KeyRegistry::Pin& KeyRegistry::Pin::operator=(Pin&& other) noexcept {
  if (this != &other) {
    if (registry_ != nullptr) registry_->Release(key_);
    registry_ = std::exchange(other.registry_, nullptr);
    key_ = std::move(other.key_);
    entry_ = std::exchange(other.entry_, nullptr);
    generation_at_pin_ = other.generation_at_pin_;
  }
  return *this;
}

KeyRegistry::Pin::~Pin() {
  if (registry_ != nullptr) registry_->Release(key_);
}

KeyRegistry::Pin KeyRegistry::Acquire(const std::string& key) {
  Pin pin;
  {
    std::lock_guard lock(mu_);
    auto& slot = entries_[key];
    if (!slot) slot = std::make_unique<Entry>();
    ++slot->pins;
    pin.entry_ = slot.get();
  }
  pin.registry_ = this;
  pin.key_ = key;
  std::lock_guard entry_lock(pin.entry_->mu);
  pin.generation_at_pin_ = pin.entry_->generation;
  return pin;
}

void KeyRegistry::Release(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && --it->second->pins == 0) entries_.erase(it);
}

size_t KeyRegistry::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace sigil::upload
