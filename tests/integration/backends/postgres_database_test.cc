// The PostgreSQL backend against a throwaway PostgreSQL 15 cluster: the shared Database conformance
// suite (TCP and unix socket), concurrent migration from several "nodes", the advisory lock,
// outages and restarts, lock ordering of concurrent UPSERT batches, and what PostgreSQL cannot
// store.
#include "db/postgres/postgres_database.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "db/database_conformance.h"
#include "db/postgres/pg_migrations.h"
#include "integration/support/services.h"

namespace sigil::db::postgres {
namespace {

using sigil::testing::PostgresServer;
using std::chrono::milliseconds;
using std::chrono::seconds;

PostgresServer* server = nullptr;

class PostgresEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto started = PostgresServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
    server = server_.get();
  }
  void TearDown() override {
    server = nullptr;
    server_.reset();
  }

 private:
  std::unique_ptr<PostgresServer> server_;
};
[[maybe_unused]] ::testing::Environment* const kEnv =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);

// A new empty database on the shared cluster; returns its name.
std::string NewDatabaseName() {
  static std::atomic<int> counter{0};
  std::string name = "t" + std::to_string(++counter);
  auto url = server->CreateDatabase(name);
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  return name;
}

std::unique_ptr<Database> MustOpen(const std::string& url, int pool_size = 8) {
  auto db = OpenPostgresDatabase(url, pool_size);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return db.ok() ? std::move(db).value() : nullptr;
}

using sigil::db::testing::DatabaseConformanceTest;
using sigil::db::testing::DatabaseFactory;
INSTANTIATE_TEST_SUITE_P(
    Postgres, DatabaseConformanceTest,
    ::testing::Values(
        DatabaseFactory{"Tcp", [] { return MustOpen(server->TcpUrl(NewDatabaseName())); }},
        DatabaseFactory{"UnixSocket",
                        [] { return MustOpen(server->SocketUrl(NewDatabaseName())); }}),
    sigil::db::testing::DatabaseFactoryName);

// Scalar result of one query run on a raw connection ("" on error).
std::string QueryScalar(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::string out;
  PGresult* res = PQexec(conn, sql.c_str());
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) out = PQgetvalue(res, 0, 0);
  PQclear(res);
  PQfinish(conn);
  return out;
}

TEST(PostgresDatabaseTest, FourNodesMigratingAtOnceMigrateOnce) {
  std::string url = server->TcpUrl(NewDatabaseName());
  constexpr int kNodes = 4;
  std::vector<std::thread> threads;
  std::vector<Status> results(kNodes);
  std::atomic<int> ready{0};
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      // Each "node" opens its own Database (its own pool) and migrates.
      auto db = OpenPostgresDatabase(url, 2);
      if (!db.ok()) {
        results[i] = db.status();
        return;
      }
      ++ready;
      while (ready.load() < kNodes) std::this_thread::yield();
      results[i] = (*db)->Migrate();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kNodes; ++i)
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].ToString();
  auto db = MustOpen(url);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(*db->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(QueryScalar(url, "SELECT count(*) FROM schema_migrations"),
            std::to_string(LatestSchemaVersion()));
  EXPECT_EQ(QueryScalar(url, "SELECT count(*) FROM pg_tables WHERE tablename = 'missing_symbols'"),
            "1");
}

TEST(PostgresDatabaseTest, MigrateWaitsForTheAdvisoryLock) {
  std::string url = server->TcpUrl(NewDatabaseName());
  auto db = MustOpen(url);
  ASSERT_NE(db, nullptr);
  // Another "node" holds the migration lock in an open transaction.
  PGconn* holder = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK);
  PQclear(PQexec(holder, "BEGIN"));
  PGresult* locked = PQexec(
      holder, ("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")").c_str());
  ASSERT_EQ(PQresultStatus(locked), PGRES_TUPLES_OK);
  PQclear(locked);

  auto migrated = std::async(std::launch::async, [&] { return db->Migrate(); });
  EXPECT_EQ(migrated.wait_for(milliseconds(300)), std::future_status::timeout)
      << "Migrate must not run while another node holds the lock";
  EXPECT_EQ(QueryScalar(url, "SELECT to_regclass('users') IS NULL"), "t");
  PQclear(PQexec(holder, "COMMIT"));
  PQfinish(holder);
  Status status = migrated.get();
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(*db->SchemaVersion(), LatestSchemaVersion());
}

TEST(PostgresDatabaseTest, OverlappingBatchesFromManyNodesNeverDeadlock) {
  std::string url = server->TcpUrl(NewDatabaseName());
  auto db = MustOpen(url);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate().ok());
  // Each writer records the same 300 hashes, half of the writers in reverse order: without a lock
  // order, two such transactions lock rows in opposite orders and deadlock.
  std::vector<MissingSymbolHit> hits;
  for (int i = 0; i < 300; ++i) {
    MissingSymbolHit hit;
    hit.debug_file = "lib" + std::to_string(i) + ".pdb";
    hit.debug_id = "ABCDEF";
    hit.filename = "lib" + std::to_string(i) + ".sym";
    hit.seen_at = 1'700'000'000'000'000 + i;
    hit.hash = MissingSymbolHash(hit);
    hits.push_back(hit);
  }
  std::vector<MissingSymbolHit> reversed(hits.rbegin(), hits.rend());
  constexpr int kWriters = 6, kRounds = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      // Separate Database objects: separate pools, like separate nodes.
      auto node = OpenPostgresDatabase(url, 1);
      if (!node.ok()) {
        ++failures;
        return;
      }
      for (int r = 0; r < kRounds; ++r) {
        if (!(*node)->RecordMissingSymbols(w % 2 == 0 ? hits : reversed).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(QueryScalar(url, "SELECT sum(count) FROM missing_symbols"),
            std::to_string(300 * kWriters * kRounds));
  EXPECT_EQ(QueryScalar(url, "SELECT count(DISTINCT count) FROM missing_symbols"), "1");
}

TEST(PostgresDatabaseTest, BatchesLargerThanOneStatementStayAtomicAndExact) {
  std::string url = server->TcpUrl(NewDatabaseName());
  auto db = MustOpen(url);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate().ok());
  std::vector<MissingSymbolHit> hits;
  for (int i = 0; i < 12000; ++i) {  // more than one UPSERT chunk
    MissingSymbolHit hit;
    hit.debug_file = "m" + std::to_string(i % 11000) + ".pdb";  // 1000 hashes appear twice
    hit.debug_id = "01";
    hit.filename = "m.sym";
    hit.count = 2;
    hit.seen_at = 1'700'000'000'000'000 + i;
    hits.push_back(hit);
  }
  ASSERT_TRUE(db->RecordMissingSymbols(hits).ok());
  EXPECT_EQ(QueryScalar(url, "SELECT count(*) FROM missing_symbols"), "11000");
  EXPECT_EQ(QueryScalar(url, "SELECT sum(count) FROM missing_symbols"), "24000");
  EXPECT_EQ(QueryScalar(url, "SELECT count FROM missing_symbols WHERE debug_file = 'm5.pdb'"), "4");
  // One hit of a batch holds text PostgreSQL cannot store: the whole batch is rejected, nothing
  // written.
  std::vector<MissingSymbolHit> poisoned(hits.begin(), hits.begin() + 6000);
  poisoned.back().debug_file = std::string("bad\0nul", 7);
  poisoned.back().hash.clear();
  EXPECT_EQ(db->RecordMissingSymbols(poisoned).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(QueryScalar(url, "SELECT sum(count) FROM missing_symbols"), "24000");
}

TEST(PostgresDatabaseTest, HitsWithoutATimeAreStampedByTheDatabaseClock) {
  std::string url = server->TcpUrl(NewDatabaseName());
  auto db = MustOpen(url);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate().ok());
  MissingSymbolHit hit;
  hit.debug_file = "now.pdb";
  hit.debug_id = "01";
  hit.filename = "now.sym";
  TimestampMicros before = NowMicros();
  ASSERT_TRUE(db->RecordMissingSymbols({hit}).ok());
  TimestampMicros after = NowMicros();
  MissingSymbolQuery query;
  auto page = db->QueryMissingSymbols(query);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->rows.size(), 1u);
  // Same machine, same clock: the database's clock_timestamp() falls between the two readings.
  EXPECT_GE(page->rows[0].modified_at, before - 1000);
  EXPECT_LE(page->rows[0].modified_at, after + 1000);
  EXPECT_EQ(page->rows[0].created_at, page->rows[0].modified_at);
}

TEST(PostgresDatabaseTest, TextPostgresCannotStoreIsInvalidArgument) {
  auto db = MustOpen(server->TcpUrl(NewDatabaseName()));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate().ok());
  auto nul = db->CreateUser(std::string("a\0b@example.com", 15), {});
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument) << nul.status().ToString();
  auto bad_utf8 = db->CreateUser("\xff\xfe@example.com", {});
  EXPECT_EQ(bad_utf8.status().code(), StatusCode::kInvalidArgument) << bad_utf8.status().ToString();
  // Nothing was half-written, and the pool is healthy.
  EXPECT_EQ(db->GetUserByEmail("a").status().code(), StatusCode::kNotFound);
  auto ok = db->CreateUser("ünïcödé@example.com", {"a,b", "q\"uote", "{x}", ""});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto back = db->GetUser(ok->id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->email, "ünïcödé@example.com");
  EXPECT_EQ(back->permissions, (std::vector<std::string>{"", "a,b", "q\"uote", "{x}"}));
}

TEST(PostgresDatabaseTest, BadUrlsAndUnreachableServers) {
  EXPECT_EQ(OpenPostgresDatabase("mysql://x/y", 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPostgresDatabase("postgresql://h/db?nonsense=1", 2).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenPostgresDatabase(server->TcpUrl("postgres"), 0).status().code(),
            StatusCode::kInvalidArgument);
  int port = sigil::testing::FreeLoopbackPort();
  auto down =
      OpenPostgresDatabase("postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/x", 2);
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.status().message().find("password"), std::string::npos);
  // libpq's own message spans lines; sigil's errors are one line (startup errors, log entries).
  EXPECT_EQ(down.status().message().find('\n'), std::string::npos) << down.status().message();
  EXPECT_NE(down.status().message().find("Is the server running"), std::string::npos)
      << "libpq's hint is kept: " << down.status().message();
  auto no_db = OpenPostgresDatabase(server->TcpUrl("does_not_exist"), 2);
  EXPECT_EQ(no_db.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(no_db.status().message().find("does_not_exist"), std::string::npos)
      << no_db.status().message();
}

// Last: restarts the shared cluster.
TEST(PostgresDatabaseTest, ZZRestartIsSurvivedOutageIsUnavailable) {
  std::string url = server->TcpUrl(NewDatabaseName());
  auto db = MustOpen(url, 4);
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->Migrate().ok());
  auto user = db->CreateUser("before@example.com", {"a"});
  ASSERT_TRUE(user.ok());
  // Warm several pooled connections.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) EXPECT_TRUE(db->GetUser(user->id).ok());
    });
  }
  for (auto& t : threads) t.join();

  // A restart the pool did not see: the first write and the first read still succeed (the dead
  // pooled connections are replaced), and the data survived.
  server->Kill();
  ASSERT_TRUE(server->Restart().ok());
  // The write first: an autocommit write is never retried, so this needs the pool to have noticed
  // the closed connections before sending anything.
  auto write = db->CreateUser("after@example.com", {});
  ASSERT_TRUE(write.ok()) << write.status().ToString();
  auto read = db->GetUser(user->id);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->email, "before@example.com");

  // An outage: kUnavailable, fast (the bound is generous: it guards against hanging, not speed).
  server->Kill();
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(db->Ping().code(), StatusCode::kUnavailable);
  EXPECT_EQ(db->GetUser(user->id).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(db->CreateUser("during@example.com", {}).status().code(), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(10));
  ASSERT_TRUE(server->Restart().ok());
  bool back = false;
  for (int i = 0; i < 200 && !back; ++i) {
    back = db->Ping().ok();
    if (!back) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(back);
  EXPECT_TRUE(db->GetUserByEmail("after@example.com").ok());
  EXPECT_EQ(db->GetUserByEmail("during@example.com").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sigil::db::postgres
