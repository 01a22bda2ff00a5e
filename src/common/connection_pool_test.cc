#include "common/connection_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace sigil {
namespace {

struct FakeConn {
  int id = 0;
  bool dead = false;  // seen by the alive check
  bool broken_ = false;
  bool broken() const { return broken_; }
};

// A connector whose outcome the test controls; counts attempts.
struct FakeServer {
  std::atomic<bool> up{true};
  std::atomic<int> connects{0};
  ConnectionPool<FakeConn>::Connector Connector() {
    return [this]() -> Result<std::unique_ptr<FakeConn>> {
      int id = ++connects;
      if (!up) return Unavailable("fake: connection refused");
      auto conn = std::make_unique<FakeConn>();
      conn->id = id;
      return conn;
    };
  }
};

ConnectionPoolOptions Options(int max_size) {
  ConnectionPoolOptions options;
  options.max_size = max_size;
  options.acquire_timeout = std::chrono::milliseconds(50);
  options.retry_interval = std::chrono::milliseconds(300);
  options.probe_hold = std::chrono::milliseconds(100);
  options.name = "fake";
  options.down_note = "down; ";
  return options;
}

TEST(ConnectionPoolTest, ReusesReturnedConnections) {
  FakeServer server;
  ConnectionPool<FakeConn> pool(Options(2), server.Connector());
  auto a = pool.Acquire();
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->fresh);
  int id = a->conn->id;
  pool.Release(std::move(a).value());
  auto b = pool.Acquire();
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->fresh);
  EXPECT_EQ(b->conn->id, id);
  EXPECT_EQ(server.connects, 1);
  EXPECT_EQ(pool.open_connections(), 1);
  pool.Release(std::move(b).value());
}

TEST(ConnectionPoolTest, TimesOutWhenAllConnectionsAreBusy) {
  FakeServer server;
  ConnectionPool<FakeConn> pool(Options(1), server.Connector());
  auto held = pool.Acquire();
  ASSERT_TRUE(held.ok());
  auto busy = pool.Acquire();
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(busy.status().message(), "fake: all 1 connections busy for 50 ms");

  pool.Release(std::move(held).value());
}

TEST(ConnectionPoolTest, AWaiterGetsTheConnectionReleasedMeanwhile) {
  FakeServer server;
  ConnectionPoolOptions options = Options(1);
  options.acquire_timeout = std::chrono::seconds(30);
  ConnectionPool<FakeConn> pool(options, server.Connector());
  auto held = pool.Acquire();
  ASSERT_TRUE(held.ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pool.Release(std::move(held).value());
  });
  auto waited = pool.Acquire();
  releaser.join();
  ASSERT_TRUE(waited.ok()) << waited.status().message();
  EXPECT_FALSE(waited->fresh);
  EXPECT_EQ(server.connects, 1);
  pool.Release(std::move(waited).value());
}

TEST(ConnectionPoolTest, DiscardsBrokenAndDeadConnections) {
  FakeServer server;
  ConnectionPool<FakeConn> pool(Options(3), server.Connector(),
                                [](FakeConn& conn) { return !conn.dead; });
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  a->conn->broken_ = true;
  pool.Release(std::move(a).value());  // broken: closed
  EXPECT_EQ(pool.open_connections(), 1);
  b->conn->dead = true;
  pool.Release(std::move(b).value());  // kept idle, found dead on checkout
  EXPECT_EQ(pool.open_connections(), 1);
  auto c = pool.Acquire();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->fresh);
  EXPECT_EQ(c->conn->id, 3);
  EXPECT_EQ(pool.open_connections(), 1);
  pool.Release(std::move(c).value());
}

TEST(ConnectionPoolTest, DropIdleClosesIdleAndStaleLeases) {
  FakeServer server;
  ConnectionPool<FakeConn> pool(Options(3), server.Connector());
  auto a = pool.Acquire();
  auto b = pool.Acquire();
  ASSERT_TRUE(a.ok() && b.ok());
  pool.Release(std::move(a).value());
  pool.DropIdle(nullptr);
  EXPECT_EQ(pool.open_connections(), 1);
  pool.Release(std::move(b).value());  // leased before the drop: stale generation
  EXPECT_EQ(pool.open_connections(), 0);
  auto c = pool.Acquire();  // no outage: a drop alone does not fail callers
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->fresh);
  pool.Release(std::move(c).value());
}

TEST(ConnectionPoolTest, FailedConnectStartsAnOutageThenOneProbeEndsIt) {
  FakeServer server;
  ConnectionPool<FakeConn> pool(Options(2), server.Connector());
  server.up = false;
  auto first = pool.Acquire();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().message(), "fake: connection refused");
  EXPECT_EQ(pool.open_connections(), 0);

  // Within the window: fails fast without a connect attempt.
  auto fast = pool.Acquire();
  ASSERT_FALSE(fast.ok());
  EXPECT_EQ(fast.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(fast.status().message().find("fake: connection refused (down; next attempt in "),
            std::string::npos)
      << fast.status().message();
  EXPECT_EQ(server.connects, 1);

  // ignore_outage tries anyway.
  auto forced = pool.Acquire(/*ignore_outage=*/true);
  EXPECT_FALSE(forced.ok());
  EXPECT_EQ(server.connects, 2);

  // After the window a probe connects and ends the outage.
  server.up = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  auto probe = pool.Acquire();
  ASSERT_TRUE(probe.ok()) << probe.status().message();
  auto next = pool.Acquire();
  ASSERT_TRUE(next.ok()) << next.status().message();
  pool.Release(std::move(probe).value());
  pool.Release(std::move(next).value());
  EXPECT_EQ(pool.open_connections(), 2);
}

}  // namespace
}  // namespace sigil
