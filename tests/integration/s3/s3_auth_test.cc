// Authentication and addressing against real servers: the signature-checking @20minutes/s3rver fork
// refuses a wrong secret, and the error says so (S3 error code and key); virtual-host addressing.
#include <gtest/gtest.h>

#include "integration/s3/plain_get.h"
#include "integration/support/s3rver.h"
#include "storage/s3/s3_object_store.h"

namespace sigil::storage::s3 {
namespace {

using sigil::testing::S3rver;
using sigil::testing::S3rverOptions;

S3Options OptionsFor(const S3rver& server, const std::string& secret) {
  S3Options o;
  o.bucket = server.bucket();
  o.endpoint = server.endpoint();
  o.credentials = {S3rver::kAccessKeyId, secret, ""};
  o.max_retries = 1;
  o.retry_base_ms = 10;
  return o;
}

class SignatureCheckingFork : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    S3rverOptions o;
    o.signature_checking_fork = true;
    auto server = S3rver::Start(o);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static S3rver* server_;
};
S3rver* SignatureCheckingFork::server_ = nullptr;

TEST_F(SignatureCheckingFork, RightSecretWorks) {
  S3ObjectStore store(OptionsFor(*server_, S3rver::kSecretAccessKey));
  ASSERT_TRUE(store.Put("ok/key.sym", "signed", {}).ok());
  auto info = store.Head("ok/key.sym");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 6u);
  auto listed = store.List("ok/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 1u);
  EXPECT_TRUE(store.Delete("ok/key.sym").ok());
  EXPECT_TRUE(store.Ping().ok());
}

TEST_F(SignatureCheckingFork, WrongSecretIsRefusedWithAClearError) {
  S3ObjectStore store(OptionsFor(*server_, "not-the-secret"));
  Status put = store.Put("xul.pdb/ABC/xul.sym", "data", {});
  ASSERT_FALSE(put.ok());
  // Sigil's own credentials were refused: an upstream failure, not the client's 403.
  EXPECT_EQ(put.code(), StatusCode::kUpstream);
  EXPECT_NE(put.message().find("HTTP 403"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("SignatureDoesNotMatch"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("xul.pdb/ABC/xul.sym"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("PutObject"), std::string::npos) << put.message();

  auto get = store.Get("xul.pdb/ABC/xul.sym");
  EXPECT_EQ(get.status().code(), StatusCode::kUpstream);
  EXPECT_NE(get.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  // HEAD responses have no body: the code comes from the status (or s3rver's x-amz-error-code).
  auto head = store.Head("xul.pdb/ABC/xul.sym");
  EXPECT_EQ(head.status().code(), StatusCode::kUpstream);
  EXPECT_NE(head.status().message().find("403"), std::string::npos);
  auto list = store.List("xul.pdb/");
  EXPECT_EQ(list.status().code(), StatusCode::kUpstream);
  EXPECT_NE(list.status().message().find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_EQ(store.Ping().code(), StatusCode::kUnavailable);
  // Refusals are not retried.
  EXPECT_EQ(store.client().retries(), 0u);
}

TEST_F(SignatureCheckingFork, UnknownAccessKeyIsRefused) {
  S3Options o = OptionsFor(*server_, S3rver::kSecretAccessKey);
  o.credentials.access_key_id = "NOBODY";
  S3ObjectStore store(o);
  Status put = store.Put("k.sym", "data", {});
  EXPECT_EQ(put.code(), StatusCode::kUpstream);
  EXPECT_NE(put.message().find("InvalidAccessKeyId"), std::string::npos) << put.message();
}

TEST_F(SignatureCheckingFork, PresignedUrlsAreChecked) {
  S3ObjectStore good(OptionsFor(*server_, S3rver::kSecretAccessKey));
  ASSERT_TRUE(good.Put("p.sym", "presigned", {}).ok());
  auto [status, body] = PlainGet(*good.PublicUrl("p.sym"));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "presigned");
  S3ObjectStore bad(OptionsFor(*server_, "wrong"));
  auto [bad_status, bad_body] = PlainGet(*bad.PublicUrl("p.sym"));
  EXPECT_EQ(bad_status, 403);
  EXPECT_NE(bad_body.find("SignatureDoesNotMatch"), std::string::npos) << bad_body;
}

TEST(S3VirtualHost, BucketInTheHostName) {
  // <bucket>.s3.localhost resolves to loopback (libcurl resolves *.localhost itself). The fork
  // checks virtual-host v4 signatures against /<bucket>/<key> (a bug: S3 signs the path as sent,
  // /<key>), so this runs on s3rver 3.7, which checks none; the virtual-host signature itself is
  // covered by the S3 documentation vectors (sigv4_signer_test, ClientPresignsVirtualHostUrl).
  S3rverOptions so;
  so.service_endpoint = "localhost";
  auto server = S3rver::Start(so);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  S3Options o = OptionsFor(**server, S3rver::kSecretAccessKey);
  o.endpoint = "http://s3.localhost:" + std::to_string((*server)->port());
  o.addressing = Addressing::kVirtual;
  o.prefix = "vh";
  S3ObjectStore store(o);
  ASSERT_TRUE(store.Put("a/b.sym", "virtual", {}).ok());
  auto info = store.Head("a/b.sym");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 7u);
  auto listed = store.List("");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key, "a/b.sym");
  EXPECT_TRUE(store.Ping().ok());
  auto url = store.PublicUrl("a/b.sym");
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->rfind("http://" + (*server)->bucket() +
                           ".s3.localhost:" + std::to_string((*server)->port()) + "/vh/a/b.sym?",
                       0),
            0u)
      << *url;
  // And the object really is in that bucket: path-style access sees it.
  S3Options path_style = OptionsFor(**server, S3rver::kSecretAccessKey);
  path_style.prefix = "vh";
  EXPECT_TRUE(*S3ObjectStore(path_style).Exists("a/b.sym"));
}

}  // namespace
}  // namespace sigil::storage::s3
