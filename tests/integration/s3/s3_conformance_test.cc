// The shared ObjectStore conformance suite (storage/object_store_conformance.h) on the S3 backend,
// against s3rver on loopback. Every factory call gets a fresh key prefix, i.e. an empty store.
#include <gtest/gtest.h>

#include <atomic>

#include "integration/support/s3rver.h"
#include "storage/object_store_conformance.h"
#include "storage/s3/s3_object_store.h"

namespace sigil::storage::s3 {
namespace {

using sigil::testing::S3rver;
using sigil::testing::S3rverOptions;
using storage::testing::ObjectStoreConformanceTest;
using storage::testing::ObjectStoreFactory;
using storage::testing::ObjectStoreFactoryName;

S3rver* g_server = nullptr;

// Starts s3rver before the first test and stops it after the last.
class S3rverEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto server = S3rver::Start(S3rverOptions{});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    g_server = std::move(*server).release();
  }
  void TearDown() override {
    delete g_server;
    g_server = nullptr;
  }
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new S3rverEnvironment);

std::unique_ptr<ObjectStore> MakeStore() {
  static std::atomic<int> counter{0};
  if (g_server == nullptr) return nullptr;
  S3Options o;
  o.bucket = g_server->bucket();
  o.endpoint = g_server->endpoint();
  o.prefix = "conformance/" + std::to_string(counter++);
  o.credentials = {S3rver::kAccessKeyId, S3rver::kSecretAccessKey, ""};
  // Small parts so the suite's 20 MiB PutFile goes through the multipart path.
  o.multipart_threshold = 8 << 20;
  o.part_size = 5 << 20;
  return std::make_unique<S3ObjectStore>(o);
}

INSTANTIATE_TEST_SUITE_P(S3rver, ObjectStoreConformanceTest,
                         ::testing::Values(ObjectStoreFactory{"s3rver", MakeStore}),
                         ObjectStoreFactoryName);

}  // namespace
}  // namespace sigil::storage::s3
