// Two `sigil serve` nodes sharing S3 storage and a memcached cache: a module node B remembered as
// missing (its in-process symbolication negative cache, 600 s) is found right after an upload
// through node A, because the memcached InvalidationBus carries the upload to B.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
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

bool FoundOn(test::HttpClient& client) {
  auto r = client.Post("/symbolicate/v5",
                       R"({"memoryMap": [["qipcap64.pdb", "293A285ED25871934C4C44205044422E1"]],)"
                       R"( "stacks": [[[0, 4101]]]})",
                       {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
  if (r.status != 200) return false;
  auto json = boost::json::parse(r.body);
  return json.at("results")
             .at(0)
             .at("found_modules")
             .at("qipcap64.pdb/293A285ED25871934C4C44205044422E1") == true;
}

TEST(MemcachedNodesTest, UploadOnADropsBsRememberedMiss) {
  auto memcached = MemcachedServer::Start();
  ASSERT_TRUE(memcached.ok()) << memcached.status().message();
  auto s3 = S3rver::Start();
  ASSERT_TRUE(s3.ok()) << s3.status().message();
  setenv("AWS_ACCESS_KEY_ID", S3rver::kAccessKeyId, 1);
  setenv("AWS_SECRET_ACCESS_KEY", S3rver::kSecretAccessKey, 1);

  test::TempDir dir;
  auto node = [&](const std::string& name) {
    return SigilProcess::Start(
        {"--data-dir", dir.Join(name), "--storage",
         "s3://" + (*s3)->bucket() + "/v1?endpoint=" + (*s3)->endpoint() + "&region=us-east-1",
         "--cache", (*memcached)->Url()});
  };
  auto a = node("a");
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = node("b");
  ASSERT_TRUE(b.ok()) << b.status().message();
  test::HttpClient via_b((*b)->base_url());

  EXPECT_FALSE(FoundOn(via_b));
  EXPECT_FALSE(FoundOn(via_b)) << "remembered as missing";

  std::string root = dir.Join("upload");
  std::filesystem::create_directories(std::filesystem::path(root + "/" + kSymRel).parent_path());
  std::filesystem::copy_file(kShared + "/testdata/symbols/" + kSymRel, root + "/" + kSymRel);
  auto up = RunSigil({"upload", "--url", (*a)->base_url(), "--token", (*a)->admin_token(), root});
  ASSERT_EQ(up.exit_code, 0) << up.out << up.err;

  bool found = false;
  for (int i = 0; i < 100 && !found; ++i) {
    found = FoundOn(via_b);
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(found) << "node B still remembers the module as missing after the upload on A";

  EXPECT_EQ((*a)->Stop(), 0) << (*a)->Log();
  EXPECT_EQ((*b)->Stop(), 0) << (*b)->Log();
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

}  // namespace
}  // namespace sigil::testing
