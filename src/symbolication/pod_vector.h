// A growable array of trivially copyable records for the index builder's per-record hot paths
// (internal to the symbolication core): push_back is a compare, a store and an increment inline,
// growth is out of line and, unlike std::vector's, neither value-initializes nor constructs.
// Thread-compatible.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <type_traits>

namespace sigil::symbolication {

template <class T>
class PodVector {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  [[gnu::always_inline]] void push_back(const T& v) {
    if (size_ == capacity_) [[unlikely]]
      Grow();
    data_[size_++] = v;
  }
  void pop_back() { --size_; }
  // Room for n records (no regrowth until then).
  void reserve(size_t n) {
    if (n > capacity_) Reallocate(n);
  }
  // Drops the records from n on (n <= size()).
  void truncate(size_t n) { size_ = n; }
  // n copies of v.
  void assign(size_t n, const T& v) {
    size_ = 0;
    while (capacity_ < n) Grow();
    std::fill(data_.get(), data_.get() + n, v);
    size_ = n;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  bool empty() const { return size_ == 0; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  T* begin() { return data_.get(); }
  T* end() { return data_.get() + size_; }
  const T* begin() const { return data_.get(); }
  const T* end() const { return data_.get() + size_; }

 private:
  [[gnu::noinline]] void Grow() { Reallocate(std::max<size_t>(64, capacity_ * 2)); }
  void Reallocate(size_t capacity) {
    std::unique_ptr<T[]> bigger(new T[capacity]);
    if (size_ != 0) std::memcpy(bigger.get(), data_.get(), size_ * sizeof(T));
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<T[]> data_;
  size_t size_ = 0, capacity_ = 0;
};

}  // namespace sigil::symbolication
