// http::Server request bodies: in memory, spooled to a temp file (and removed after the response),
// chunked, Expect: 100-continue, multipart uploads from the test client.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "support/http_client.h"
#include "support/raw_socket.h"
#include "support/temp_dir.h"
#include "support/test_server.h"

namespace sigil::http {
namespace {

using namespace std::chrono_literals;
using test::HttpClient;
using test::TestServer;

// What a handler saw, for the test to inspect after the response.
struct Seen {
  std::mutex mu;
  std::string body;
  std::string body_file;
  std::string file_content;
  uint64_t body_size = 0;
};

Handler Recorder(Seen& seen) {
  return [&seen](Request& req, Responder done) {
    std::lock_guard lock(seen.mu);
    seen.body = req.body;
    seen.body_file = req.body_file;
    seen.body_size = req.body_size;
    seen.file_content = req.body_file.empty() ? "" : test::ReadFile(req.body_file);
    done(Response::Text(200, std::to_string(req.body_size)));
  };
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 1000) & 0xff);
  return s;
}

// The spool file is removed once the response is written, which may be just after the client read
// it.
bool EventuallyGone(const std::string& path) {
  for (int i = 0; i < 1000; ++i) {
    if (!test::FileExists(path)) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

size_t CountFiles(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TestServer::Options SpoolOptions() {
  TestServer::Options opts;
  opts.server.spool_threshold_bytes = 4096;
  opts.server.max_body_bytes = 64 << 20;
  return opts;
}

TEST(ServerBodyTest, SmallBodiesStayInMemory) {
  Seen seen;
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  routes.Add({"POST"}, "/up", Recorder(seen), spool);
  TestServer server(std::move(routes), SpoolOptions());
  HttpClient client(server.base_url());
  std::string body = Pattern(4096);
  auto r = client.Post("/up", body);
  EXPECT_EQ(r.body, "4096");
  EXPECT_TRUE(seen.body == body);
  EXPECT_EQ(seen.body_file, "");
  EXPECT_EQ(seen.body_size, 4096u);
}

TEST(ServerBodyTest, LargeBodiesAreSpooledAndRemovedAfterTheResponse) {
  Seen seen;
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  routes.Add({"POST", "PUT"}, "/up", Recorder(seen), spool);
  routes.Add({"POST"}, "/memory", Recorder(seen));  // no spool_body: memory even when large
  TestServer server(std::move(routes), SpoolOptions());
  HttpClient client(server.base_url());

  std::string body = Pattern(5 << 20);
  auto r = client.Post("/up", body);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::to_string(body.size()));
  EXPECT_EQ(seen.body, "");
  ASSERT_FALSE(seen.body_file.empty());
  EXPECT_EQ(seen.body_file.rfind(server.tmp_dir() + "/", 0), 0u) << seen.body_file;
  EXPECT_TRUE(seen.file_content == body);
  EXPECT_TRUE(EventuallyGone(seen.body_file));
  EXPECT_EQ(CountFiles(server.tmp_dir()), 0u);

  // From a file, with PUT, through keep-alive.
  test::TempDir dir;
  std::string path = dir.WriteFile("body.bin", Pattern(300000));
  r = client.Send({.method = "PUT", .path = "/up", .body_file = path});
  EXPECT_EQ(r.body, "300000");
  EXPECT_TRUE(seen.file_content == test::ReadFile(path));

  r = client.Post("/memory", body);
  EXPECT_EQ(r.body, std::to_string(body.size()));
  EXPECT_EQ(seen.body_file, "");
  EXPECT_TRUE(seen.body == body);
  EXPECT_EQ(CountFiles(server.tmp_dir()), 0u);
}

// A body of known length arrives in pieces (the rest of it is read straight into the body or the
// spool buffer, past the parser) and the next request follows in the same packet as its last
// bytes: each body is exactly its own bytes, the pipelined request is answered, and a body that
// ends with "Connection: close" gets its response before the close.
TEST(ServerBodyTest, BodiesOfKnownLengthEndExactlyBeforeAPipelinedRequest) {
  Seen seen;
  std::vector<std::string> bodies;
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  Handler record = [&](Request& req, Responder done) {
    std::lock_guard lock(seen.mu);
    bodies.push_back(req.body_file.empty() ? req.body : test::ReadFile(req.body_file));
    done(Response::Text(200, std::to_string(req.body_size)));
  };
  routes.Add({"POST"}, "/up", record, spool);
  routes.Add({"POST"}, "/memory", record);
  TestServer server(std::move(routes), SpoolOptions());
  for (std::string path : {"/up", "/memory"}) {
    for (size_t size : {size_t{3000}, size_t{700000}}) {
      SCOPED_TRACE(path + " " + std::to_string(size));
      {
        std::lock_guard lock(seen.mu);
        bodies.clear();
      }
      test::RawSocket sock(server.port());
      const std::string body = Pattern(size);
      const std::string next =
          "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde";
      ASSERT_TRUE(sock.Send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                            std::to_string(size) + "\r\n\r\n" + body.substr(0, 100)));
      std::this_thread::sleep_for(20ms);  // the parser has taken what came with the head
      ASSERT_TRUE(sock.Send(body.substr(100, size / 2)));
      std::this_thread::sleep_for(20ms);
      ASSERT_TRUE(sock.Send(body.substr(100 + size / 2) + next));
      std::string got = sock.ReadResponses(2, 5s);
      EXPECT_EQ(test::CountCompleteResponses(got), 2) << got;
      EXPECT_NE(got.find(std::to_string(size)), std::string::npos) << got;
      std::lock_guard lock(seen.mu);
      ASSERT_EQ(bodies.size(), 2u);
      EXPECT_TRUE(bodies[0] == body);
      EXPECT_EQ(bodies[1], "abcde");
    }
  }
  // The whole body read, then Connection: close: answered, then closed promptly (nothing left to
  // drain).
  test::RawSocket sock(server.port());
  const std::string body = Pattern(700000);
  ASSERT_TRUE(sock.Send("POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n"));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(sock.Send(body));
  std::string got;
  EXPECT_TRUE(sock.WaitForClose(1500ms, &got));
  EXPECT_EQ(test::CountCompleteResponses(got), 1) << got;
  EXPECT_NE(got.find("700000"), std::string::npos) << got;
}

TEST(ServerBodyTest, ChunkedBodiesSwitchToSpoolingWhenTheyGrow) {
  Seen seen;
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  routes.Add({"POST"}, "/up", Recorder(seen), spool);
  TestServer server(std::move(routes), SpoolOptions());
  HttpClient client(server.base_url());

  std::string small = Pattern(1000);
  auto r = client.Send({.method = "POST", .path = "/up", .body = small, .chunked = true});
  EXPECT_EQ(r.body, "1000");
  EXPECT_EQ(seen.body_file, "");
  EXPECT_TRUE(seen.body == small);

  std::string big = Pattern(2 << 20);
  r = client.Send({.method = "POST", .path = "/up", .body = big, .chunked = true});
  EXPECT_EQ(r.body, std::to_string(big.size()));
  ASSERT_FALSE(seen.body_file.empty());
  EXPECT_TRUE(seen.file_content == big);
  EXPECT_TRUE(EventuallyGone(seen.body_file));
}

// Records what a RouteOptions::body_observer was shown: the bytes, in order, and how many calls.
class CopyingObserver final : public BodyObserver {
 public:
  explicit CopyingObserver(std::string content_type) : content_type_(std::move(content_type)) {}
  void Observe(std::string_view bytes) override {
    seen_.append(bytes);
    ++calls_;
  }
  const std::string& seen() const { return seen_; }
  int calls() const { return calls_; }
  const std::string& content_type() const { return content_type_; }

 private:
  std::string content_type_;
  std::string seen_;
  int calls_ = 0;
};

// A spooled body (known length, or chunked and switched to the spool part way) is shown to the
// route's observer whole and in order before the handler runs, which finds it in the request (made
// from the request's headers); bodies kept in memory and routes without an observer get none.
TEST(ServerBodyTest, BodyObserversSeeSpooledBodiesInOrder) {
  std::mutex mu;
  std::string observed, content_type, file_content;
  int calls = 0;
  bool had_observer = false;
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  spool.body_observer = [](const Request& r) -> std::shared_ptr<BodyObserver> {
    return std::make_shared<CopyingObserver>(std::string(r.Header("Content-Type").value_or("")));
  };
  routes.Add(
      {"POST"}, "/up",
      [&](Request& req, Responder done) {
        std::lock_guard lock(mu);
        auto* obs = dynamic_cast<CopyingObserver*>(req.body_observer.get());
        had_observer = obs != nullptr;
        observed = obs ? obs->seen() : "";
        calls = obs ? obs->calls() : 0;
        content_type = obs ? obs->content_type() : "";
        file_content = req.body_file.empty() ? "" : test::ReadFile(req.body_file);
        done(Response::Text(200, "ok"));
      },
      spool);
  TestServer server(std::move(routes), SpoolOptions());
  HttpClient client(server.base_url());

  std::string big = Pattern(3 << 20);
  auto r = client.Send(
      {.method = "POST", .path = "/up", .headers = {{"Content-Type", "x/y"}}, .body = big});
  ASSERT_EQ(r.status, 200);
  {
    std::lock_guard lock(mu);
    ASSERT_TRUE(had_observer);
    EXPECT_TRUE(observed == big);
    EXPECT_TRUE(file_content == big);
    EXPECT_GT(calls, 1);  // written (and observed) in several pieces
    EXPECT_EQ(content_type, "x/y");
  }

  r = client.Send({.method = "POST", .path = "/up", .body = big, .chunked = true});
  ASSERT_EQ(r.status, 200);
  {
    std::lock_guard lock(mu);
    ASSERT_TRUE(had_observer);
    EXPECT_TRUE(observed == big);
  }

  r = client.Post("/up", Pattern(1000));  // in memory
  ASSERT_EQ(r.status, 200);
  std::lock_guard lock(mu);
  EXPECT_FALSE(had_observer);
}

// POST /up, spooling its body, answers "x".
RouteTable SpoolingRoute() {
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  routes.Add(
      {"POST"}, "/up", [](Request&, Responder done) { done(Response::Text(200, "x")); }, spool);
  return routes;
}

// Which 4 KiB pages of `path` are in the page cache, and its size.
std::vector<bool> ResidentPages(const std::string& path, uint64_t* size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st;
  ::fstat(fd, &st);
  *size = static_cast<uint64_t>(st.st_size);
  std::vector<bool> pages;
  if (st.st_size > 0) {
    void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      std::vector<unsigned char> vec((static_cast<size_t>(st.st_size) + page - 1) / page);
      if (::mincore(map, static_cast<size_t>(st.st_size), vec.data()) == 0) {
        for (unsigned char v : vec) pages.push_back((v & 1) != 0);
      }
      ::munmap(map, static_cast<size_t>(st.st_size));
    }
  }
  ::close(fd);
  return pages;
}

// A spool of known length has its final size from the start, and its page-cache pages are
// allocated ahead of the bytes received, but no more than 16 MB ahead (Connection::PrefaultSpool;
// a tmpfs spool directory does no read-ahead, so there the test stops after the size).
TEST(ServerBodyTest, SpoolPagesArePrefaultedAheadOfTheBody) {
  TestServer server(SpoolingRoute(), SpoolOptions());
  test::RawSocket sock(server.port());
  const uint64_t length = 48 << 20;
  ASSERT_TRUE(sock.Send(
      "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(length) + "\r\n\r\n"));
  ASSERT_TRUE(sock.Send(std::string(1 << 20, 'a')));
  std::string path;
  for (int i = 0; i < 500 && path.empty(); ++i) {
    for (const auto& e : std::filesystem::directory_iterator(server.tmp_dir())) path = e.path();
    if (path.empty()) std::this_thread::sleep_for(2ms);
  }
  ASSERT_FALSE(path.empty());
  struct statfs fs;
  ASSERT_EQ(::statfs(path.c_str(), &fs), 0);
  const bool tmpfs = fs.f_type == TMPFS_MAGIC;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t at_8mb = (8u << 20) / page, at_32mb = (32u << 20) / page;
  // The file appears before it gets its size, and its pages come after that.
  uint64_t size = 0;
  std::vector<bool> pages;
  for (int i = 0; i < 1000; ++i) {
    pages = ResidentPages(path, &size);
    if (size == length && (tmpfs || (pages.size() > at_8mb && pages[at_8mb]))) break;
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(size, length);
  if (tmpfs) GTEST_SKIP() << "spool directory on tmpfs: no read-ahead";
  ASSERT_GT(pages.size(), at_32mb);
  EXPECT_TRUE(pages[at_8mb]) << "8 MB into the spool, 7 MB past the bytes sent";
  EXPECT_FALSE(pages[at_32mb]) << "32 MB into the spool: more than 16 MB ahead";
}

TEST(ServerBodyTest, SpoolFileIsRemovedWhenTheClientGivesUp) {
  TestServer server(SpoolingRoute(), SpoolOptions());
  {
    test::RawSocket sock(server.port());
    ASSERT_TRUE(sock.Send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
    ASSERT_TRUE(sock.Send(std::string(300000, 'a')));
    // Wait until the spool file exists, then vanish.
    for (int i = 0; i < 500 && CountFiles(server.tmp_dir()) == 0; ++i) {
      std::this_thread::sleep_for(2ms);
    }
    EXPECT_EQ(CountFiles(server.tmp_dir()), 1u);
  }
  bool removed = false;
  for (int i = 0; i < 1000 && !removed; ++i) {
    removed = CountFiles(server.tmp_dir()) == 0;
    if (!removed) std::this_thread::sleep_for(2ms);
  }
  EXPECT_TRUE(removed);
}

TEST(ServerBodyTest, ExpectContinueUploads) {
  Seen seen;
  RouteTable routes;
  RouteOptions spool;
  spool.spool_body = true;
  routes.Add({"POST"}, "/up", Recorder(seen), spool);
  TestServer server(std::move(routes), SpoolOptions());
  // Raw: the server sends 100 Continue before reading the body.
  test::RawSocket sock(server.port());
  ASSERT_TRUE(sock.Send(
      "POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  std::string interim = sock.ReadFor(300ms);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(sock.Send("hello"));
  std::string raw = sock.ReadResponses(1, 2000ms);
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_EQ(seen.body, "hello");
  // curl sends Expect: 100-continue itself for large bodies.
  HttpClient client(server.base_url());
  std::string big = Pattern(3 << 20);
  auto r = client.Post("/up", big);
  EXPECT_EQ(r.body, std::to_string(big.size()));
  EXPECT_TRUE(seen.file_content == big);
}

TEST(ServerBodyTest, MultipartUploadFromTheTestClient) {
  Seen seen;
  RouteTable routes;
  routes.Add({"POST"}, "/upload/", [&](Request& req, Responder done) {
    std::lock_guard lock(seen.mu);
    seen.body = req.body;
    done(Response::Text(200, std::string(req.Header("Content-Type").value_or(""))));
  });
  TestServer server(std::move(routes));
  test::TempDir dir;
  std::string zip = dir.WriteFile("symbols.zip", "PK\x03\x04 fake zip");
  HttpClient client(server.base_url());
  auto r = client.PostMultipart(
      "/upload/", {{.name = "symbols.zip", .file_path = zip}, {.name = "try", .data = "1"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.rfind("multipart/form-data; boundary=", 0), 0u) << r.body;
  EXPECT_NE(seen.body.find("name=\"symbols.zip\"; filename=\"symbols.zip\""), std::string::npos);
  EXPECT_NE(seen.body.find("PK\x03\x04 fake zip"), std::string::npos);
  EXPECT_NE(seen.body.find("name=\"try\"\r\n\r\n1\r\n"), std::string::npos) << seen.body;
}

TEST(ServerBodyTest, GzipResponsesAreDecodedUnlessDisabled) {
  // A pre-compressed body ("hello" gzipped) served with Content-Encoding: gzip.
  static const unsigned char kGz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                      0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x86,
                                      0xa6, 0x10, 0x36, 0x05, 0x00, 0x00, 0x00};
  std::string gz(reinterpret_cast<const char*>(kGz), sizeof(kGz));
  RouteTable routes;
  routes.Add({"GET"}, "/gz", [gz](Request& req, Responder done) {
    Response r = Response::Text(200, gz);
    r.headers.Add("Content-Encoding", "gzip");
    r.headers.Add("X-Accepts-Gzip", req.AcceptsGzip() ? "yes" : "no");
    done(std::move(r));
  });
  TestServer server(std::move(routes));
  HttpClient client(server.base_url());
  auto r = client.Get("/gz");
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.Header("X-Accepts-Gzip"), "yes");
  client.set_decode_gzip(false);
  r = client.Get("/gz");
  EXPECT_EQ(r.body, gz);
  EXPECT_EQ(r.Header("X-Accepts-Gzip"), "no");
}

}  // namespace
}  // namespace sigil::http
