// `sigil upload` against a real server (directory and zip uploads, 4xx errors) and against a
// scripted origin (retries on 503 and connection errors).
#include "cli/upload_command.h"

#include <gtest/gtest.h>

#include <atomic>
#include <sstream>

#include "integration/upload_fixture.h"
#include "upload/testing/http_origin.h"

namespace sigil::upload {
namespace {

class UploadCommandTest : public UploadIntegrationTest {
 protected:
  cli::UploadOptions Options(std::vector<std::string> paths) {
    cli::UploadOptions o;
    o.url = server_->base_url();
    o.token = "upload";
    o.paths = std::move(paths);
    o.first_backoff = std::chrono::milliseconds(10);
    return o;
  }
};

TEST_F(UploadCommandTest, UploadsDirectoryAndZip) {
  dir_.WriteFile("store/a.pdb/AB12/a.sym", "MODULE windows x86 AB12 a.pdb\nPUBLIC 10 0 f\n");
  dir_.WriteFile("store/b.pdb/CD34/b.dll", "binary");
  std::ostringstream out, err;
  int rc = cli::RunUpload(Options({dir_.Join("store")}), out, err);
  EXPECT_EQ(rc, 0) << err.str();
  EXPECT_NE(out.str().find("store.zip: stored 2, skipped 0, ignored 0"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("\"upload\""), std::string::npos);
  EXPECT_EQ(StoredKeys(), (std::vector<std::string>{"a.pdb/AB12/a.sym", "b.pdb/CD34/b.dll"}));

  std::ostringstream out2, err2;
  rc = cli::RunUpload(Options({kUploadsDir + "sample.zip", dir_.Join("store")}), out2, err2);
  EXPECT_EQ(rc, 0) << err2.str();
  EXPECT_NE(out2.str().find("sample.zip: stored 2, skipped 0, ignored 1"), std::string::npos)
      << out2.str();
  EXPECT_NE(out2.str().find("store.zip: stored 0, skipped 2, ignored 0"), std::string::npos)
      << out2.str();
}

TEST_F(UploadCommandTest, ClientErrorsFailWithoutRetry) {
  std::ostringstream out, err;
  int rc = cli::RunUpload(Options({kUploadsDir + "invalid.zip"}), out, err);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(err.str().find("HTTP 400"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("Unrecognized file pattern"), std::string::npos);
  EXPECT_EQ(err.str().find("retrying"), std::string::npos);
  std::ostringstream out2, err2;
  EXPECT_EQ(cli::RunUpload(Options({dir_.Join("does-not-exist")}), out2, err2), 1);
}

TEST_F(UploadCommandTest, RetriesOnServerErrorsThenSucceeds) {
  std::atomic<int> calls{0};
  testing::HttpOrigin origin([&](const std::string&) -> testing::HttpOrigin::Reply {
    if (++calls <= 2) return {503, {}, "{\"error\": \"busy\"}"};
    return {201,
            {{"Content-Type", "application/json"}},
            "{\"upload\": {\"skipped_keys\": [], \"ignored_keys\": [\"build-symbols.txt\"]}}"};
  });
  cli::UploadOptions o = Options({kUploadsDir + "sample.zip"});
  o.url = origin.Url("");
  std::ostringstream out, err;
  EXPECT_EQ(cli::RunUpload(o, out, err), 0) << err.str();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_NE(err.str().find("attempt 2 failed"), std::string::npos) << err.str();

  o.max_tries = 2;
  o.url = "http://127.0.0.1:1";  // connection refused every time
  std::ostringstream out2, err2;
  EXPECT_EQ(cli::RunUpload(o, out2, err2), 1);
  EXPECT_NE(err2.str().find("failed after 2 tries"), std::string::npos) << err2.str();
}

}  // namespace
}  // namespace sigil::upload
