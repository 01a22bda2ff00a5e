// The behaviour every Cache backend must show, as a value-parameterized gtest suite. A backend's
// test instantiates it with a factory (which may start a server and must return a fresh, empty
// cache):
//
//   INSTANTIATE_TEST_SUITE_P(Memory, CacheConformanceTest,
//       ::testing::Values(sigil::cache::testing::CacheFactory{"memory", [] { return
//       MakeMemoryCache(1 << 20); }}), sigil::cache::testing::FactoryName);
//
// Link the object library sigil_cache_conformance (its TEST_Ps register at static initialisation).
// The suite takes about 2.5 s (one TTL-expiry wait, shared by all TTL checks).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "cache/cache.h"

namespace sigil::cache::testing {

struct CacheFactory {
  std::string name;  // test-name suffix: [A-Za-z0-9_]
  std::function<std::unique_ptr<Cache>()> make;
};

// For INSTANTIATE_TEST_SUITE_P's name generator.
std::string FactoryName(const ::testing::TestParamInfo<CacheFactory>& info);

class CacheConformanceTest : public ::testing::TestWithParam<CacheFactory> {
 protected:
  void SetUp() override;
  // Unique per test, so backends that share a server across tests do not see each other's keys.
  std::string Key(const std::string& suffix) const;

  std::unique_ptr<Cache> cache_;
  std::string prefix_;
};

}  // namespace sigil::cache::testing
