// Missing-symbol recording under concurrency and the two reports, against the real server and
// SQLite.
#include <atomic>
#include <set>
#include <thread>

#include "integration/download/download_fixture.h"

namespace sigil::download {
namespace {

TEST_F(DownloadIntegrationTest, ConcurrentMissesAreCountedExactly) {
  constexpr int kClients = 50;
  constexpr int kRequestsEach = 200;
  constexpr int kKeys = 20;
  auto key_of = [](int k) {
    char id[40];
    std::snprintf(id, sizeof id, "%032X%d", k * 7919 + 1, k % 10);
    std::string n = std::to_string(k);
    return "/miss" + n + ".pdb/" + std::string(id).substr(0, 33) + "/miss" + n +
           ".sym?code_file=miss" + n + ".dll&code_id=C0DE" + n;
  };
  std::atomic<int> not_404{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      test::HttpClient client(server_->base_url());
      for (int i = 0; i < kRequestsEach; ++i) {
        if (client.Get(key_of((c + i) % kKeys)).status != 404) ++not_404;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(not_404.load(), 0);

  test::HttpClient client(server_->base_url());
  auto page = client.Get("/api/missingsymbols/?batch_size=100&sort=count");
  ASSERT_EQ(page.status, 200) << page.body;
  auto json = page.body;
  int64_t total = 0;
  int rows = 0;
  for (size_t pos = json.find("\"count\":"); pos != std::string::npos;
       pos = json.find("\"count\":", pos + 1)) {
    total += std::stoll(json.substr(pos + 8));
    ++rows;
  }
  EXPECT_EQ(rows, kKeys);
  EXPECT_EQ(total, kClients * kRequestsEach) << json;
  EXPECT_NE(json.find("\"total_count\":20"), std::string::npos);

  auto csv = client.Get("/missingsymbols.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("Content-Type"), "text/csv");
  std::set<std::string> lines;
  std::string body = csv.body;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find("\r\n", start);
    lines.insert(body.substr(start, end - start));
    start = end == std::string::npos ? body.size() : end + 2;
  }
  EXPECT_EQ(lines.size(), static_cast<size_t>(kKeys + 1));
  EXPECT_TRUE(lines.count("debug_file,debug_id,code_file,code_id"));
  for (int k = 0; k < kKeys; ++k) {
    std::string path = key_of(k).substr(1);
    std::string df = path.substr(0, path.find('/'));
    std::string id = path.substr(df.size() + 1, 33);
    std::string n = std::to_string(k);
    EXPECT_TRUE(lines.count(df + "," + id + ",miss" + n + ".dll,C0DE" + n)) << df;
  }
  // Filters and pagination.
  auto one = client.Get("/api/missingsymbols/?debug_file=miss3.pdb");
  EXPECT_NE(one.body.find("\"total_count\":1"), std::string::npos) << one.body;
  auto paged = client.Get("/api/missingsymbols/?batch_size=7&page=3");
  EXPECT_NE(paged.body.find("\"total_count\":20"), std::string::npos);
  EXPECT_EQ(paged.status, 200);
  EXPECT_EQ(client.Get("/api/missingsymbols/?sort=hash").status, 400);
}

TEST_F(DownloadIntegrationTest, PendingCountsSurviveAGracefulStop) {
  test::HttpClient client(server_->base_url());
  for (int i = 0; i < 25; ++i) client.Get("/stop.pdb/44E4EC8C2F41492B9369D6B9A059577C2/stop.sym");
  server_.reset();
  download_.reset();  // the destructor flushes what the background flusher has not written yet
  auto page = db_->QueryMissingSymbols({});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_EQ(page->rows[0].count, 25);
}

}  // namespace
}  // namespace sigil::download
