#include "common/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace sigil {
namespace {

std::string WriteTemp(const std::string& text) {
  char path[] = "/tmp/sigil-config-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAreValidAndDocumented) {
  auto c = LoadConfig("", nullptr, {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen, "127.0.0.1:8000");
  EXPECT_EQ(c->EffectiveStorageUrl(), "file://./sigil-data/symbols");
  EXPECT_EQ(c->EffectiveDatabaseUrl(), "sqlite://./sigil-data/sigil.db");
  auto settings = ListSettings();
  ASSERT_GT(settings.size(), 40u);
  for (const auto& s : settings) {
    EXPECT_FALSE(s.help.empty()) << s.name;
    EXPECT_EQ(s.env.rfind("SIGIL_", 0), 0u) << s.name;
  }
}

TEST(ConfigTest, PrecedenceFlagsOverEnvOverFile) {
  std::string file = WriteTemp(
      "[server]\nlisten = \"127.0.0.1:1111\"\nworker_queue = 7\n"
      "[storage]\ndata_dir = \"/tmp/from-file\"\n"
      "[upload]\ncompress_extensions = [\"sym\", \"txt\"]\n");
  std::vector<std::string> env_strings = {"SIGIL_LISTEN=127.0.0.1:2222",
                                          "SIGIL_DATA_DIR=/tmp/from-env", "PATH=/usr/bin"};
  std::vector<char*> env;
  for (auto& s : env_strings) env.push_back(s.data());
  env.push_back(nullptr);

  auto c = LoadConfig(file, env.data(), {{"listen", "127.0.0.1:3333"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.listen, "127.0.0.1:3333");    // flag wins
  EXPECT_EQ(c->storage.data_dir, "/tmp/from-env");  // env beats file
  EXPECT_EQ(c->server.worker_queue, 7);             // file beats default
  EXPECT_EQ(c->upload.compress_extensions, (std::vector<std::string>{"sym", "txt"}));
  std::remove(file.c_str());
}

TEST(ConfigTest, ErrorsNameTheSetting) {
  auto bad_flag = LoadConfig("", nullptr, {{"io-threads", "lots"}});
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_NE(bad_flag.status().message().find("server.io_threads"), std::string::npos);

  auto bad_listen = LoadConfig("", nullptr, {{"listen", "nowhere"}});
  ASSERT_FALSE(bad_listen.ok());
  EXPECT_NE(bad_listen.status().message().find("server.listen"), std::string::npos);

  std::vector<std::string> env_strings = {"SIGIL_MAX_JOBS=0"};
  std::vector<char*> env = {env_strings[0].data(), nullptr};
  auto bad_env = LoadConfig("", env.data(), {});
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.status().message().find("symbolication.max_jobs"), std::string::npos);
  EXPECT_NE(bad_env.status().message().find("SIGIL_MAX_JOBS"), std::string::npos);

  std::string file = WriteTemp("[server]\nlisten_typo = 1\n");
  auto bad_file = LoadConfig(file, nullptr, {});
  ASSERT_FALSE(bad_file.ok());
  EXPECT_NE(bad_file.status().message().find("server.listen_typo"), std::string::npos);
  std::remove(file.c_str());

  std::string broken = WriteTemp("[server\n");
  auto bad_toml = LoadConfig(broken, nullptr, {});
  ASSERT_FALSE(bad_toml.ok());
  EXPECT_NE(bad_toml.status().message().find("line 1"), std::string::npos);
  std::remove(broken.c_str());

  EXPECT_FALSE(LoadConfig("", nullptr, {{"cache", "mongodb://x"}}).ok());
  EXPECT_FALSE(LoadConfig("", nullptr, {{"database", "mysql://x"}}).ok());
  EXPECT_FALSE(LoadConfig("", nullptr, {{"no-such-setting", "1"}}).ok());
  EXPECT_FALSE(LoadConfig("", nullptr, {{"compression-level", "9"}}).ok());
}

TEST(ConfigTest, UrlsInErrorsHideCredentials) {
  auto bad = LoadConfig("", nullptr, {{"database", "mysql://admin:hunter2@db/x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos) << bad.status().message();
  EXPECT_EQ(RedactUrl("postgresql://u:p@h/db"), "postgresql://***@h/db");
  EXPECT_EQ(RedactUrl("s3://bucket/a@b"), "s3://bucket/a@b");
  EXPECT_EQ(RedactUrl("memory://"), "memory://");
}

TEST(ConfigTest, SizeSuffixes) {
  auto c = LoadConfig("", nullptr, {{"max-body-bytes", "4m"}, {"access-log", "off"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server.max_body_bytes, 4u << 20);
  EXPECT_FALSE(c->server.access_log);
}

TEST(ConfigTest, FsDirectWrites) {
  auto defaults = LoadConfig("", nullptr, {});
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_TRUE(defaults->storage.fs_direct_writes);
  std::string file = WriteTemp("[storage]\nfs_direct_writes = false\n");
  auto from_file = LoadConfig(file, nullptr, {});
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_FALSE(from_file->storage.fs_direct_writes);
  std::remove(file.c_str());
  auto bad = LoadConfig("", nullptr, {{"fs-direct-writes", "sometimes"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("storage.fs_direct_writes"), std::string::npos);
}

}  // namespace
}  // namespace sigil
