// README.md's commands, run as written: the quick start pasted into bash (from the checkout's root,
// next to a server `make run` started, so `build/release/src/server/sigil` and `./sigil-data` are
// where the README expects them) and the five-line scale-out configuration.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "integration/support/sigil_process.h"
#include "support/temp_dir.h"

namespace sigil::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The body of the first ```sh block after the line `heading`; "" when there is none.
std::string ShellBlockAfter(const std::string& markdown, const std::string& heading) {
  size_t h = markdown.find("\n" + heading + "\n");
  if (h == std::string::npos) return "";
  size_t open = markdown.find("```sh\n", h);
  if (open == std::string::npos) return "";
  open += 6;
  size_t close = markdown.find("```", open);
  return close == std::string::npos ? "" : markdown.substr(open, close - open);
}

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
}

// Runs `bash -e script` in `dir`; returns the exit status and everything it printed.
int RunScript(const std::string& dir, const std::string& script, std::string* output) {
  std::ofstream(dir + "/script.sh") << script;
  std::string cmd = "cd '" + dir + "' && timeout 120 bash -e script.sh 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  return ::pclose(p);
}

const std::string kReadme = std::string(SIGIL_SOURCE_DIR) + "/README.md";

TEST(ReadmeTest, QuickStartRunsAsWritten) {
  std::string block = ShellBlockAfter(ReadFile(kReadme), "## Quick start");
  ASSERT_FALSE(block.empty()) << "README.md has no ```sh block under '## Quick start'";
  EXPECT_LE(std::count(block.begin(), block.end(), '\n'), 5) << block;

  // The checkout as `make run` leaves it: the release binary and a server on ./sigil-data.
  test::TempDir checkout;
  std::filesystem::create_directories(checkout.Join("build/release/src/server"));
  std::filesystem::create_symlink(SigilBinary(), checkout.Join("build/release/src/server/sigil"));
  auto node = SigilProcess::Start({"--data-dir", checkout.Join("sigil-data")});
  ASSERT_TRUE(node.ok()) << node.status().message();

  // The only change: the port this test's server got instead of 8000.
  ReplaceAll(block, "http://127.0.0.1:8000", (*node)->base_url());
  std::string output;
  int rc = RunScript(checkout.path(), block, &output);
  EXPECT_EQ(rc, 0) << block << "\n---\n" << output;
  EXPECT_NE(output.find("\"upload\""), std::string::npos) << "the upload answered 201" << output;
  EXPECT_NE(output.find("\"found_modules\":{\"xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2\":true}"),
            std::string::npos)
      << output;
  EXPECT_NE(output.find("\"function\":"), std::string::npos) << output;
  // `curl -O` saved the downloaded symbol file under its own name.
  std::string downloaded = ReadFile(checkout.Join("xul.sym"));
  EXPECT_EQ(
      downloaded.rfind("MODULE windows x86_64 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb\n", 0), 0u)
      << downloaded;
  EXPECT_EQ((*node)->Stop(), 0) << (*node)->Log();
}

TEST(ReadmeTest, ScaleOutConfigurationIsFiveLinesSigilAccepts) {
  std::string block = ShellBlockAfter(ReadFile(kReadme), "## Scale-out");
  ASSERT_FALSE(block.empty()) << "README.md has no ```sh block under '## Scale-out'";
  EXPECT_EQ(std::count(block.begin(), block.end(), '\n'), 5) << block;
  ASSERT_NE(block.find("sigil serve"), std::string::npos) << block;
  // `sigil config` takes the same flags as `serve` and prints the configuration they make.
  ReplaceAll(block, "sigil serve", "'" + SigilBinary() + "' config");
  test::TempDir dir;
  std::string output;
  EXPECT_EQ(RunScript(dir.path(), block, &output), 0) << block << "\n---\n" << output;
  EXPECT_NE(output.find("storage_url = \"s3://"), std::string::npos) << output;
  EXPECT_NE(output.find("database_url = \"postgresql://"), std::string::npos) << output;
  EXPECT_NE(output.find("cache_url = \"redis://"), std::string::npos) << output;
}

}  // namespace
}  // namespace sigil::testing
