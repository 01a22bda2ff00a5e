// Memoize: typed call-through caching over a Cache (what django-cache-memoize gives Python
// callers).
//
//   cache::Memoize<Meta(std::string, bool)> exists(cache, {.prefix = "dl.exists", .ttl = 6h},
//   LookupFn); Result<Meta> m = exists("xul.pdb/ABC/xul.sym", false);   // computed once, then from
//   the cache exists.Invalidate("xul.pdb/ABC/xul.sym", false);         // drops exactly that entry
//   exists.Refresh("xul.pdb/ABC/xul.sym", false);            // recomputes and stores
//
// The function returns Result<Value>. An OK value is stored for `ttl`; a kNotFound status is a
// result too ("it does not exist") and is stored for `not_found_ttl` (0: never stored); any other
// error is returned and not stored. Values are stored through a Codec (Encode/Decode; see below).
//
// Keys: "<prefix>:<generation>:<args>", where each argument is rendered by KeyPart (strings are
// percent-escaped, so ("a:b","c") and ("a","b:c") differ) or, when set, by Options::key_fn (for
// arguments without a KeyPart overload or whose string form is ambiguous). Keys that are too long
// or unsafe are hashed (SafeCacheKey). `generation` starts random per Memoize object and changes on
// InvalidateAll(): old entries are then unreachable and age out by TTL/LRU.
//
// Concurrency: every method is thread-safe. Concurrent misses of one key run the function once
// (single-flight, per Memoize object): followers wait for the leader's result. A result computed
// while an Invalidate/InvalidateAll happened is returned but not stored, so an invalidation that
// races with a computation never leaves the stale result behind.
//
// Failure: a cache backend error counts as a miss (the function is called) and a failed store is
// ignored: an outage degrades to no caching, never to errors. A stored value that fails to decode
// is a miss. The function must not throw. Blocking: calls block when the backend or the function
// does; Peek is as cheap as the backend's Get (in-process: no I/O).
//
// store_result = false makes an idempotency guard: only the fact that the call succeeded is stored,
// and a call within the TTL returns kAlreadyExists without calling the function.
#pragma once

#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "cache/cache.h"
#include "common/status.h"

namespace sigil::cache {

// ---- Codec: how a value is stored. Specialise Codec<T> or pass a type with the same two
// functions.
template <typename T>
struct Codec;

template <>
struct Codec<std::string> {
  static std::string Encode(const std::string& v) { return v; }
  static std::optional<std::string> Decode(std::string_view s) { return std::string(s); }
};

template <typename T>
requires std::integral<T>
struct Codec<T> {
  static std::string Encode(T v) { return std::to_string(v); }
  static std::optional<T> Decode(std::string_view s) { return DecodeInteger(s); }

 private:
  static std::optional<T> DecodeInteger(std::string_view s);
};

// ---- Key parts: the default string form of an argument (printable, ':' and '%' escaped).
std::string KeyPart(std::string_view s);
inline std::string KeyPart(const std::string& s) { return KeyPart(std::string_view(s)); }
inline std::string KeyPart(const char* s) { return KeyPart(std::string_view(s)); }
inline std::string KeyPart(bool b) { return b ? "1" : "0"; }
template <typename T>
requires(std::integral<T> && !std::same_as<T, bool>) std::string KeyPart(T v) {
  return std::to_string(v);
}

template <typename T>
concept KeyPartable = requires(const T& v) {
  { KeyPart(v) } -> std::convertible_to<std::string>;
};

namespace internal {
// Random 64-bit start of a Memoize object's key generation.
uint64_t RandomGeneration();
// Status for a store_result=false hit.
Status AlreadyCalled(std::string_view key);
std::optional<int64_t> ParseInt64(std::string_view s);
std::optional<uint64_t> ParseUint64(std::string_view s);
}  // namespace internal

template <typename T>
requires std::integral<T> std::optional<T> Codec<T>::DecodeInteger(std::string_view s) {
  if constexpr (std::is_signed_v<T>) {
    auto v = internal::ParseInt64(s);
    if (!v || *v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        *v > static_cast<int64_t>(std::numeric_limits<T>::max()))
      return std::nullopt;
    return static_cast<T>(*v);
  } else {
    auto v = internal::ParseUint64(s);
    if (!v || *v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(*v);
  }
}

template <typename Signature, typename ValueCodec = void>
class Memoize;

template <typename Value, typename... Args, typename ValueCodecArg>
class Memoize<Value(Args...), ValueCodecArg> {
 public:
  using ValueCodec = std::conditional_t<std::is_void_v<ValueCodecArg>, Codec<Value>, ValueCodecArg>;
  using Function = std::function<Result<Value>(const Args&...)>;
  using KeyFunction = std::function<std::string(const Args&...)>;
  using Callback = std::function<void(const Args&...)>;

  struct Options {
    std::string prefix;                     // names the function; required, no spaces
    std::chrono::seconds ttl{300};          // lifetime of stored values (> 0)
    std::chrono::seconds not_found_ttl{0};  // lifetime of kNotFound results; 0 = not stored
    bool store_result = true;               // false: idempotency guard (see the file comment)
    KeyFunction key_fn;                     // optional: the argument part of the key
    Callback on_hit;                        // a cached result was returned (Call or Peek)
    Callback on_miss;                       // the function ran because of a miss (not Refresh)
  };

  // `cache` must outlive this object. `fn` is called without locks held.
  Memoize(Cache& cache, Options options, Function fn)
      : cache_(cache),
        options_(std::move(options)),
        fn_(std::move(fn)),
        generation_(internal::RandomGeneration()) {
    if constexpr (!(KeyPartable<Args> && ...)) {
      if (!options_.key_fn) {
        std::fprintf(stderr, "Memoize(%s): arguments without KeyPart need Options::key_fn\n",
                     options_.prefix.c_str());
        std::abort();
      }
    }
  }
  Memoize(const Memoize&) = delete;
  Memoize& operator=(const Memoize&) = delete;

  // The cached result, or the function's result (stored as the Options say).
  Result<Value> operator()(const Args&... args) { return Call(args...); }
  Result<Value> Call(const Args&... args) {
    std::string key = KeyFor(args...);
    if (auto cached = Lookup(key)) {
      if (options_.on_hit) options_.on_hit(args...);
      return std::move(*cached);
    }
    return SingleFlight(key, args...);
  }

  // Recomputes and stores (the `_refresh` flag). Not joined with concurrent misses.
  Result<Value> Refresh(const Args&... args) {
    std::string key = KeyFor(args...);
    uint64_t before = invalidations_.load(std::memory_order_acquire);
    Result<Value> r = fn_(args...);
    Store(key, r, before);
    return r;
  }

  // The cached result without calling the function; nullopt on a miss (or a backend error).
  std::optional<Result<Value>> Peek(const Args&... args) {
    auto cached = Lookup(KeyFor(args...));
    if (cached && options_.on_hit) options_.on_hit(args...);
    return cached;
  }

  // Drops exactly the entry of these arguments.
  void Invalidate(const Args&... args) {
    invalidations_.fetch_add(1, std::memory_order_acq_rel);
    (void)cache_.Delete(KeyFor(args...));
  }

  // Makes every entry of this object unreachable (new key generation).
  void InvalidateAll() {
    invalidations_.fetch_add(1, std::memory_order_acq_rel);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

  std::string KeyFor(const Args&... args) const {
    std::string key = options_.prefix;
    key += ':';
    key += std::to_string(generation_.load(std::memory_order_acquire));
    key += ':';
    if (options_.key_fn) {
      key += options_.key_fn(args...);
    } else if constexpr ((KeyPartable<Args> && ...)) {
      bool first = true;
      ((key += (first ? "" : ":"), key += KeyPart(args), first = false), ...);
    }
    return SafeCacheKey(key);
  }

  const Options& options() const { return options_; }

 private:
  // Stored forms: 'V' + encoded value, 'N' + not-found message, 'C' (store_result=false marker).
  std::optional<Result<Value>> Lookup(const std::string& key) {
    auto got = cache_.Get(key);
    if (!got.ok() || !got->has_value()) return std::nullopt;
    std::string_view s = **got;
    if (s.empty()) return std::nullopt;
    std::string_view payload = s.substr(1);
    switch (s[0]) {
      case 'V':
        if (!options_.store_result) return std::nullopt;
        if (auto v = ValueCodec::Decode(payload)) return Result<Value>(std::move(*v));
        return std::nullopt;
      case 'N':
        return Result<Value>(NotFound(std::string(payload)));
      case 'C':
        if (options_.store_result) return std::nullopt;
        return Result<Value>(internal::AlreadyCalled(options_.prefix));
      default:
        return std::nullopt;
    }
  }

  void Store(const std::string& key, const Result<Value>& r, uint64_t invalidations_before) {
    if (invalidations_.load(std::memory_order_acquire) != invalidations_before) return;
    if (r.ok()) {
      if (options_.store_result) {
        (void)cache_.Set(key, "V" + ValueCodec::Encode(*r), options_.ttl);
      } else {
        (void)cache_.Set(key, "C", options_.ttl);
      }
    } else if (r.status().code() == StatusCode::kNotFound && options_.not_found_ttl.count() > 0) {
      (void)cache_.Set(key, "N" + r.status().message(), options_.not_found_ttl);
    }
  }

  struct Flight {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<Value>> result;
  };

  Result<Value> SingleFlight(const std::string& key, const Args&... args) {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(flights_mu_);
      auto [it, inserted] = flights_.try_emplace(key);
      if (inserted) it->second = std::make_shared<Flight>();
      flight = it->second;
      leader = inserted;
    }
    if (!leader) {
      std::unique_lock lock(flight->mu);
      flight->cv.wait(lock, [&] { return flight->result.has_value(); });
      return *flight->result;
    }
    // The leader re-checks: a flight that just finished may have stored the value.
    std::optional<Result<Value>> r = Lookup(key);
    if (r) {
      if (options_.on_hit) options_.on_hit(args...);
    } else {
      if (options_.on_miss) options_.on_miss(args...);
      uint64_t before = invalidations_.load(std::memory_order_acquire);
      r.emplace(fn_(args...));
      Store(key, *r, before);
    }
    {
      std::lock_guard lock(flights_mu_);
      flights_.erase(key);
    }
    {
      std::lock_guard lock(flight->mu);
      flight->result = *r;
    }
    flight->cv.notify_all();
    return std::move(*r);
  }

  Cache& cache_;
  const Options options_;
  const Function fn_;
  std::atomic<uint64_t> generation_;
  std::atomic<uint64_t> invalidations_{0};
  std::mutex flights_mu_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace sigil::cache
