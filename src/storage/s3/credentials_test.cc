#include "storage/s3/credentials.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
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

constexpr const char* kFile = R"(# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key=secret/default+
; another comment

[ ci ]
aws_access_key_id = AKIDCI
aws_secret_access_key = secretci
aws_session_token = tok==
region = ignored
[broken]
aws_access_key_id = only-the-id
)";

class CredentialsFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/sigil-credentials-test";
    std::ofstream(path_) << kFile;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST(Credentials, EnvironmentFirst) {
  auto c = LoadCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AKID"},
                                    {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                                    {"AWS_SESSION_TOKEN", "TOKEN"},
                                    {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKID");
  EXPECT_EQ(c->secret_access_key, "SECRET");
  EXPECT_EQ(c->session_token, "TOKEN");
}

TEST(Credentials, HalfSetEnvironmentIsAnError) {
  auto c = LoadCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AKID"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  c = LoadCredentials(FakeEnv({{"AWS_SECRET_ACCESS_KEY", "S"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("AWS_ACCESS_KEY_ID is not"), std::string::npos);
}

TEST_F(CredentialsFile, DefaultProfile) {
  auto c = LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path_}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->secret_access_key, "secret/default+");
  EXPECT_EQ(c->session_token, "");
}

TEST_F(CredentialsFile, NamedProfile) {
  auto c =
      LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path_}, {"AWS_PROFILE", "ci"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDCI");
  EXPECT_EQ(c->secret_access_key, "secretci");
  EXPECT_EQ(c->session_token, "tok==");
}

TEST_F(CredentialsFile, HomeDirectory) {
  const std::string home = ::testing::TempDir() + "/sigil-home";
  std::filesystem::create_directories(home + "/.aws");
  std::ofstream(home + "/.aws/credentials") << kFile;
  auto c = LoadCredentials(FakeEnv({{"HOME", home}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  std::filesystem::remove_all(home);
}

TEST_F(CredentialsFile, ErrorsNameProfileAndFile) {
  auto c =
      LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path_}, {"AWS_PROFILE", "nope"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'nope' not found in " + path_), std::string::npos);
  c = LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path_}, {"AWS_PROFILE", "broken"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("aws_secret_access_key"), std::string::npos);
  c = LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/creds"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("/nonexistent/creds"), std::string::npos);
  c = LoadCredentials(FakeEnv({}));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("HOME"), std::string::npos);
}

TEST(Credentials, MalformedFile) {
  auto c = ParseCredentialsFile("[default\naws_access_key_id=x\n", "default", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("f:1"), std::string::npos);
  c = ParseCredentialsFile("[default]\njust a line\n", "default", "f");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("f:2"), std::string::npos);
  // Lines of other profiles are not parsed strictly.
  EXPECT_TRUE(ParseCredentialsFile("[other]\ngarbage\n[default]\naws_access_key_id=a\n"
                                   "aws_secret_access_key=b\r\n",
                                   "default", "f")
                  .ok());
}

}  // namespace
}  // namespace sigil::storage::s3
