#include "cli/symbolication_commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sigil::cli {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(SIGIL_SHARED_DIR) / "testdata";

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class SymbolicationCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sigil-cli-symb-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SymbolicationCommandsTest, IndexThenLookup) {
  std::ostringstream out, err;
  fs::path idx = dir_ / "linux_inline.symidx";
  ASSERT_EQ(RunIndex((kData /
                      "symbols/linux_inline/BBA6FA10B8AAB33D00000000000000000/linux_inline.new.sym")
                         .string(),
                     idx.string(), out, err),
            0)
      << err.str();
  EXPECT_NE(out.str().find("functions: 1"), std::string::npos) << out.str();
  std::ostringstream lout, lerr;
  ASSERT_EQ(RunLookup(idx.string(), {"0x15b72", "1000", "zz"}, false, lout, lerr), 1);
  EXPECT_NE(lout.str().find("0x15b72 bar() [linux_inline.cpp:31]"), std::string::npos)
      << lout.str();
  EXPECT_NE(lout.str().find("0x15b72 main + 0x42 [a.cpp:42]"), std::string::npos) << lout.str();
  EXPECT_NE(lout.str().find("0x1000 ??"), std::string::npos) << lout.str();
  EXPECT_NE(lerr.str().find("'zz' is not a hexadecimal address"), std::string::npos);
  std::ostringstream jout, jerr;
  ASSERT_EQ(RunLookup(idx.string(), {"15b83"}, true, jout, jerr), 0);
  auto j = boost::json::parse(jout.str());
  EXPECT_EQ(j.at("inlines").as_array().size(), 3u);
  EXPECT_EQ(j.at("file"), boost::json::value("a.cpp"));
}

TEST_F(SymbolicationCommandsTest, IndexReportsMissingInput) {
  std::ostringstream out, err;
  EXPECT_EQ(RunIndex((dir_ / "nope.sym").string(), (dir_ / "x").string(), out, err), 1);
  EXPECT_NE(err.str().find("cannot open"), std::string::npos);
}

TEST_F(SymbolicationCommandsTest, SymbolicateOfflineJsonAndText) {
  auto c = boost::json::parse(Slurp(kData / "symbolication/v5_with_inlines.json"));
  fs::path req = dir_ / "req.json";
  std::ofstream(req) << boost::json::serialize(c.at("request"));
  SymbolicateCommandOptions o;
  o.symbols_dir = (kData / "symbols").string();
  o.request_path = req.string();
  std::ostringstream out, err;
  ASSERT_EQ(RunSymbolicate(o, out, err), 0) << err.str();
  EXPECT_EQ(boost::json::parse(out.str()), c.at("expected_response"));
  o.format = "text";
  std::ostringstream tout, terr;
  ASSERT_EQ(RunSymbolicate(o, tout, terr), 0) << terr.str();
  EXPECT_EQ(tout.str(),
            "#0 testproj!testproj::helper::inner [/home/willkg/projects/testproj/src/helper.rs:7] "
            "(inlined)\n"
            "#0 testproj!testproj::helper::middle [/home/willkg/projects/testproj/src/helper.rs:2] "
            "(inlined)\n"
            "#0 testproj!testproj::main [/home/willkg/projects/testproj/src/main.rs:4 + 0x3a]\n");
  SymbolicateCommandOptions both = o;
  both.url = "http://127.0.0.1:1";
  std::ostringstream bout, berr;
  EXPECT_EQ(RunSymbolicate(both, bout, berr), 1);
}

}  // namespace
}  // namespace sigil::cli
