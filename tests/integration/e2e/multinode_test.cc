// The scale-out topology on loopback: PostgreSQL 15, Redis, s3rver, two `sigil serve` nodes and
// nginx in front as a round-robin balancer (docs/deployment.md). Every node is the real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "integration/support/s3rver.h"
#include "integration/support/services.h"
#include "integration/support/sigil_process.h"
#include "support/http_client.h"
#include "support/temp_dir.h"

namespace sigil::testing {
namespace {

const std::string kShared = SIGIL_SHARED_DIR;
const std::string kSymRel = "qipcap64.pdb/293A285ED25871934C4C44205044422E1/qipcap64.sym";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// nginx as a round-robin balancer over `upstreams`, on a free loopback port.
class Nginx {
 public:
  static Result<std::unique_ptr<Nginx>> Start(const std::vector<std::string>& upstreams,
                                              const std::string& dir) {
    std::unique_ptr<Nginx> n(new Nginx());
    n->port_ = FreeLoopbackPort();
    std::string servers;
    for (const auto& u : upstreams) servers += "    server " + u + ";\n";
    std::string conf =
        std::string(getuid() == 0 ? "user root;\n" : "") +
        "worker_processes 1;\ndaemon off;\npid " + dir + "/nginx.pid;\nerror_log " + dir +
        "/error.log;\nevents { worker_connections 256; }\nhttp {\n  access_log off;\n"
        "  client_body_temp_path " +
        dir + "/body;\n  proxy_temp_path " + dir +
        "/proxy;\n"
        "  fastcgi_temp_path " +
        dir + "/fcgi;\n  uwsgi_temp_path " + dir +
        "/uwsgi;\n"
        "  scgi_temp_path " +
        dir + "/scgi;\n  upstream sigil {\n" + servers +
        "    keepalive 16;\n  }\n  server {\n    listen 127.0.0.1:" + std::to_string(n->port_) +
        ";\n    client_max_body_size 2g;\n    proxy_request_buffering off;\n"
        "    location / {\n      proxy_pass http://sigil;\n      proxy_http_version 1.1;\n"
        "      proxy_set_header Connection \"\";\n    }\n  }\n}\n";
    std::ofstream(dir + "/nginx.conf") << conf;
    SIGIL_RETURN_IF_ERROR(n->process_.Spawn(
        {"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf"}, dir + "/nginx.out"));
    test::HttpClient probe("http://127.0.0.1:" + std::to_string(n->port_));
    for (int i = 0; i < 200; ++i) {
      if (probe.Get("/__lbheartbeat__").status == 200) return n;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return Internal("nginx did not come up: " + ReadFile(dir + "/error.log") +
                    ReadFile(dir + "/nginx.out"));
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  Nginx() = default;
  int port_ = 0;
  ChildProcess process_;
};

std::string MakeZip(const test::TempDir& dir, const std::string& name, const std::string& rel,
                    const std::string& source) {
  std::string root = dir.Join("zip-" + name);
  std::filesystem::create_directories(std::filesystem::path(root + "/" + rel).parent_path());
  std::filesystem::copy_file(source, root + "/" + rel,
                             std::filesystem::copy_options::overwrite_existing);
  std::string zip = dir.Join(name);
  std::string cmd = "cd '" + root + "' && zip -qr '" + zip + "' .";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  return zip;
}

// GET through a 302 (presigned S3 URL) or a direct 200; returns the decoded bytes.
std::string Fetch(test::HttpClient& client, const std::string& path) {
  auto r = client.Get(path);
  if (r.status == 302) {
    auto location = r.Header("Location");
    EXPECT_TRUE(location.has_value());
    test::HttpClient other;
    r = other.Get(*location);
  }
  EXPECT_EQ(r.status, 200) << path << ": " << r.body;
  return r.body;
}

TEST(MultiNodeTest, TwoStatelessNodesBehindABalancer) {
  auto pg = PostgresServer::Start();
  ASSERT_TRUE(pg.ok()) << pg.status().message();
  auto db_url = (*pg)->CreateDatabase("sigil");
  ASSERT_TRUE(db_url.ok()) << db_url.status().message();
  auto redis = RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status().message();
  auto s3 = S3rver::Start();
  ASSERT_TRUE(s3.ok()) << s3.status().message();
  setenv("AWS_ACCESS_KEY_ID", S3rver::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", S3rver::kSecretAccessKey, 1);

  test::TempDir dir;
  auto node_args = [&](const std::string& name) {
    return std::vector<std::string>{
        "--data-dir",
        dir.Join(name),
        "--storage",
        "s3://" + (*s3)->bucket() + "/v1?endpoint=" + (*s3)->endpoint() + "&region=us-east-1",
        "--database",
        *db_url,
        "--cache",
        (*redis)->Url(0),
        "--missing-flush-ms",
        "100"};
  };
  auto a = SigilProcess::Start(node_args("a"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = SigilProcess::Start(node_args("b"));
  ASSERT_TRUE(b.ok()) << b.status().message();
  const std::string token = (*a)->admin_token();
  ASSERT_FALSE(token.empty()) << (*a)->Log();
  EXPECT_EQ((*b)->admin_token(), "") << "node B shares node A's database: no second first start";

  std::filesystem::create_directories(dir.Join("nginx"));
  auto lb = Nginx::Start({(*a)->address(), (*b)->address()}, dir.Join("nginx"));
  ASSERT_TRUE(lb.ok()) << lb.status().message();

  test::HttpClient via_a((*a)->base_url()), via_b((*b)->base_url()), via_lb((*lb)->base_url());
  for (auto* c : {&via_a, &via_b}) {
    auto hb = boost::json::parse(c->Get("/__heartbeat__").body);
    EXPECT_EQ(hb.at("status"), "ok") << hb;
    EXPECT_EQ(hb.at("checks").at("cache"), "ok");
  }

  const std::string request =
      R"({"memoryMap": [["qipcap64.pdb", "293A285ED25871934C4C44205044422E1"]], "stacks": [[[0, 4101]]]})";
  auto found_on = [&](test::HttpClient& c) {
    auto r = c.Post("/symbolicate/v5", request, {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    auto json = boost::json::parse(r.body);
    return json.at("results")
               .at(0)
               .at("found_modules")
               .at("qipcap64.pdb/293A285ED25871934C4C44205044422E1") == true;
  };

  // A miss cached on node B: the existence memo (shared, in Redis) and the symbolication negative
  // cache (node B's own memory) ...
  EXPECT_EQ(via_b.Get("/" + kSymRel).status, 404);
  EXPECT_EQ(via_b.Get("/" + kSymRel).status, 404);
  EXPECT_FALSE(found_on(via_b));
  // ... turns into a hit right after an upload on node A (Redis pub/sub invalidation).
  std::string zip = MakeZip(dir, "qipcap.zip", kSymRel, kShared + "/testdata/symbols/" + kSymRel);
  auto up = via_a.PostMultipart("/upload/", {{.name = "qipcap.zip", .file_path = zip}},
                                {{"Auth-Token", token}});
  ASSERT_EQ(up.status, 201) << up.body;
  long status_b = 0;
  for (int i = 0; i < 50 && status_b != 302 && status_b != 200; ++i) {
    status_b = via_b.Get("/" + kSymRel).status;
    if (status_b == 404) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(status_b == 302 || status_b == 200) << status_b;
  // ... and node B's in-process negative cache heard the upload too (negative_ttl_s is 600 s).
  bool found_b = false;
  for (int i = 0; i < 50 && !found_b; ++i) {
    found_b = found_on(via_b);
    if (!found_b) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(found_b) << "node B still remembers the module as missing after the upload on A";

  // An upload through the balancer; both nodes then serve both files with identical bytes.
  const std::string other_rel = "ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1/ntdll.sym";
  std::string zip2 =
      MakeZip(dir, "ntdll.zip", other_rel, kShared + "/testdata/symbols/" + other_rel);
  auto up2 = via_lb.PostMultipart("/upload/", {{.name = "ntdll.zip", .file_path = zip2}},
                                  {{"Auth-Token", token}});
  ASSERT_EQ(up2.status, 201) << up2.body;
  for (auto* c : {&via_a, &via_b}) {
    EXPECT_EQ(Fetch(*c, "/" + kSymRel), ReadFile(kShared + "/testdata/symbols/" + kSymRel));
    EXPECT_EQ(Fetch(*c, "/" + other_rel), ReadFile(kShared + "/testdata/symbols/" + other_rel));
  }

  // Symbolication on both nodes gives the same answer.
  for (auto* c : {&via_a, &via_b, &via_lb}) {
    auto r = c->Post("/symbolicate/v5", request, {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto frame = boost::json::parse(r.body).at("results").at(0).at("stacks").at(0).at(0);
    EXPECT_EQ(frame.at("function"), "DllMain(void*, unsigned long, void*)");
    EXPECT_EQ(frame.at("module"), "qipcap64.dll");
  }

  // Missing-symbol counts from both nodes add up exactly.
  const std::string miss =
      "/gone.pdb/00112233445566778899AABBCCDDEEFF1/gone.sym?code_file=gone.dll&code_id=5F";
  for (int i = 0; i < 30; ++i) ASSERT_EQ(via_a.Get(miss).status, 404);
  for (int i = 0; i < 45; ++i) ASSERT_EQ(via_b.Get(miss).status, 404);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(via_lb.Get(miss).status, 404);
  int64_t total = -1;
  for (int attempt = 0; attempt < 100 && total != 95; ++attempt) {
    auto page = via_a.Get("/api/missingsymbols/?debug_file=gone.pdb");
    ASSERT_EQ(page.status, 200) << page.body;
    total = 0;
    auto json = boost::json::parse(page.body);
    for (const auto& row : json.at("records").as_array()) {
      total += row.at("count").as_int64();
    }
    if (total != 95) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(total, 95);

  EXPECT_EQ((*a)->Stop(), 0);
  EXPECT_EQ((*b)->Stop(), 0);
}

}  // namespace
}  // namespace sigil::testing
