#include "storage/s3/s3_url.h"

#include <gtest/gtest.h>

#include <map>

namespace sigil::storage::s3 {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

Result<S3Options> Parse(std::string_view url, std::map<std::string, std::string> env = {}) {
  return ParseS3Url(url, FakeEnv(std::move(env)));
}

TEST(S3Url, CustomEndpointDefaultsToPathStyle) {
  auto o = Parse(
      "s3://my-bucket/sym/prefix/?endpoint=http://"
      "127.0.0.1:9000&region=eu-central-1&public_url=https://"
      "cdn.example.com/x/&presign_expiry=600");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->bucket, "my-bucket");
  EXPECT_EQ(o->prefix, "sym/prefix");
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(o->region, "eu-central-1");
  EXPECT_EQ(o->addressing, Addressing::kPath);
  EXPECT_EQ(o->public_url, "https://cdn.example.com/x");
  EXPECT_EQ(o->presign_expiry_s, 600);
  EXPECT_EQ(o->exists, ExistsStrategy::kHead);
}

TEST(S3Url, AwsDefaults) {
  auto o = Parse("s3://symbols", {{"AWS_DEFAULT_REGION", "us-west-2"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->prefix, "");
  EXPECT_EQ(o->region, "us-west-2");
  EXPECT_EQ(o->endpoint, "https://s3.us-west-2.amazonaws.com");
  EXPECT_EQ(o->addressing, Addressing::kVirtual);
  EXPECT_EQ(o->presign_expiry_s, 300);
  // AWS_REGION wins over AWS_DEFAULT_REGION; the URL wins over both.
  EXPECT_EQ(Parse("s3://symbols", {{"AWS_REGION", "a-1"}, {"AWS_DEFAULT_REGION", "b-2"}})->region,
            "a-1");
  EXPECT_EQ(Parse("s3://symbols?region=c-3", {{"AWS_REGION", "a-1"}})->region, "c-3");
  // Dotted bucket names cannot use virtual hosts over TLS (the wildcard certificate does not
  // match).
  EXPECT_EQ(Parse("s3://my.bucket")->addressing, Addressing::kPath);
}

TEST(S3Url, AllParameters) {
  auto o = Parse(
      "s3://b-1/p?endpoint=https://"
      "minio.local&addressing=virtual&exists=list&connect_timeout_ms=100&"
      "timeout_ms=0&stall_timeout_ms=2000&retries=5&max_idle_connections=3&multipart_threshold="
      "10485760&part_size=5242880&verify_tls=false&presign_expiry=0");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->addressing, Addressing::kVirtual);
  EXPECT_EQ(o->exists, ExistsStrategy::kList);
  EXPECT_EQ(o->connect_timeout_ms, 100);
  EXPECT_EQ(o->timeout_ms, 0);
  EXPECT_EQ(o->stall_timeout_ms, 2000);
  EXPECT_EQ(o->max_retries, 5);
  EXPECT_EQ(o->max_idle_connections, 3u);
  EXPECT_EQ(o->multipart_threshold, 10485760u);
  EXPECT_EQ(o->part_size, 5242880u);
  EXPECT_FALSE(o->verify_tls);
  EXPECT_EQ(o->presign_expiry_s, 0);
}

TEST(S3Url, DefaultPresignExpiryAppliesOnlyWithoutTheParameter) {
  EXPECT_EQ(ParseS3Url("s3://bucket", FakeEnv({}), 0)->presign_expiry_s, 0);
  EXPECT_EQ(ParseS3Url("s3://bucket", FakeEnv({}), 900)->presign_expiry_s, 900);
  EXPECT_EQ(ParseS3Url("s3://bucket?presign_expiry=60", FakeEnv({}), 900)->presign_expiry_s, 60);
  EXPECT_FALSE(ParseS3Url("s3://bucket", FakeEnv({}), 700000).ok());
}

TEST(S3Url, PercentEncodedParameters) {
  auto o = Parse("s3://bucket/a%20b?public_url=https%3A%2F%2Fcdn.example.com%2Fp");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->prefix, "a b");
  EXPECT_EQ(o->public_url, "https://cdn.example.com/p");
}

void ExpectError(std::string_view url, std::string_view needle) {
  auto o = Parse(url);
  ASSERT_FALSE(o.ok()) << url;
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find(needle), std::string::npos)
      << url << " -> " << o.status().message();
}

TEST(S3Url, ErrorsNameTheProblem) {
  ExpectError("file:///tmp/x", "s3://");
  ExpectError("s3:///prefix", "bucket");
  ExpectError("s3://ab", "3 to 63");
  ExpectError("s3://Bad_Bucket!", "may only contain");
  ExpectError("s3://-bucket", "start and end");
  ExpectError("s3://Upper?addressing=virtual", "addressing=path");
  ExpectError("s3://bucket?endpoint=ftp://x", "http:// or https://");
  ExpectError("s3://bucket?endpoint=http://host/path", "must not have a path");
  ExpectError("s3://bucket?endpoint=not a url", "endpoint");
  ExpectError("s3://bucket?addressing=sideways", "addressing");
  ExpectError("s3://bucket?presign_expiry=604801", "presign_expiry");
  ExpectError("s3://bucket?presign_expiry=-1", "presign_expiry");
  ExpectError("s3://bucket?retries=x", "retries");
  ExpectError("s3://bucket?part_size=1024", "part_size");
  ExpectError("s3://bucket?verify_tls=maybe", "verify_tls");
  ExpectError("s3://bucket?exists=guess", "exists");
  ExpectError("s3://bucket?endpont=http://x", "unknown parameter 'endpont'");
  ExpectError("s3://bucket/a/../b", "prefix");
  ExpectError("s3://user:pw@bucket", "credentials come from");
  ExpectError("s3://bucket?region=us%20east", "region");
}

TEST(S3Url, ValidateOptionsBuiltByHand) {
  S3Options o;
  o.bucket = "bucket";
  o.endpoint = "http://127.0.0.1:1";
  EXPECT_TRUE(ValidateS3Options(o).ok());
  o.list_page_size = 0;
  EXPECT_FALSE(ValidateS3Options(o).ok());
  o.list_page_size = 1000;
  o.endpoint = "";
  EXPECT_FALSE(ValidateS3Options(o).ok());
}

}  // namespace
}  // namespace sigil::storage::s3
