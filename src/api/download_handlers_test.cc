#include "api/download_handlers.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <future>

#include "api/missing_symbols_handlers.h"
#include "cache/memory/memory_cache.h"
#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "download/download_service.h"
#include "download/download_test_fakes.h"

namespace sigil::api {
namespace {

const std::string kId = "44E4EC8C2F41492B9369D6B9A059577C2";

std::string Gzip(std::string_view data) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class DownloadHandlersTest : public ::testing::Test {
 protected:
  DownloadHandlersTest() : cache_(cache::memory::MakeMemoryCache(8 << 20)), pool_(2, 64) {
    config_.missing_flush_ms = 60000;
    service_ =
        std::make_unique<download::DownloadService>(config_, store_, db_, *cache_, bus_, pool_);
    RegisterDownloadRoutes(routes_, *service_);
    RegisterMissingSymbolsRoutes(routes_, *service_);
  }

  const http::Route& RouteFor(const std::string& pattern) {
    for (const auto& r : routes_.routes()) {
      if (r.pattern == pattern) return r;
    }
    ADD_FAILURE() << "no route " << pattern;
    return routes_.routes().front();
  }

  // Calls the handler the way the server does and waits for the response.
  http::Response Call(const std::string& pattern, http::Request req) {
    std::promise<http::Response> p;
    requests_.push_back(std::make_unique<http::Request>(std::move(req)));
    RouteFor(pattern).handler(*requests_.back(),
                              [&](http::Response r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  http::Response Download(const std::string& method, const std::string& df, const std::string& id,
                          const std::string& file,
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          const std::string& query = "", bool try_prefix = false) {
    http::Request req;
    req.method = method;
    req.path = (try_prefix ? "/try/" : "/") + df + "/" + id + "/" + file;
    req.query = query;
    req.params = {{"debug_file", df}, {"debug_id", id}, {"symbol_file", file}};
    for (auto& [n, v] : headers) req.headers.Add(n, v);
    return Call(try_prefix ? "/try/{debug_file}/{debug_id}/{symbol_file}"
                           : "/{debug_file}/{debug_id}/{symbol_file}",
                std::move(req));
  }
  static std::string H(const http::Response& r, std::string_view name) {
    return std::string(r.headers.Get(name).value_or("<absent>"));
  }
  static std::string Drain(http::Response& r) {
    std::string out, buf(1000, '\0');
    for (;;) {
      auto n = r.producer(buf.data(), buf.size());
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) return out;
      out.append(buf.data(), *n);
    }
  }
  void PutSym(const std::string& key, const std::string& text) {
    ASSERT_TRUE(store_
                    .Put(key, Gzip(text),
                         {.content_type = "text/plain",
                          .content_encoding = "gzip",
                          .metadata = {{"original_size", std::to_string(text.size())}}})
                    .ok());
  }

  DownloadConfig config_;
  download::testing::FakeStore store_;
  download::testing::FakeDb db_;
  std::unique_ptr<cache::Cache> cache_;
  LocalInvalidationBus bus_;
  WorkerPool pool_;
  std::unique_ptr<download::DownloadService> service_;
  http::RouteTable routes_;
  std::vector<std::unique_ptr<http::Request>> requests_;
};

TEST_F(DownloadHandlersTest, RoutesAreInlineForDownloads) {
  EXPECT_TRUE(RouteFor("/{debug_file}/{debug_id}/{symbol_file}").options.inline_handler);
  EXPECT_TRUE(RouteFor("/try/{debug_file}/{debug_id}/{symbol_file}").options.inline_handler);
  EXPECT_FALSE(RouteFor("/api/syminfo/{file}/{id}").options.inline_handler);
  EXPECT_EQ(RouteFor("/{debug_file}/{debug_id}/{symbol_file}").methods,
            (std::vector<std::string>{"GET", "HEAD"}));
}

TEST_F(DownloadHandlersTest, GzipPassthroughFromLocalFile) {
  store_.local_files = true;
  PutSym("xul.pdb/" + kId + "/xul.sym", "MODULE windows x86 " + kId + " xul.pdb\n");
  const std::string& stored = store_.objects.begin()->second.data;
  auto r = Download("GET", "xul.pdb", kId, "xul.sym", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.file.has_value());
  EXPECT_EQ(r.file->name, "xul.pdb/" + kId + "/xul.sym");
  ASSERT_TRUE(r.file->fd && r.file->fd->valid()) << "GET opens the object, for sendfile";
  std::string sent(stored.size() + 1, '\0');
  ssize_t n = ::pread(r.file->fd->get(), sent.data(), sent.size(), 0);
  EXPECT_EQ(sent.substr(0, n > 0 ? static_cast<size_t>(n) : 0), stored);
  EXPECT_EQ(r.file->offset, 0u);
  EXPECT_EQ(r.file->length, stored.size());
  EXPECT_EQ(H(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(H(r, "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(H(r, "Debug-Time"), "<absent>");

  // HEAD announces the length without opening anything.
  r = Download("HEAD", "xul.pdb", kId, "xul.sym", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.file.has_value());
  EXPECT_EQ(r.file->fd, nullptr);
  EXPECT_EQ(r.file->length, stored.size());

  // The object vanished after the (memoized) existence check: a clean 404, not a 500, once the
  // kept descriptor is gone too (an upload or delete invalidates it).
  store_.objects.clear();
  bus_.Publish(*SymbolKey::Parse("xul.pdb", kId, "xul.sym"));
  r = Download("GET", "xul.pdb", kId, "xul.sym", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_FALSE(r.file.has_value());
}

TEST_F(DownloadHandlersTest, DecodedStreamWithoutGzipAndRanges) {
  const std::string text = "MODULE windows x86 " + kId + " xul.pdb\nPUBLIC 1000 0 main\n";
  PutSym("xul.pdb/" + kId + "/xul.sym", text);
  auto r = Download("GET", "xul.pdb", kId, "xul.sym");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.file.has_value());
  ASSERT_TRUE(r.producer);
  EXPECT_EQ(H(r, "Content-Length"), std::to_string(text.size()));
  EXPECT_EQ(Drain(r), text);
  auto ranged = Download("GET", "xul.pdb", kId, "xul.sym",
                         {{"Range", "bytes=7-13"}, {"Accept-Encoding", "gzip"}});
  EXPECT_EQ(ranged.status, 206);
  EXPECT_EQ(Drain(ranged), text.substr(7, 7));
  auto etag = H(r, "ETag");
  auto not_modified = Download("GET", "xul.pdb", kId, "xul.sym", {{"If-None-Match", etag}});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_FALSE(not_modified.producer);
}

TEST_F(DownloadHandlersTest, HeadHasHeadersAndNoBody) {
  PutSym("xul.pdb/" + kId + "/xul.sym", "abc");
  auto r = Download("HEAD", "xul.pdb", kId, "xul.sym", {{"Debug", "true"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.head_only);
  EXPECT_NE(H(r, "ETag"), "<absent>");
  EXPECT_NE(H(r, "Debug-Time"), "<absent>");
  auto miss = Download("HEAD", "nope.pdb", kId, "nope.sym");
  EXPECT_EQ(miss.status, 404);
  EXPECT_EQ(service_->missing_symbols().pending_count(), 0u);
}

TEST_F(DownloadHandlersTest, MissIgnoredAndInvalid) {
  auto miss = Download("GET", "nope.pdb", kId, "nope.sym", {}, "code_file=nope.dll&code_id=ABC");
  EXPECT_EQ(miss.status, 404);
  EXPECT_EQ(miss.body, "Symbol Not Found");
  EXPECT_EQ(H(miss, "Access-Control-Allow-Origin"), "*");
  auto ignored = Download("GET", "nope.pdb", kId, "nope.exe");
  EXPECT_EQ(ignored.status, 404);
  EXPECT_EQ(ignored.body, "Symbol Not Found (and ignored)");
  auto invalid = Download("GET", "nope.pdb", "XYZ", "nope.sym");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_FALSE(invalid.body.empty());
  ASSERT_TRUE(service_->missing_symbols().Flush().ok());
  ASSERT_EQ(db_.missing.size(), 1u);
  EXPECT_EQ(db_.missing.begin()->second.code_file, "nope.dll");
  EXPECT_EQ(db_.missing.begin()->second.code_id, "ABC");
}

TEST_F(DownloadHandlersTest, PublicUrlRedirectsGetButNotHead) {
  store_.public_base = "https://cdn.example/";
  PutSym("xul.pdb/" + kId + "/xul.sym", "abc");
  auto get = Download("GET", "xul.pdb", kId, "xul.sym");
  EXPECT_EQ(get.status, 302);
  EXPECT_EQ(H(get, "Location"), "https://cdn.example/xul.pdb/" + kId + "/xul.sym");
  EXPECT_EQ(Download("HEAD", "xul.pdb", kId, "xul.sym").status, 200);
}

TEST_F(DownloadHandlersTest, TryPrefixAndQueryParameter) {
  PutSym("try/t.pdb/" + kId + "/t.sym", "abc");
  EXPECT_EQ(Download("GET", "t.pdb", kId, "t.sym").status, 404);
  EXPECT_EQ(Download("GET", "t.pdb", kId, "t.sym", {}, "", true).status, 200);
  EXPECT_EQ(Download("GET", "t.pdb", kId, "t.sym", {}, "try=1").status, 200);
}

TEST_F(DownloadHandlersTest, SymInfoAndCodeIdRedirect) {
  db::FileUpload f;
  f.key = "xul.pdb/" + kId + "/xul.sym";
  f.debug_filename = "xul.pdb";
  f.debug_id = kId;
  f.code_file = "xul.dll";
  f.code_id = "5CF2591C6859000";
  f.generator = "dump_syms";
  ASSERT_TRUE(db_.AddFileUpload(f).ok());
  auto redirect = Download("GET", "xul.dll", "5CF2591C6859000", "xul.sym", {}, "a=b");
  EXPECT_EQ(redirect.status, 302);
  EXPECT_EQ(H(redirect, "Location"), "/xul.pdb/" + kId + "/xul.sym?a=b");

  http::Request req;
  req.method = "GET";
  req.params = {{"file", "xul.dll"}, {"id", "5CF2591C6859000"}};
  req.headers.Add("Host", "symbols.example:8000");
  auto info = Call("/api/syminfo/{file}/{id}", std::move(req));
  EXPECT_EQ(info.status, 200);
  EXPECT_EQ(info.body, "{\"debug_filename\":\"xul.pdb\",\"debug_id\":\"" + kId +
                           "\",\"code_file\":\"xul.dll\",\"code_id\":\"5CF2591C6859000\","
                           "\"generator\":\"dump_syms\","
                           "\"url\":\"http://symbols.example:8000/xul.pdb/" +
                           kId + "/xul.sym\"}");
  http::Request missing;
  missing.method = "GET";
  missing.params = {{"file", "nope.dll"}, {"id", "1234"}};
  EXPECT_EQ(Call("/api/syminfo/{file}/{id}", std::move(missing)).status, 404);
}

TEST_F(DownloadHandlersTest, MissingSymbolsReports) {
  (void)Download("GET", "a.pdb", kId, "a.sym", {}, "code_file=a.dll&code_id=C0DE");
  (void)Download("GET", "a.pdb", kId, "a.sym", {}, "code_file=a.dll&code_id=C0DE");
  http::Request csv_req;
  csv_req.method = "GET";
  auto csv = Call("/missingsymbols.csv", std::move(csv_req));
  EXPECT_EQ(csv.status, 200);
  EXPECT_EQ(H(csv, "Content-Type"), "text/csv");
  EXPECT_EQ(H(csv, "Content-Disposition"), "attachment; filename=\"missing-symbols-" +
                                               FormatDate(NowMicros() - 86400LL * 1000000) +
                                               ".csv\"");
  EXPECT_EQ(csv.body, "debug_file,debug_id,code_file,code_id\r\na.pdb," + kId + ",a.dll,C0DE\r\n");

  http::Request api;
  api.method = "GET";
  api.query = "page=1&sort=count&reverse=true";
  auto json = Call("/api/missingsymbols/", std::move(api));
  EXPECT_EQ(json.status, 200);
  EXPECT_NE(json.body.find("\"count\":2"), std::string::npos) << json.body;
  EXPECT_NE(json.body.find("\"total_count\":1"), std::string::npos) << json.body;
  for (const char* bad : {"page=0", "page=x", "sort=hash", "reverse=maybe", "batch_size=5000",
                          "modified_at=>=nope"}) {
    http::Request b;
    b.method = "GET";
    b.query = bad;
    auto r = Call("/api/missingsymbols/", std::move(b));
    EXPECT_EQ(r.status, 400) << bad;
  }
}

}  // namespace
}  // namespace sigil::api
