// The throwaway-server helpers themselves: each server answers, survives a kill/restart cycle on
// the same address, and leaves nothing behind.
#include "integration/support/services.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

namespace sigil::testing {
namespace {

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

bool PgAnswers(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* res = PQexec(conn, "SELECT 1");
    ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
  }
  PQfinish(conn);
  return ok;
}

TEST(ServicesTest, PostgresStartsCreatesDatabaseRestartsAndCleansUp) {
  std::string dir;
  {
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    dir = (*pg)->socket_dir();
    auto url = (*pg)->CreateDatabase("things");
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    EXPECT_TRUE(PgAnswers(*url));
    EXPECT_TRUE(PgAnswers((*pg)->SocketUrl("things")));
    EXPECT_FALSE((*pg)->CreateDatabase("Bad-Name").ok());
    ASSERT_TRUE((*pg)->Execute("things", "CREATE TABLE t (x int); INSERT INTO t VALUES (1)").ok());

    (*pg)->Kill();
    EXPECT_FALSE(PgAnswers(*url));
    ASSERT_TRUE((*pg)->Restart().ok());
    EXPECT_TRUE(PgAnswers(*url));
    EXPECT_TRUE((*pg)->Execute("things", "SELECT x FROM t").ok()) << "data survives a restart";
  }
  EXPECT_FALSE(Exists(dir));
}

TEST(ServicesTest, RedisStartsKillsAndRestartsOnTheSamePort) {
  std::string dir;
  {
    auto redis = RedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status().ToString();
    EXPECT_GT((*redis)->port(), 0);
    EXPECT_EQ((*redis)->Url(2), "redis://127.0.0.1:" + std::to_string((*redis)->port()) + "/2");
    EXPECT_TRUE(Exists((*redis)->socket_path()));
    int port = (*redis)->port();
    (*redis)->Kill();
    ASSERT_TRUE((*redis)->Restart().ok());
    EXPECT_EQ((*redis)->port(), port);
    dir = (*redis)->socket_path();
  }
  EXPECT_FALSE(Exists(dir));
}

TEST(ServicesTest, MemcachedTcpAndUnix) {
  auto tcp = MemcachedServer::Start();
  ASSERT_TRUE(tcp.ok()) << tcp.status().ToString();
  EXPECT_EQ((*tcp)->Url(), "memcached://127.0.0.1:" + std::to_string((*tcp)->port()));
  (*tcp)->Kill();
  ASSERT_TRUE((*tcp)->Restart().ok());

  auto unix_server = MemcachedServer::Start(/*unix_socket=*/true);
  ASSERT_TRUE(unix_server.ok()) << unix_server.status().ToString();
  EXPECT_EQ((*unix_server)->Url(), "memcached+unix://" + (*unix_server)->socket_path());
  EXPECT_TRUE(Exists((*unix_server)->socket_path()));
}

}  // namespace
}  // namespace sigil::testing
