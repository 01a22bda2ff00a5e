// Integration tests of GET|HEAD /<debug_file>/<debug_id>/<file> (spec §3) against the real server,
// storage, database, upload pipeline and memory cache.
#include <fstream>
#include <sstream>

#include "integration/download/download_fixture.h"
#include "storage/object_store.h"

namespace sigil::download {
namespace {

const std::string kId = "44E4EC8C2F41492B9369D6B9A059577C2";

// The lines "key,status" of sym_files_to_download.csv (comment and @ECHO lines skipped).
std::vector<std::pair<std::string, int>> ReadDownloadCsv() {
  std::ifstream in(std::string(SIGIL_SHARED_DIR) + "/testdata/uploads/sym_files_to_download.csv");
  EXPECT_TRUE(in.good());
  std::vector<std::pair<std::string, int>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line[0] == '@') continue;
    size_t comma = line.rfind(',');
    if (comma == std::string::npos) continue;
    out.emplace_back(line.substr(0, comma), std::stoi(line.substr(comma + 1)));
  }
  return out;
}

std::vector<std::string> Split3(const std::string& key) {
  std::vector<std::string> parts;
  std::stringstream ss(key);
  std::string p;
  while (std::getline(ss, p, '/')) parts.push_back(p);
  return parts;
}

TEST_F(DownloadIntegrationTest, SymFilesToDownloadCsvBehavesAsListed) {
  auto rows = ReadDownloadCsv();
  ASSERT_EQ(rows.size(), 7u);
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& [key, status] : rows) {
    if (status != 200) continue;
    auto parts = Split3(key);
    ASSERT_EQ(parts.size(), 3u) << key;
    files.emplace_back(key, SymFor(parts[0], parts[1]));
  }
  ASSERT_EQ(files.size(), 5u);
  Upload(files);
  test::HttpClient client(server_->base_url());
  for (const auto& [key, status] : rows) {
    auto r = client.Get("/" + key);
    EXPECT_EQ(r.status, status) << key;
    if (status == 200) {
      auto parts = Split3(key);
      EXPECT_EQ(r.body, SymFor(parts[0], parts[1])) << key;
    } else {
      EXPECT_EQ(r.body, "Symbol Not Found") << key;
    }
    EXPECT_EQ(client.Head("/" + key).status, status) << key;
  }
}

TEST_F(DownloadIntegrationTest, UploadedBytesComeBackIdenticalGzipOrDecoded) {
  const std::string sym = SymFor("xul.pdb", kId);
  Upload({{"xul.pdb/" + kId + "/xul.sym", sym}});
  const std::string path = "/xul.pdb/" + kId + "/xul.sym";

  test::HttpClient decoded(server_->base_url());
  decoded.set_decode_gzip(false);  // no Accept-Encoding: the server decodes
  auto plain = decoded.Get(path);
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, sym);
  EXPECT_FALSE(plain.Header("Content-Encoding").has_value());
  EXPECT_EQ(plain.Header("Content-Length"), std::to_string(sym.size()));
  EXPECT_EQ(plain.Header("Access-Control-Allow-Origin"), "*");

  test::HttpClient raw(server_->base_url());
  raw.set_decode_gzip(false);
  auto gz = raw.Get(path, {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.Header("Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), sym.size());
  auto inflated = upload::testing::Gunzip(gz.body);
  ASSERT_TRUE(inflated.ok());
  EXPECT_EQ(*inflated, sym);
  EXPECT_NE(gz.Header("ETag"), plain.Header("ETag"))
      << "the two representations have distinct validators";

  // Case-insensitive debug id.
  std::string lower = kId;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  EXPECT_EQ(decoded.Get("/xul.pdb/" + lower + "/xul.sym").body, sym);
}

TEST_F(DownloadIntegrationTest, HeadHitAndMiss) {
  Upload({{"a.pdb/" + kId + "/a.sym", SymFor("a.pdb", kId)}});
  test::HttpClient client(server_->base_url());
  auto hit = client.Head("/a.pdb/" + kId + "/a.sym");
  EXPECT_EQ(hit.status, 200);
  EXPECT_TRUE(hit.body.empty());
  EXPECT_TRUE(hit.Header("ETag").has_value());
  auto miss = client.Head("/b.pdb/" + kId + "/b.sym");
  EXPECT_EQ(miss.status, 404);
  auto debug = client.Head("/a.pdb/" + kId + "/a.sym", {{"Debug", "true"}});
  EXPECT_TRUE(debug.Header("Debug-Time").has_value());
  ASSERT_TRUE(download_->missing_symbols().Flush().ok());
  auto page = db_->QueryMissingSymbols({});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 0) << "HEAD misses are not recorded";
}

TEST_F(DownloadIntegrationTest, ConditionalRequestsAndRanges) {
  const std::string sym = SymFor("r.pdb", kId);
  Upload({{"r.pdb/" + kId + "/r.sym", sym}});
  const std::string path = "/r.pdb/" + kId + "/r.sym";
  test::HttpClient client(server_->base_url());
  client.set_decode_gzip(false);
  auto full = client.Get(path, {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(full.status, 200);
  auto etag = full.Header("ETag");
  auto modified = full.Header("Last-Modified");
  ASSERT_TRUE(etag && modified);
  auto inm = client.Get(path, {{"Accept-Encoding", "gzip"}, {"If-None-Match", *etag}});
  EXPECT_EQ(inm.status, 304);
  EXPECT_TRUE(inm.body.empty());
  auto ims = client.Get(path, {{"If-Modified-Since", *modified}});
  EXPECT_EQ(ims.status, 304);
  auto stale = client.Get(path, {{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"not-it\""}});
  EXPECT_EQ(stale.status, 200);

  // Ranges address the decoded bytes, with or without gzip acceptance.
  for (bool gzip : {false, true}) {
    test::HttpHeaders h = {{"Range", "bytes=100-1099"}};
    if (gzip) h.push_back({"Accept-Encoding", "gzip"});
    auto part = client.Get(path, h);
    EXPECT_EQ(part.status, 206);
    EXPECT_EQ(part.body, sym.substr(100, 1000));
    EXPECT_EQ(part.Header("Content-Range"), "bytes 100-1099/" + std::to_string(sym.size()));
    EXPECT_FALSE(part.Header("Content-Encoding").has_value());
  }
  auto tail = client.Get(path, {{"Range", "bytes=-10"}});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, sym.substr(sym.size() - 10));
  auto unsat = client.Get(path, {{"Range", "bytes=" + std::to_string(sym.size()) + "-"}});
  EXPECT_EQ(unsat.status, 416);
  EXPECT_EQ(unsat.Header("Content-Range"), "bytes */" + std::to_string(sym.size()));
}

TEST_F(DownloadIntegrationTest, TryVersusRegular) {
  Upload({{"t.pdb/" + kId + "/t.sym", SymFor("t.pdb", kId)}}, "try");
  test::HttpClient client(server_->base_url());
  EXPECT_EQ(client.Get("/t.pdb/" + kId + "/t.sym").status, 404);
  EXPECT_EQ(client.Get("/try/t.pdb/" + kId + "/t.sym").status, 200);
  EXPECT_EQ(client.Get("/t.pdb/" + kId + "/t.sym?try").status, 200);
  EXPECT_EQ(client.Head("/try/t.pdb/" + kId + "/t.sym").status, 200);
  // Regular storage is searched first for try requests.
  Upload({{"t.pdb/" + kId + "/t.sym", SymFor("t.pdb", kId) + "PUBLIC ffff 0 regular_only\n"}});
  auto r = client.Get("/try/t.pdb/" + kId + "/t.sym");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("regular_only"), std::string::npos);
}

TEST_F(DownloadIntegrationTest, IgnoredFilesNeverHitStorageOrTheReport) {
  test::HttpClient client(server_->base_url());
  for (const std::string& path : std::vector<std::string>{
           "/xul.pdb/" + kId + "/file.ptr",
           std::string("/xul.pdb/000000000000000000000000000000000/xul.sym"),
           "/xul.pdb/" + kId + "/xul.exe", "/try/xul.pdb/" + kId + "/xul.exe"}) {
    auto r = client.Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body, "Symbol Not Found (and ignored)") << path;
  }
  auto bad = client.Get("/xul.pdb/NOT-HEX/xul.sym");
  EXPECT_EQ(bad.status, 400);
  ASSERT_TRUE(download_->missing_symbols().Flush().ok());
  EXPECT_EQ(db_->QueryMissingSymbols({})->total, 0);
}

TEST_F(DownloadIntegrationTest, CodeIdRedirectAndSymInfo) {
  Upload({{"xul.pdb/" + kId + "/xul.sym", SymFor("xul.pdb", kId, "5CF2591C6859000", "xul.dll")}});
  test::HttpClient client(server_->base_url());
  auto r = client.Get("/xul.dll/5CF2591C6859000/xul.sym?code_file=xul.dll");
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.Header("Location"), "/xul.pdb/" + kId + "/xul.sym?code_file=xul.dll");
  auto info = client.Get("/api/syminfo/xul.dll/5CF2591C6859000");
  EXPECT_EQ(info.status, 200);
  EXPECT_NE(info.body.find("\"debug_filename\":\"xul.pdb\""), std::string::npos) << info.body;
  EXPECT_NE(info.body.find("\"generator\":\"sigil-test 1.0\""), std::string::npos) << info.body;
  EXPECT_NE(info.body.find("/xul.pdb/" + kId + "/xul.sym\""), std::string::npos) << info.body;
  EXPECT_EQ(client.Get("/api/syminfo/xul.pdb/" + kId).status, 200);
  EXPECT_EQ(client.Get("/api/syminfo/nope.dll/1234").status, 404);
}

TEST_F(DownloadIntegrationTest, CachedMissTurnsIntoHitAtOnceOnUpload) {
  const std::string key = "late.pdb/" + kId + "/late.sym";
  test::HttpClient client(server_->base_url());
  EXPECT_EQ(client.Get("/" + key).status, 404);
  // Written behind the service's back (no bus event): the memoized miss still answers.
  ASSERT_TRUE(store_->Put(key, "x", {}).ok());
  EXPECT_EQ(client.Get("/" + key).status, 404) << "the miss is memoized";
  EXPECT_EQ(client.Get("/" + key + "?_refresh").status, 200) << "?_refresh bypasses the memo";
  ASSERT_TRUE(store_->Delete(key).ok());
  EXPECT_EQ(client.Get("/" + key + "?_refresh").status, 404);
  // A real upload publishes the key on the bus: the next GET is a hit at once.
  const std::string sym = SymFor("late.pdb", kId);
  Upload({{key, sym}});
  auto r = client.Get("/" + key);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, sym);
}

}  // namespace
}  // namespace sigil::download
