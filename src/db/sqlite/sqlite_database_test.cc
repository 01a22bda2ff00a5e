#include "db/sqlite/sqlite_database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "db/database_conformance.h"
#include "support/temp_dir.h"

namespace sigil::db::sqlite {
namespace {

namespace stdfs = std::filesystem;
using ::testing::IsSupersetOf;

// A directory for the conformance suite's factories (what they open outlives the factory call),
// removed when the test program ends.
std::string SuiteDir() {
  static std::vector<std::unique_ptr<test::TempDir>> dirs;
  return dirs.emplace_back(std::make_unique<test::TempDir>("sigil-sqlite"))->path();
}

std::unique_ptr<Database> OpenOrNull(const std::string& path) {
  Result<std::unique_ptr<Database>> db = OpenSqliteDatabase(path);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

using db::testing::DatabaseConformanceTest;
using db::testing::DatabaseFactory;
INSTANTIATE_TEST_SUITE_P(
    Sqlite, DatabaseConformanceTest,
    ::testing::Values(DatabaseFactory{"file", [] { return OpenOrNull(SuiteDir() + "/s.db"); }},
                      DatabaseFactory{"memory", [] { return OpenOrNull(":memory:"); }}),
    db::testing::DatabaseFactoryName);

// Rows of a query on a raw connection, as "a|b|c" strings.
std::vector<std::string> RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    ADD_FAILURE() << "cannot open " << path;
    return rows;
  }
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(raw, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  while (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      if (i > 0) row += '|';
      const unsigned char* text = sqlite3_column_text(stmt, i);
      row += text != nullptr ? reinterpret_cast<const char*>(text) : "NULL";
    }
    rows.push_back(row);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return rows;
}

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  test::TempDir temp_{"sigil-sqlite"};
  const std::string dir_ = temp_.path();
  const std::string path_ = dir_ + "/nested/dir/sigil.db";
};

TEST_F(SqliteDatabaseTest, FileInWalModeWithSchemaAndIndexes) {
  std::unique_ptr<Database> db = OpenOrNull(path_);  // creates the parent directories
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->Name(), "sqlite");
  ASSERT_TRUE(db->Migrate().ok());
  ASSERT_TRUE(db->CreateUser("wal@example.com", {}).ok());
  EXPECT_TRUE(stdfs::exists(path_));
  EXPECT_TRUE(stdfs::exists(path_ + "-wal"));
  EXPECT_EQ(RawQuery(path_, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_THAT(RawQuery(path_, "SELECT name FROM sqlite_master WHERE type = 'table'"),
              IsSupersetOf({"schema_migrations", "users", "tokens", "uploads", "upload_keys",
                            "file_uploads", "missing_symbols"}));
  EXPECT_THAT(RawQuery(path_, "SELECT name FROM sqlite_master WHERE type = 'index'"),
              IsSupersetOf({"tokens_key_hash", "file_uploads_debug", "file_uploads_code",
                            "missing_symbols_hash", "missing_symbols_modified_at"}));
  // Uniqueness is enforced by the schema itself.
  EXPECT_EQ(RawQuery(path_,
                     "SELECT \"unique\" FROM pragma_index_list('tokens') "
                     "WHERE name = 'tokens_key_hash'"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(RawQuery(path_,
                     "SELECT \"unique\" FROM pragma_index_list('missing_symbols') "
                     "WHERE name = 'missing_symbols_hash'"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(RawQuery(path_, "SELECT version FROM schema_migrations").size(),
            static_cast<size_t>(*db->SchemaVersion()));
}

TEST_F(SqliteDatabaseTest, DataSurvivesReopen) {
  {
    std::unique_ptr<Database> db = OpenOrNull(path_);
    ASSERT_NE(db, nullptr);
    ASSERT_TRUE(db->Migrate().ok());
    ASSERT_TRUE(db->CreateUser("keep@example.com", {"admin"}).ok());
  }
  std::unique_ptr<Database> db = OpenOrNull(path_);
  ASSERT_NE(db, nullptr);
  Result<int> version = db->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_GT(*version, 0);
  ASSERT_TRUE(db->Migrate().ok());
  EXPECT_EQ(*db->SchemaVersion(), *version);
  EXPECT_TRUE(db->GetUserByEmail("keep@example.com").ok());
}

TEST_F(SqliteDatabaseTest, SeveralHandlesMigrateAndWriteTheSameFileConcurrently) {
  // Like several processes on one file: each handle has its own writer connection.
  constexpr int kHandles = 4;
  std::vector<std::unique_ptr<Database>> handles;
  for (int i = 0; i < kHandles; ++i) handles.push_back(OpenOrNull(path_));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kHandles; ++i) {
    threads.emplace_back([&, i] {
      if (!handles[i]->Migrate().ok()) ++failures;
      for (int n = 0; n < 50; ++n) {
        MissingSymbolHit hit;
        hit.debug_file = "x.pdb";
        hit.debug_id = "ID";
        hit.filename = "x.sym";
        hit.hash = MissingSymbolHash(hit);
        if (!handles[i]->RecordMissingSymbols({hit}).ok()) ++failures;
        std::string email = "u" + std::to_string(i) + "-" + std::to_string(n) + "@example.com";
        if (!handles[i]->CreateUser(email, {}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(RawQuery(path_, "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations"),
            std::vector<std::string>{"1|1"});
  EXPECT_EQ(RawQuery(path_, "SELECT count FROM missing_symbols"), std::vector<std::string>{"200"});
  EXPECT_EQ(RawQuery(path_, "SELECT COUNT(*) FROM users"), std::vector<std::string>{"200"});
}

TEST_F(SqliteDatabaseTest, ConcurrentReadersAndWritersOnOneHandle) {
  std::unique_ptr<Database> db = OpenOrNull(path_);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate().ok());
  Result<User> owner = db->CreateUser("owner@example.com", {"upload_symbols"});
  ASSERT_TRUE(owner.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        Token token;
        token.user_id = owner->id;
        token.key_hash = std::to_string(t) + "-" + std::to_string(i);
        token.expires_at = 1;
        if (!db->CreateToken(token).ok()) ++failures;
        Result<TokenWithUser> found = db->FindTokenByHash(token.key_hash);
        if (!found.ok() || found->user.email != "owner@example.com") ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(db->ListTokens()->size(), 800u);
}

TEST_F(SqliteDatabaseTest, NotADatabaseIsUnavailable) {
  stdfs::create_directories(dir_ + "/junk");
  std::ofstream(dir_ + "/junk/file.db") << std::string(8192, 'x');
  Result<std::unique_ptr<Database>> db = OpenSqliteDatabase(dir_ + "/junk/file.db");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(OpenSqliteDatabase("").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigil::db::sqlite
