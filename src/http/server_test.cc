// http::Server over loopback: routing, keep-alive, pipelining, response kinds, request ids,
// metrics, access log, worker-pool overload and graceful shutdown.
#include "http/server.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "common/metrics.h"
#include "support/http_client.h"
#include "support/raw_socket.h"
#include "support/temp_dir.h"
#include "support/test_server.h"

namespace sigil::http {
namespace {

using namespace std::chrono_literals;
using test::HttpClient;
using test::RawSocket;
using test::TestServer;

// A gate handlers can wait on (tests open it).
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool WaitOpen(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

bool WaitUntil(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

Handler TextHandler(std::string text) {
  return [text](Request&, Responder done) { done(Response::Text(200, text)); };
}

TEST(ServerTest, ServesGetWithStandardHeaders) {
  RouteTable routes;
  routes.Add({"GET"}, "/hello", TextHandler("hello world"));
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello world");
  EXPECT_EQ(r.Header("Server"), "sigil");
  EXPECT_TRUE(r.Header("Date").has_value());
  EXPECT_EQ(r.Header("Content-Length"), "11");
  EXPECT_EQ(r.Header("Content-Type"), "text/plain; charset=utf-8");
  ASSERT_TRUE(r.Header("X-Request-Id").has_value());
  EXPECT_FALSE(r.Header("X-Request-Id")->empty());
  // A second request gets a different generated id.
  auto r2 = client.Get("/hello");
  EXPECT_NE(r2.Header("X-Request-Id"), r.Header("X-Request-Id"));
  EXPECT_NE(server.base_url().find("127.0.0.1:"), std::string::npos);
  EXPECT_GT(server.port(), 0);
}

TEST(ServerTest, EchoesSanitisedRequestId) {
  RouteTable routes;
  routes.Add({"GET"}, "/id",
             [](Request& req, Responder done) { done(Response::Text(200, req.request_id)); });
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/id", {{"X-Request-Id", "abc-123_x.y"}});
  EXPECT_EQ(r.Header("X-Request-Id"), "abc-123_x.y");
  EXPECT_EQ(r.body, "abc-123_x.y");
  r = client.Get("/id", {{"X-Request-Id", "a<b>c\"d e"}});
  EXPECT_EQ(r.Header("X-Request-Id"), "abcde");
  r = client.Get("/id", {{"X-Request-Id", std::string(100, 'z')}});
  EXPECT_EQ(r.Header("X-Request-Id"), std::string(64, 'z'));
  r = client.Get("/id", {{"X-Request-Id", "<>"}});  // nothing usable: generated
  ASSERT_TRUE(r.Header("X-Request-Id").has_value());
  EXPECT_FALSE(r.Header("X-Request-Id")->empty());
  EXPECT_NE(r.Header("X-Request-Id"), "<>");
}

TEST(ServerTest, NotFoundAndMethodNotAllowed) {
  RouteTable routes;
  routes.Add({"POST"}, "/upload/", TextHandler("uploaded"));
  routes.Add({"GET", "HEAD"}, "/{a}/{b}/{c}", TextHandler("download"));
  routes.Add({"GET"}, "/api/missingsymbols/", TextHandler("missing"));
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());

  auto r = client.Get("/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\": \"Not Found\"}");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");

  r = client.Get("/upload/");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "POST");
  EXPECT_EQ(r.body, "{\"error\": \"Method Not Allowed (GET): /upload/\"}");

  r = client.Send({.method = "DELETE", .path = "/x/y/z"});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET, HEAD");
  EXPECT_EQ(r.body, "{\"error\": \"Method Not Allowed (DELETE): /x/y/z\"}");

  EXPECT_EQ(client.Get("/api/missingsymbols/").body, "missing");
  EXPECT_EQ(client.Get("/api/missingsymbols/x").body, "download");
  EXPECT_EQ(client.Post("/upload/", "data").body, "uploaded");
}

TEST(ServerTest, PathParamsQueryAndDecoding) {
  RouteTable routes;
  routes.Add({"GET"}, "/{debug_file}/{debug_id}/{file}", [](Request& req, Responder done) {
    done(Response::Text(200, req.params["debug_file"] + "|" + req.params["debug_id"] + "|" +
                                 req.params["file"] + "|" + req.path + "|" + req.query + "|" +
                                 req.QueryParam("code_file").value_or("-")));
  });
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/xul%20x.pdb/ABC/xul.sym?code_file=a+b%2Fc&x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "xul x.pdb|ABC|xul.sym|/xul x.pdb/ABC/xul.sym|code_file=a+b%2Fc&x=1|a b/c");
  r = client.Get("/bad%zz/ABC/x.sym");
  EXPECT_EQ(r.status, 400);
  r = client.Get("/nul%00/ABC/x.sym");
  EXPECT_EQ(r.status, 400);
}

TEST(ServerTest, HeadSendsLengthWithoutBody) {
  RouteTable routes;
  routes.Add({"GET", "HEAD"}, "/file", TextHandler("0123456789"));
  routes.Add({"GET"}, "/get-only", TextHandler("x"));
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Head("/file");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Length"), "10");
  EXPECT_EQ(r.body, "");
  r = client.Head("/get-only");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("Allow"), "GET");
  // The connection is still usable after HEAD (no stray body bytes).
  EXPECT_EQ(client.Get("/file").body, "0123456789");

  // head_only on a GET: the handler asks for headers only.
  RouteTable routes2;
  routes2.Add({"GET"}, "/h", [](Request&, Responder done) {
    Response resp = Response::Text(200, "abcdef");
    resp.head_only = true;
    done(std::move(resp));
  });
  TestServer server2(std::move(routes2));
  RawSocket sock(server2.port());
  ASSERT_TRUE(sock.Send("GET /h HTTP/1.1\r\nHost: x\r\n\r\nGET /h HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string raw = sock.ReadFor(500ms);
  EXPECT_NE(raw.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_EQ(raw.find("abcdef"), std::string::npos);
  size_t first = raw.find("HTTP/1.1 200");
  EXPECT_NE(raw.find("HTTP/1.1 200", first + 1), std::string::npos);
}

TEST(ServerTest, KeepAliveReusesTheConnection) {
  RouteTable routes;
  routes.Add({"GET"}, "/remote",
             [](Request& req, Responder done) { done(Response::Text(200, req.remote_addr)); });
  Metrics metrics;
  TestServer::Options opts;
  opts.metrics = &metrics;
  TestServer server(std::move(routes), opts);
  HttpClient client(server.base_url());
  std::string first = client.Get("/remote").body;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.Get("/remote").body, first);
  EXPECT_NE(first.find("127.0.0.1:"), std::string::npos);
  EXPECT_NE(metrics.RenderPrometheus().find("http_connections 1\n"), std::string::npos);
}

TEST(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RouteTable routes;
  // The first request is slow (worker pool), the second fast (inline): order must still hold.
  routes.Add({"GET"}, "/slow", [](Request&, Responder done) {
    std::this_thread::sleep_for(150ms);
    done(Response::Text(200, "slow"));
  });
  RouteOptions inline_opts;
  inline_opts.inline_handler = true;
  routes.Add({"GET"}, "/fast", TextHandler("fast"), inline_opts);
  TestServer server(std::move(routes));
  RawSocket sock(server.port());
  ASSERT_TRUE(sock.connected());
  ASSERT_TRUE(
      sock.Send("GET /slow HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n"
                "GET /fast HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n"
                "GET /fast HTTP/1.1\r\nHost: x\r\nX-Request-Id: three\r\n\r\n"));
  std::string raw = sock.ReadResponses(3, 5000ms);
  ASSERT_EQ(test::CountCompleteResponses(raw), 3) << raw;
  size_t a = raw.find("X-Request-Id: one");
  size_t b = raw.find("X-Request-Id: two");
  size_t c = raw.find("X-Request-Id: three");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_NE(c, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(raw.find("slow"), raw.find("\r\n\r\nfast"));
  // And the connection stays open for more.
  ASSERT_TRUE(sock.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(test::CountCompleteResponses(sock.ReadResponses(1, 2000ms)), 1);
}

// The io threads share the connections: while one io thread is stuck in a handler, every other
// connection (new or old) is still served by the other io thread.
TEST(ServerTest, AStuckIoThreadDoesNotHoldOtherConnections) {
  Gate gate;
  std::atomic<bool> blocking{false};
  RouteTable routes;
  RouteOptions inline_opts;
  inline_opts.inline_handler = true;
  routes.Add(
      {"GET"}, "/block",
      [&](Request&, Responder done) {
        blocking = true;
        gate.WaitOpen(10000ms);  // occupies this io thread, like a cold disk read would
        done(Response::Text(200, "unblocked"));
      },
      inline_opts);
  routes.Add({"GET"}, "/fast", TextHandler("fast"), inline_opts);
  TestServer::Options options;
  options.server.io_threads = 2;
  TestServer server(std::move(routes), options);
  struct OpenOnExit {
    Gate& g;
    ~OpenOnExit() { g.Open(); }
  } open_on_exit{gate};

  // Connections opened before the block, so each was accepted while both threads were free.
  std::vector<std::unique_ptr<RawSocket>> earlier;
  for (int i = 0; i < 4; ++i) {
    earlier.push_back(std::make_unique<RawSocket>(server.port()));
    ASSERT_TRUE(earlier.back()->Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(test::CountCompleteResponses(earlier.back()->ReadResponses(1, 2000ms)), 1);
  }
  RawSocket blocker(server.port());
  ASSERT_TRUE(blocker.Send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(WaitUntil([&] { return blocking.load(); }));

  for (auto& sock : earlier) {
    ASSERT_TRUE(sock->Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(test::CountCompleteResponses(sock->ReadResponses(1, 2000ms)), 1);
  }
  for (int i = 0; i < 4; ++i) {
    RawSocket fresh(server.port());
    ASSERT_TRUE(fresh.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(test::CountCompleteResponses(fresh.ReadResponses(1, 2000ms)), 1)
        << "connection " << i;
  }
  gate.Open();
  std::string raw = blocker.ReadResponses(1, 5000ms);
  EXPECT_NE(raw.find("unblocked"), std::string::npos) << raw;
}

TEST(ServerTest, ConnectionCloseAndHttp10) {
  RouteTable routes;
  routes.Add({"GET"}, "/x", TextHandler("x"));
  TestServer server(std::move(routes));
  {
    RawSocket sock(server.port());
    ASSERT_TRUE(sock.Send("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    std::string raw;
    EXPECT_TRUE(sock.WaitForClose(2000ms, &raw));
    EXPECT_NE(raw.find("Connection: close\r\n"), std::string::npos);
    EXPECT_NE(raw.find("\r\n\r\nx"), std::string::npos);
  }
  {
    RawSocket sock(server.port());
    ASSERT_TRUE(sock.Send("GET /x HTTP/1.0\r\n\r\n"));
    std::string raw;
    EXPECT_TRUE(sock.WaitForClose(2000ms, &raw));
    EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  }
  {
    RawSocket sock(server.port());
    ASSERT_TRUE(sock.Send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    std::string raw = sock.ReadResponses(1, 2000ms);
    EXPECT_NE(raw.find("Connection: keep-alive\r\n"), std::string::npos);
    ASSERT_TRUE(sock.Send("GET /x HTTP/1.0\r\n\r\n"));
    EXPECT_TRUE(sock.WaitForClose(2000ms));
  }
}

TEST(ServerTest, MalformedRequestGets400AndClose) {
  RouteTable routes;
  routes.Add({"GET"}, "/x", TextHandler("x"));
  TestServer server(std::move(routes));
  RawSocket sock(server.port());
  ASSERT_TRUE(sock.Send("THIS IS NOT HTTP\r\n\r\n"));
  std::string raw;
  EXPECT_TRUE(sock.WaitForClose(2000ms, &raw));
  EXPECT_EQ(raw.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("{\"error\": \"Bad Request"), std::string::npos);
}

// Opens `path` read-only for a FileRange (an invalid Fd when it does not exist).
std::shared_ptr<const Fd> OpenRead(const std::string& path) {
  return std::make_shared<const Fd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

TEST(ServerTest, ServesFileRanges) {
  test::TempDir dir;
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  std::string path = dir.WriteFile("big.bin", big);
  RouteTable routes;
  routes.Add({"GET", "HEAD"}, "/whole", [path, &big](Request& req, Responder done) {
    Response r;
    r.headers.Add("Content-Type", "application/octet-stream");
    // HEAD needs no descriptor, only the length.
    r.file = FileRange{req.method == "HEAD" ? nullptr : OpenRead(path), "big", 0, big.size()};
    done(std::move(r));
  });
  // GET `url` answers bytes [offset, offset + length) of the file at `file` (opened per request).
  auto serve = [&routes](const std::string& url, const std::string& file, uint64_t offset,
                         uint64_t length) {
    routes.Add({"GET"}, url, [file, offset, length](Request&, Responder done) {
      Response r;
      r.file = FileRange{OpenRead(file), file, offset, length};
      done(std::move(r));
    });
  };
  serve("/range", path, 1000, 5000);
  serve("/missing", dir.Join("nope"), 0, 10);
  serve("/short", path, 0, (3 << 20) + 1);
  serve("/empty", dir.WriteFile("empty.bin", ""), 0, 0);
  serve("/directory", dir.path(), 0, 0);
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/whole");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(big.size()));
  EXPECT_TRUE(r.body == big);
  r = client.Get("/range");
  EXPECT_EQ(r.body, big.substr(1000, 5000));
  r = client.Head("/whole");
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(big.size()));
  EXPECT_EQ(r.body, "");
  r = client.Get("/missing");
  EXPECT_EQ(r.status, 500);
  r = client.Get("/short");
  EXPECT_EQ(r.status, 500);
  r = client.Get("/empty");  // an empty file body completes (nothing left corked)
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Length"), "0");
  EXPECT_EQ(r.body, "");
  r = client.Get("/directory");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(client.Get("/range").status, 200);
  // Keep-alive: many file responses in a row on one connection (head sent with MSG_MORE, then
  // sendfile) arrive whole and in order.
  for (int i = 0; i < 50; ++i) {
    r = client.Get(i % 2 ? "/range" : "/whole");
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body.size(), i % 2 ? 5000u : big.size());
  }
}

TEST(ServerTest, StreamsProducerBodies) {
  // 1 MB in 1000-byte pieces, chunked; and the same with a Content-Length.
  auto make_producer = [](size_t total) {
    auto sent = std::make_shared<size_t>(0);
    return [sent, total](char* buf, size_t size) -> Result<size_t> {
      size_t n = std::min({size, total - *sent, size_t{1000}});
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>('0' + (*sent + i) % 10);
      *sent += n;
      return n;
    };
  };
  std::string expected(1 << 20, '\0');
  for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>('0' + i % 10);
  RouteTable routes;
  routes.Add({"GET"}, "/chunked", [&](Request&, Responder done) {
    Response r;
    r.producer = make_producer(expected.size());
    done(std::move(r));
  });
  routes.Add({"GET", "HEAD"}, "/sized", [&](Request&, Responder done) {
    Response r;
    r.headers.Add("Content-Length", std::to_string(expected.size()));
    r.producer = make_producer(expected.size());
    done(std::move(r));
  });
  routes.Add({"GET"}, "/fails", [](Request&, Responder done) {
    Response r;
    auto calls = std::make_shared<int>(0);
    r.producer = [calls](char* buf, size_t) -> Result<size_t> {
      if ((*calls)++ == 0) {
        buf[0] = 'x';
        return size_t{1};
      }
      return UpstreamError("storage went away");
    };
    done(std::move(r));
  });
  routes.Add({"GET"}, "/short", [](Request&, Responder done) {
    Response r;
    r.headers.Add("Content-Length", "100");
    r.producer = [](char*, size_t) -> Result<size_t> { return size_t{0}; };
    done(std::move(r));
  });
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/chunked");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(r.Header("Content-Length").has_value());
  EXPECT_TRUE(r.body == expected);
  r = client.Get("/sized");
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(expected.size()));
  EXPECT_FALSE(r.Header("Transfer-Encoding").has_value());
  EXPECT_TRUE(r.body == expected);
  r = client.Head("/sized");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(expected.size()));
  // A failing producer cuts the connection: the client sees a transport error, not a short 200.
  r = client.Get("/fails");
  EXPECT_EQ(r.status, 0) << r.body;
  r = client.Get("/short");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(client.Get("/chunked").status, 200);
}

TEST(ServerTest, ResponderMayBeCalledFromAnyThreadAndDroppedOnesAnswer500) {
  RouteTable routes;
  RouteOptions inline_opts;
  inline_opts.inline_handler = true;
  routes.Add(
      {"GET"}, "/later",
      [](Request& req, Responder done) {
        std::string id = req.request_id;
        std::thread([done, id] {
          std::this_thread::sleep_for(20ms);
          done(Response::Text(200, "later " + id));
        }).detach();
      },
      inline_opts);
  routes.Add({"GET"}, "/dropped", [](Request&, Responder) {});
  routes.Add({"GET"}, "/throws",
             [](Request&, Responder) -> void { throw std::runtime_error("boom"); });
  routes.Add({"GET"}, "/twice", [](Request&, Responder done) {
    done(Response::Text(200, "first"));
    done(Response::Text(500, "second"));
  });
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/later", {{"X-Request-Id", "r1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "later r1");
  EXPECT_EQ(client.Get("/dropped").status, 500);
  EXPECT_EQ(client.Get("/throws").status, 500);
  r = client.Get("/twice");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "first");
  EXPECT_EQ(client.Get("/later").status, 200);
}

TEST(ServerTest, HandlerHeadersAreSanitised) {
  RouteTable routes;
  routes.Add({"GET"}, "/h", [](Request&, Responder done) {
    Response r = Response::Text(200, "ok");
    r.headers.Add("X-Good", "yes");
    r.headers.Add("X-Evil", "a\r\nSet-Cookie: pwned=1");
    r.headers.Add("Content-Length", "999");  // the server owns framing headers
    r.headers.Add("Server", "other");
    done(std::move(r));
  });
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/h");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(r.Header("X-Good"), "yes");
  EXPECT_FALSE(r.Header("X-Evil").has_value());
  EXPECT_FALSE(r.Header("Set-Cookie").has_value());
  EXPECT_EQ(r.Header("Content-Length"), "2");
  EXPECT_EQ(r.Header("Server"), "sigil");
}

TEST(ServerTest, FullWorkerQueueAnswers503WithRetryAfter) {
  Gate gate;
  std::atomic<int> started{0};
  RouteTable routes;
  routes.Add({"GET"}, "/block", [&](Request&, Responder done) {
    started++;
    gate.WaitOpen(10s);
    done(Response::Text(200, "done"));
  });
  TestServer::Options opts;
  opts.worker_threads = 1;
  opts.worker_queue = 1;
  TestServer server(std::move(routes), opts);
  // One running, one queued: the third finds the queue full.
  auto first =
      std::async(std::launch::async, [&] { return HttpClient(server.base_url()).Get("/block"); });
  ASSERT_TRUE(WaitUntil([&] { return started.load() == 1; }));
  auto second =
      std::async(std::launch::async, [&] { return HttpClient(server.base_url()).Get("/block"); });
  ASSERT_TRUE(WaitUntil([&] { return server.pool().queue_depth() == 1; }));
  HttpClient client(server.base_url());
  auto r = client.Get("/block");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.Header("Retry-After"), "1");
  EXPECT_NE(r.body.find("\"error\""), std::string::npos);
  gate.Open();
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(second.get().status, 200);
  EXPECT_EQ(client.Get("/block").status, 200);
}

TEST(ServerTest, RecordsMetrics) {
  Metrics metrics;
  RouteTable routes;
  RouteOptions named;
  named.name = "hello";
  routes.Add({"GET"}, "/hello", TextHandler("hi"), named);
  routes.Add({"GET"}, "/d/{x}", TextHandler("d"));
  TestServer::Options opts;
  opts.metrics = &metrics;
  TestServer server(std::move(routes), opts);
  HttpClient client(server.base_url());
  client.Get("/hello");
  client.Get("/hello");
  client.Get("/d/1");
  client.Get("/nothing");
  client.Send({.method = "BREW", .path = "/hello"});
  // Metrics are recorded once the response is written, which may be just after the client read it.
  std::string text;
  WaitUntil([&] {
    text = metrics.RenderPrometheus();
    return text.find("status=\"405\"} 1\n") != std::string::npos &&
           text.find("http_in_flight 0\n") != std::string::npos;
  });
  EXPECT_NE(text.find("http_requests_total{route=\"hello\",method=\"GET\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("http_requests_total{route=\"/d/{x}\",method=\"GET\",status=\"200\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("http_requests_total{route=\"hello\",method=\"OTHER\",status=\"405\"} 1\n"),
            std::string::npos)
      << "a 405 on a known path counts under that path's route";
  EXPECT_NE(text.find("http_request_duration_seconds_count{route=\"hello\",status=\"200\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_bucket{route=\"hello\",status=\"200\",le=\"+"
                      "Inf\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("http_request_duration_seconds_count{route=\"hello\",status=\"405\"} 1\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("http_request_duration_seconds_count{route=\"unmatched\",status=\"404\"} 1\n"),
      std::string::npos);
  EXPECT_NE(text.find("# TYPE http_in_flight gauge\nhttp_in_flight 0\n"), std::string::npos);
  EXPECT_NE(text.find("http_connections "), std::string::npos);
  EXPECT_NE(text.find("http_rejected_connections_total 0\n"), std::string::npos);
  EXPECT_NE(text.find("worker_queue_depth 0\n"), std::string::npos);
}

TEST(ServerTest, WritesJsonAccessLogLines) {
  RouteTable routes;
  RouteOptions named;
  named.name = "hello";
  routes.Add({"GET"}, "/hello", TextHandler("hi"), named);
  TestServer::Options opts;
  opts.server.access_log = true;
  testing::internal::CaptureStderr();
  {
    TestServer server(std::move(routes), opts);
    HttpClient client(server.base_url());
    client.Get("/hello?secret=1", {{"X-Request-Id", "log-test-1"}});
    client.Get("/missing%22quote", {{"X-Request-Id", "log-test-2"}});
  }  // shutdown flushes the log
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("\"method\":\"GET\",\"path\":\"/hello\",\"status\":200,\"bytes\":2,"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("\"request_id\":\"log-test-1\",\"remote\":\"127.0.0.1:"), std::string::npos);
  EXPECT_NE(err.find("\"route\":\"hello\"}"), std::string::npos);
  EXPECT_EQ(err.find("secret"), std::string::npos);
  EXPECT_NE(err.find("\"path\":\"/missing%22quote\",\"status\":404"), std::string::npos) << err;
  EXPECT_NE(err.find("\"duration_ms\":"), std::string::npos);
}

TEST(ServerTest, GracefulShutdownFinishesInFlightRequests) {
  Gate entered;
  RouteTable routes;
  routes.Add({"GET"}, "/slow", [&](Request&, Responder done) {
    entered.Open();
    std::this_thread::sleep_for(400ms);
    done(Response::Text(200, "finished"));
  });
  routes.Add({"GET"}, "/fast", TextHandler("fast"));
  TestServer server(std::move(routes));
  uint16_t port = server.port();

  // An idle keep-alive connection: closed by the shutdown right away.
  RawSocket idle(port);
  ASSERT_TRUE(idle.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(test::CountCompleteResponses(idle.ReadResponses(1, 2000ms)), 1);

  auto slow =
      std::async(std::launch::async, [&] { return HttpClient(server.base_url()).Get("/slow"); });
  ASSERT_TRUE(entered.WaitOpen(5s));
  EXPECT_EQ(server.server().in_flight(), 1u);
  auto started = std::chrono::steady_clock::now();
  auto shutdown = std::async(std::launch::async, [&] { server.server().Shutdown(5s); });
  EXPECT_TRUE(idle.WaitForClose(2000ms));
  // New connections are refused while the in-flight request finishes.
  ASSERT_TRUE(WaitUntil([&] { return !RawSocket(port).connected(); }, 2000ms));
  auto r = slow.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  EXPECT_EQ(r.Header("Connection"), "close");
  shutdown.get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  server.server().Wait();
  EXPECT_FALSE(RawSocket(port).connected());
  EXPECT_EQ(server.server().in_flight(), 0u);
}

TEST(ServerTest, ShutdownGraceIsBounded) {
  Gate entered, release;
  RouteTable routes;
  routes.Add({"GET"}, "/stuck", [&](Request&, Responder done) {
    entered.Open();
    release.WaitOpen(10s);
    done(Response::Text(200, "too late"));
  });
  TestServer server(std::move(routes));
  auto stuck =
      std::async(std::launch::async, [&] { return HttpClient(server.base_url()).Get("/stuck"); });
  ASSERT_TRUE(entered.WaitOpen(5s));
  auto started = std::chrono::steady_clock::now();
  server.server().Shutdown(200ms);
  server.server().Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(stuck.get().status, 0);  // cut off
  release.Open();                    // the late Responder call is dropped harmlessly
}

}  // namespace
}  // namespace sigil::http
