// http::Server limits: header and body sizes, timeouts, connection limit, authenticate hook.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "common/metrics.h"
#include "http/server.h"
#include "support/http_client.h"
#include "support/raw_socket.h"
#include "support/test_server.h"

namespace sigil::http {
namespace {

using namespace std::chrono_literals;
using test::HttpClient;
using test::RawSocket;
using test::TestServer;

Handler Echo() {
  return [](Request& req, Responder done) {
    done(Response::Text(200, "got " + std::to_string(req.body.size())));
  };
}

TEST(ServerLimitsTest, OversizedHeaderGets431) {
  RouteTable routes;
  routes.Add({"GET"}, "/x", Echo());
  TestServer::Options opts;
  opts.server.max_header_bytes = 1024;
  TestServer server(std::move(routes), opts);
  HttpClient client(server.base_url());
  auto r = client.Get("/x", {{"X-Big", std::string(2000, 'a')}});
  EXPECT_EQ(r.status, 431);
  EXPECT_NE(r.body.find("1024 bytes"), std::string::npos) << r.body;
  EXPECT_EQ(r.Header("Connection"), "close");
  // Just under the limit is fine.
  EXPECT_EQ(client.Get("/x", {{"X-Big", std::string(700, 'a')}}).status, 200);
}

TEST(ServerLimitsTest, OversizedBodyGets413NamingTheLimit) {
  RouteTable routes;
  routes.Add({"POST"}, "/default", Echo());
  RouteOptions small;
  small.max_body_bytes = 100;
  routes.Add({"POST"}, "/small", Echo(), small);
  TestServer::Options opts;
  opts.server.max_body_bytes = 1000;
  TestServer server(std::move(routes), opts);
  HttpClient client(server.base_url());
  auto r = client.Post("/default", std::string(1001, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body,
            "{\"error\": \"Payload Too Large: the request body exceeds the limit of 1000 bytes\"}");
  EXPECT_EQ(client.Post("/default", std::string(1000, 'x')).body, "got 1000");
  r = client.Post("/small", std::string(101, 'x'));
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("limit of 100 bytes"), std::string::npos);
  // Chunked bodies have no Content-Length: the limit is enforced while reading.
  r = client.Send(
      {.method = "POST", .path = "/small", .body = std::string(5000, 'y'), .chunked = true});
  EXPECT_EQ(r.status, 413);
  r = client.Send(
      {.method = "POST", .path = "/small", .body = std::string(100, 'y'), .chunked = true});
  EXPECT_EQ(r.body, "got 100");
}

TEST(ServerLimitsTest, SlowHeaderIsCutOffByReadTimeout) {
  RouteTable routes;
  routes.Add({"GET"}, "/x", Echo());
  TestServer::Options opts;
  opts.server.read_timeout = 300ms;
  opts.server.idle_timeout = 10s;
  TestServer server(std::move(routes), opts);
  RawSocket sock(server.port());
  ASSERT_TRUE(sock.Send("GET /x HTTP/1.1\r\nHost: x\r\n"));  // header never finishes
  auto start = std::chrono::steady_clock::now();
  std::string raw;
  // Keep trickling bytes: progress does not extend a header's deadline.
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(50ms);
    sock.Send("X");
  }
  EXPECT_TRUE(sock.WaitForClose(3000ms, &raw));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_EQ(raw.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << raw;
}

TEST(ServerLimitsTest, StalledBodyIsCutOffByReadTimeout) {
  RouteTable routes;
  routes.Add({"POST"}, "/x", Echo());
  TestServer::Options opts;
  opts.server.read_timeout = 300ms;
  TestServer server(std::move(routes), opts);
  RawSocket sock(server.port());
  ASSERT_TRUE(sock.Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-a-part"));
  std::string raw;
  EXPECT_TRUE(sock.WaitForClose(3000ms, &raw));
  EXPECT_EQ(raw.rfind("HTTP/1.1 408", 0), 0u) << raw;
}

TEST(ServerLimitsTest, IdleConnectionsAreClosed) {
  RouteTable routes;
  routes.Add({"GET"}, "/x", Echo());
  TestServer::Options opts;
  opts.server.idle_timeout = 300ms;
  opts.server.read_timeout = 10s;
  TestServer server(std::move(routes), opts);
  {
    // Never sends anything.
    RawSocket sock(server.port());
    auto start = std::chrono::steady_clock::now();
    std::string raw;
    EXPECT_TRUE(sock.WaitForClose(3000ms, &raw));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
    EXPECT_EQ(raw, "");  // closed silently
  }
  {
    // Idle after a request (keep-alive).
    RawSocket sock(server.port());
    ASSERT_TRUE(sock.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string raw;
    EXPECT_TRUE(sock.WaitForClose(3000ms, &raw));
    EXPECT_EQ(test::CountCompleteResponses(raw), 1);
  }
}

TEST(ServerLimitsTest, ExcessConnectionsAreClosedAndCounted) {
  Metrics metrics;
  RouteTable routes;
  routes.Add({"GET"}, "/x", Echo());
  TestServer::Options opts;
  opts.server.max_connections = 2;
  opts.metrics = &metrics;
  TestServer server(std::move(routes), opts);
  RawSocket a(server.port()), b(server.port());
  for (RawSocket* s : {&a, &b}) {
    ASSERT_TRUE(s->Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(test::CountCompleteResponses(s->ReadResponses(1, 2000ms)), 1);
  }
  RawSocket c(server.port());
  ASSERT_TRUE(c.connected());  // the kernel accepts; the server closes it at once
  c.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string raw;
  EXPECT_TRUE(c.WaitForClose(2000ms, &raw));
  EXPECT_EQ(raw, "");
  EXPECT_NE(metrics.RenderPrometheus().find("http_rejected_connections_total 1\n"),
            std::string::npos);
  // Once one closes, a new connection is served.
  a.ShutdownWrite();
  EXPECT_TRUE(a.WaitForClose(2000ms));
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    RawSocket d(server.port());
    d.Send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    served = test::CountCompleteResponses(d.ReadResponses(1, 500ms)) == 1;
  }
  EXPECT_TRUE(served);
}

// The authenticate hook runs before the body is read; rejections drain small bodies (the connection
// stays usable) and close after large ones.
TEST(ServerLimitsTest, AuthenticateHookRunsBeforeTheBody) {
  std::atomic<int> handler_calls{0};
  RouteTable routes;
  RouteOptions auth;
  auth.authenticate = [](Request& req) -> std::optional<Response> {
    auto token = req.Header("Auth-Token");
    if (!token || *token != "good") {
      return Response::Error(403, "This requires an Auth-Token to authenticate the request");
    }
    Principal p;
    p.email = "user@example.com";
    p.permissions = {"upload_symbols"};
    req.principal = p;
    return std::nullopt;
  };
  routes.Add(
      {"POST"}, "/upload/",
      [&](Request& req, Responder done) {
        handler_calls++;
        done(Response::Text(200, req.principal
                                     ? req.principal->email + " " + std::to_string(req.body.size())
                                     : "no principal"));
      },
      auth);
  TestServer server(std::move(routes));

  HttpClient client(server.base_url());
  auto r = client.Post("/upload/", "small body", {{"Auth-Token", "good"}});
  EXPECT_EQ(r.body, "user@example.com 10");

  // Small body: drained, keep-alive.
  RawSocket sock(server.port());
  ASSERT_TRUE(sock.Send(
      "POST /upload/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "POST /upload/ HTTP/1.1\r\nHost: x\r\nAuth-Token: good\r\nContent-Length: 2\r\n\r\nok"));
  std::string raw = sock.ReadResponses(2, 3000ms);
  ASSERT_EQ(test::CountCompleteResponses(raw), 2) << raw;
  EXPECT_EQ(raw.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_NE(raw.find("{\"error\": \"This requires an Auth-Token to authenticate the request\"}"),
            std::string::npos);
  EXPECT_NE(raw.find("user@example.com 2"), std::string::npos);

  // Large body (over 64 KB): answered at once, then the connection closes.
  RawSocket big(server.port());
  ASSERT_TRUE(big.Send("POST /upload/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"));
  std::string raw2;
  EXPECT_TRUE(big.WaitForClose(3000ms, &raw2));
  EXPECT_EQ(raw2.rfind("HTTP/1.1 403", 0), 0u) << raw2;
  EXPECT_NE(raw2.find("Connection: close\r\n"), std::string::npos);

  // Expect: 100-continue: the rejected client never has to send its body.
  r = client.Send({.method = "POST",
                   .path = "/upload/",
                   .headers = {{"Expect", "100-continue"}},
                   .body = std::string(3 << 20, 'z')});
  EXPECT_EQ(r.status, 403);
  r = client.Send({.method = "POST",
                   .path = "/upload/",
                   .headers = {{"Expect", "100-continue"}, {"Auth-Token", "good"}},
                   .body = std::string(3 << 20, 'z')});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "user@example.com 3145728");
  EXPECT_EQ(handler_calls.load(), 3);
}

TEST(ServerLimitsTest, AuthenticateOnFullPoolAnswers503) {
  std::atomic<bool> release{false};
  std::atomic<int> started{0};
  RouteTable routes;
  routes.Add({"GET"}, "/block", [&](Request&, Responder done) {
    started++;
    while (!release) std::this_thread::sleep_for(1ms);
    done(Response::Text(200, "ok"));
  });
  RouteOptions auth;
  auth.authenticate = [](Request&) -> std::optional<Response> { return std::nullopt; };
  routes.Add({"POST"}, "/upload/", Echo(), auth);
  TestServer::Options opts;
  opts.worker_threads = 1;
  opts.worker_queue = 1;
  TestServer server(std::move(routes), opts);
  std::thread t1([&] { HttpClient(server.base_url()).Get("/block"); });
  while (started == 0) std::this_thread::sleep_for(1ms);
  std::thread t2([&] { HttpClient(server.base_url()).Get("/block"); });
  while (server.pool().queue_depth() == 0) std::this_thread::sleep_for(1ms);
  HttpClient client(server.base_url());
  auto r = client.Post("/upload/", "body");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "1");
  release = true;
  t1.join();
  t2.join();
  EXPECT_EQ(client.Post("/upload/", "body").body, "got 4");
}

TEST(ServerLimitsTest, UnsupportedExpectationGets417) {
  RouteTable routes;
  routes.Add({"POST"}, "/x", Echo());
  TestServer server(std::move(routes));
  RawSocket sock(server.port());
  ASSERT_TRUE(
      sock.Send("POST /x HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 3\r\n\r\nabc"
                "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string raw = sock.ReadResponses(2, 3000ms);
  EXPECT_EQ(raw.rfind("HTTP/1.1 417", 0), 0u) << raw;
  EXPECT_NE(raw.find("HTTP/1.1 405"), std::string::npos) << raw;
}

}  // namespace
}  // namespace sigil::http
