// Downloads from S3 storage through the real binary, in each of the three modes of
// docs/storage-s3.md: a 302 to the public URL when one is configured, else a 302 to a presigned GET
// URL (its lifetime configurable), else (presign_expiry=0) sigil proxies the bytes itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "integration/support/s3rver.h"
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

class S3DownloadModesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s3 = S3rver::Start();
    ASSERT_TRUE(s3.ok()) << s3.status().message();
    s3_ = std::move(*s3);
    setenv("AWS_ACCESS_KEY_ID", S3rver::kAccessKeyId, 1);
    setenv("AWS_SECRET_ACCESS_KEY", S3rver::kSecretAccessKey, 1);
  }
  void TearDown() override {
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
  }

  // s3://<bucket>/v1?endpoint=...&region=us-east-1 plus `extra` parameters.
  std::string StorageUrl(const std::string& extra = "") const {
    return "s3://" + s3_->bucket() + "/v1?endpoint=" + s3_->endpoint() + "&region=us-east-1" +
           extra;
  }

  // A node on its own SQLite database and in-process cache; only the bucket is shared.
  std::unique_ptr<SigilProcess> StartNode(const std::string& name,
                                          std::vector<std::string> extra_args) {
    std::vector<std::string> args = {"--data-dir", dir_.Join(name)};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    auto node = SigilProcess::Start(args);
    EXPECT_TRUE(node.ok()) << node.status().message();
    return node.ok() ? std::move(*node) : nullptr;
  }

  // Uploads the qipcap64 symbol file through `node` with `sigil upload` (store-layout directory).
  void UploadSymbol(SigilProcess& node) {
    std::string root = dir_.Join("upload");
    std::filesystem::create_directories(std::filesystem::path(root + "/" + kSymRel).parent_path());
    std::filesystem::copy_file(kShared + "/testdata/symbols/" + kSymRel, root + "/" + kSymRel,
                               std::filesystem::copy_options::overwrite_existing);
    auto r = RunSigil({"upload", "--url", node.base_url(), "--token", node.admin_token(), root});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  std::unique_ptr<S3rver> s3_;
  test::TempDir dir_;
};

TEST_F(S3DownloadModesTest, PublicUrlPresignedAndProxied) {
  const std::string original = ReadFile(kShared + "/testdata/symbols/" + kSymRel);
  ASSERT_FALSE(original.empty());
  // Plain s3rver serves objects without checking signatures, so the bucket URL works as a
  // "public" URL (a CDN or public bucket in production).
  const std::string public_base = s3_->endpoint() + "/" + s3_->bucket();

  auto public_node = StartNode("public", {"--storage", StorageUrl("&public_url=" + public_base)});
  ASSERT_NE(public_node, nullptr);
  UploadSymbol(*public_node);

  test::HttpClient via_public(public_node->base_url());
  auto redirect = via_public.Get("/" + kSymRel);
  ASSERT_EQ(redirect.status, 302) << redirect.body;
  EXPECT_EQ(redirect.Header("Location"), public_base + "/v1/" + kSymRel);
  test::HttpClient anywhere;
  auto fetched = anywhere.Get(*redirect.Header("Location"));
  EXPECT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.body, original);

  // Without public_url: a presigned GET URL, valid for --presign-expiry-s seconds.
  auto presign_node =
      StartNode("presign", {"--storage", StorageUrl(), "--presign-expiry-s", "120"});
  ASSERT_NE(presign_node, nullptr);
  test::HttpClient via_presign(presign_node->base_url());
  auto presigned = via_presign.Get("/" + kSymRel);
  ASSERT_EQ(presigned.status, 302) << presigned.body;
  std::string location = presigned.Header("Location").value_or("");
  EXPECT_EQ(location.rfind(s3_->endpoint() + "/" + s3_->bucket() + "/v1/" + kSymRel + "?", 0), 0u)
      << location;
  EXPECT_NE(location.find("X-Amz-Expires=120"), std::string::npos) << location;
  EXPECT_NE(location.find("X-Amz-Signature="), std::string::npos) << location;
  fetched = anywhere.Get(location);
  EXPECT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.body, original);

  // presign_expiry=0 in the URL: sigil streams the object itself, as stored (gzip) to clients that
  // accept it, decoded for the others.
  auto proxy_node = StartNode("proxy", {"--storage", StorageUrl("&presign_expiry=0")});
  ASSERT_NE(proxy_node, nullptr);
  test::HttpClient via_proxy(proxy_node->base_url());
  auto proxied = via_proxy.Get("/" + kSymRel);
  ASSERT_EQ(proxied.status, 200) << proxied.body;
  EXPECT_FALSE(proxied.Header("Location").has_value());
  EXPECT_EQ(proxied.body, original);
  test::HttpClient identity_client(proxy_node->base_url());
  identity_client.set_decode_gzip(false);
  auto identity = identity_client.Get("/" + kSymRel);
  ASSERT_EQ(identity.status, 200);
  EXPECT_FALSE(identity.Header("Content-Encoding").has_value());
  EXPECT_EQ(identity.body, original);
  auto head = via_proxy.Head("/" + kSymRel);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(via_proxy.Get("/nope.pdb/00112233445566778899AABBCCDDEEFF1/nope.sym").status, 404);

  for (auto* node : {public_node.get(), presign_node.get(), proxy_node.get()}) {
    EXPECT_EQ(node->Stop(), 0) << node->Log();
  }
}

}  // namespace
}  // namespace sigil::testing
