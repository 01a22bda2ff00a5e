// A shared cache (Redis, memcached) going down under a running node, seen from outside: requests
// are still served (no caching, never errors), /__heartbeat__ answers 200 with status "warning"
// naming the cache, and once the cache is back the heartbeat is "ok" again without a restart of
// sigil.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "integration/support/services.h"
#include "integration/support/sigil_process.h"
#include "support/http_client.h"
#include "support/temp_dir.h"

namespace sigil::testing {
namespace {

const std::string kShared = SIGIL_SHARED_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

boost::json::value Heartbeat(test::HttpClient& client, long* status) {
  auto r = client.Get("/__heartbeat__");
  *status = r.status;
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  return ec ? boost::json::value(r.body) : v;
}

// Polls the heartbeat until its "status" is `want` (or 10 s pass); returns the last body.
boost::json::value WaitForHeartbeat(test::HttpClient& client, const std::string& want) {
  boost::json::value body;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    long status = 0;
    body = Heartbeat(client, &status);
    if (status == 200 && body.is_object() && body.at("status") == want.c_str()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  return body;
}

// Upload, download, a miss and symbolication through `node`, whose cache is down or up.
void ExpectServes(test::HttpClient& client, const std::string& token, const test::TempDir& dir,
                  const std::string& rel, const std::string& label) {
  SCOPED_TRACE(label);
  std::string root = dir.Join("upload-" + label);
  std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
  std::filesystem::copy_file(kShared + "/testdata/symbols/" + rel, root + "/" + rel);
  auto up = RunSigil({"upload", "--url", client.base_url(), "--token", token, root});
  EXPECT_EQ(up.exit_code, 0) << up.out << up.err;

  auto got = client.Get("/" + rel);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, ReadFile(kShared + "/testdata/symbols/" + rel));
  EXPECT_EQ(client.Head("/" + rel).status, 200);
  EXPECT_EQ(client.Get("/gone.pdb/00112233445566778899AABBCCDDEEFF1/gone.sym").status, 404);
  auto sym = client.Post("/symbolicate/v5",
                         R"({"memoryMap": [["qipcap64.pdb", "293A285ED25871934C4C44205044422E1"]],)"
                         R"( "stacks": [[[0, 4101]]]})",
                         {{"Content-Type", "application/json"}});
  EXPECT_EQ(sym.status, 200) << sym.body;
}

class CacheOutageTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<MemcachedServer> memcached_;
};

TEST_P(CacheOutageTest, RequestsAreServedAndHeartbeatWarnsUntilTheCacheIsBack) {
  std::string url;
  std::function<void()> kill;
  std::function<Status()> restart;
  if (GetParam() == "redis") {
    auto s = RedisServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().message();
    redis_ = std::move(*s);
    url = redis_->Url(0);
    kill = [this] { redis_->Kill(); };
    restart = [this] { return redis_->Restart(); };
  } else {
    auto s = MemcachedServer::Start();
    ASSERT_TRUE(s.ok()) << s.status().message();
    memcached_ = std::move(*s);
    url = memcached_->Url();
    kill = [this] { memcached_->Kill(); };
    restart = [this] { return memcached_->Restart(); };
  }

  test::TempDir dir;
  auto node = SigilProcess::Start({"--data-dir", dir.path(), "--cache", url});
  ASSERT_TRUE(node.ok()) << node.status().message();
  test::HttpClient client((*node)->base_url());
  const std::string token = (*node)->admin_token();
  ASSERT_FALSE(token.empty());

  auto hb = WaitForHeartbeat(client, "ok");
  EXPECT_EQ(hb.at("status"), "ok") << hb;
  ExpectServes(client, token, dir, "qipcap64.pdb/293A285ED25871934C4C44205044422E1/qipcap64.sym",
               "cache up");

  kill();
  long status = 0;
  hb = Heartbeat(client, &status);
  EXPECT_EQ(status, 200) << hb;
  ASSERT_TRUE(hb.is_object()) << hb;
  EXPECT_EQ(hb.at("status"), "warning") << hb;
  EXPECT_EQ(hb.at("checks").at("cache"), "warning");
  EXPECT_EQ(hb.at("checks").at("database"), "ok");
  EXPECT_EQ(hb.at("checks").at("storage"), "ok");
  EXPECT_FALSE(hb.at("details").at("cache").as_string().empty());
  // The file uploaded while the cache was up is still served, and so is everything new.
  ExpectServes(client, token, dir, "ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1/ntdll.sym",
               "cache down");

  ASSERT_TRUE(restart().ok());
  hb = WaitForHeartbeat(client, "ok");
  EXPECT_EQ(hb.at("status"), "ok") << hb;
  EXPECT_EQ(client.Get("/ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1/ntdll.sym").status, 200);
  EXPECT_EQ((*node)->Stop(), 0) << (*node)->Log();
}

INSTANTIATE_TEST_SUITE_P(Backends, CacheOutageTest, ::testing::Values("redis", "memcached"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace sigil::testing
