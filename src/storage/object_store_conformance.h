// The ObjectStore conformance suite: the behaviour every backend must share (put/get/head/exists/
// delete/list, metadata and content encoding, large streamed objects, overwrite, concurrent
// writers, invalid keys, absent keys). A backend's test instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Fs, ObjectStoreConformanceTest,
//       ::testing::Values(ObjectStoreFactory{"fs", [] { return MakeStoreSomehow(); }}),
//       ObjectStoreFactoryName);
//
// and links the OBJECT library `sigil_storage_conformance` (its TEST_Ps register at static init).
// Each test calls the factory once and expects an empty store.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace sigil::storage::testing {

struct ObjectStoreFactory {
  std::string name;  // for test names: [A-Za-z0-9_]
  // A fresh, empty store. Called once per test, on the test's thread.
  std::function<std::unique_ptr<ObjectStore>()> make;
};

inline std::string ObjectStoreFactoryName(
    const ::testing::TestParamInfo<ObjectStoreFactory>& info) {
  return info.param.name;
}

class ObjectStoreConformanceTest : public ::testing::TestWithParam<ObjectStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  ObjectStore& store() { return *store_; }

  std::unique_ptr<ObjectStore> store_;
};

}  // namespace sigil::storage::testing
