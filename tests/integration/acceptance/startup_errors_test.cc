// Invalid configuration stops `sigil serve` with exit code 2 and one line naming the setting, also
// when the problem is inside a backend URL (found when the backend is opened, not by the config
// loader); a backend that cannot be reached is one line naming the setting too (exit code 1).
#include <gtest/gtest.h>

#include <algorithm>

#include "integration/support/services.h"
#include "integration/support/sigil_process.h"
#include "support/temp_dir.h"

namespace sigil::testing {
namespace {

struct BadSetting {
  std::vector<std::string> args;
  std::string setting;  // must appear in the message
  std::string detail;   // must appear too
  int exit_code;
};

TEST(StartupErrorsTest, BackendUrlErrorsAreOneLineNamingTheSetting) {
  const std::string closed_port = std::to_string(FreeLoopbackPort());
  const std::vector<BadSetting> cases = {
      {{"--storage", "s3://symbols?bogus=1"}, "storage.storage_url", "bogus", 2},
      {{"--storage", "s3://"}, "storage.storage_url", "bucket", 2},
      {{"--cache", "redis://127.0.0.1:6379/x"}, "storage.cache_url", "db", 2},
      {{"--cache", "memcached://"}, "storage.cache_url", "host", 2},
      {{"--cache", "redis+unix://"}, "storage.cache_url", "socket path", 2},
      {{"--database", "postgresql://sigil@127.0.0.1:" + closed_port + "/sigil"},
       "storage.database_url",
       "cannot connect",
       1},
  };
  for (const auto& c : cases) {
    test::TempDir dir;
    std::vector<std::string> args = {"serve", "--listen", "127.0.0.1:0", "--data-dir", dir.path()};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = RunSigil(args);
    SCOPED_TRACE(c.args.back());
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    // Log lines (spdlog, "[...]") may precede it; the error itself is the one "sigil: " line.
    std::string error;
    size_t error_lines = 0;
    size_t pos = 0;
    while (pos < r.err.size()) {
      size_t end = r.err.find('\n', pos);
      if (end == std::string::npos) end = r.err.size();
      std::string line = r.err.substr(pos, end - pos);
      if (!line.empty() && line[0] != '[') {
        error = line;
        ++error_lines;
      }
      pos = end + 1;
    }
    EXPECT_EQ(error_lines, 1u) << r.err;
    EXPECT_EQ(error.rfind("sigil: ", 0), 0u) << error;
    EXPECT_NE(error.find(c.setting), std::string::npos) << error;
    EXPECT_NE(error.find(c.detail), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace sigil::testing
