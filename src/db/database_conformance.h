// The Database conformance suite: the behaviour every backend must share (migrations, users,
// tokens, upload lifecycle, file uploads and symbol lookups, missing-symbol counting under
// concurrency, queries with filters/sort/pagination, rejected sort injection). A backend's test
// instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, DatabaseConformanceTest,
//       ::testing::Values(DatabaseFactory{"sqlite", [] { return OpenFreshDatabase(); }}),
//       DatabaseFactoryName);
//
// and links the OBJECT library `sigil_db_conformance` (its TEST_Ps register at static init).
// Each test calls the factory once and expects an empty, not yet migrated database; the fixture
// migrates it in SetUp.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "db/database.h"

namespace sigil::db::testing {

struct DatabaseFactory {
  std::string name;  // for test names: [A-Za-z0-9_]
  // A fresh, empty database (not migrated). Called once per test, on the test's thread.
  std::function<std::unique_ptr<Database>()> make;
};

inline std::string DatabaseFactoryName(const ::testing::TestParamInfo<DatabaseFactory>& info) {
  return info.param.name;
}

class DatabaseConformanceTest : public ::testing::TestWithParam<DatabaseFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Database& db() { return *db_; }
  // A user to own uploads and tokens.
  User MakeUser(const std::string& email = "owner@example.com");
  // Records stored files with these keys for the upload (RecordStoredFiles, minimal rows).
  Status RecordKeys(int64_t upload_id, const std::vector<std::string>& keys);

  std::unique_ptr<Database> db_;
};

}  // namespace sigil::db::testing
