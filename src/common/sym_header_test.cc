#include "common/sym_header.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace sigil {
namespace {

TEST(SymHeaderTest, ParsesModuleCodeIdAndGenerator) {
  auto h = ParseSymHeader(
      "MODULE windows x86_64 44E4EC8C2F41492B9369D6B9A059577C2 xul.pdb\r\n"
      "INFO CODE_ID 5E8F310E69D0000 xul.dll\r\n"
      "INFO GENERATOR mozilla/dump_syms 2.1.1\r\n"
      "FILE 0 a.cc\r\n",
      true);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->os, "windows");
  EXPECT_EQ(h->arch, "x86_64");
  EXPECT_EQ(h->debug_id, "44E4EC8C2F41492B9369D6B9A059577C2");
  EXPECT_EQ(h->debug_file, "xul.pdb");
  EXPECT_EQ(h->code_id, "5E8F310E69D0000");
  EXPECT_EQ(h->code_file, "xul.dll");
  EXPECT_EQ(h->generator, "mozilla/dump_syms 2.1.1");
}

TEST(SymHeaderTest, CodeIdWithoutFileAndNameWithSpaces) {
  auto h = ParseSymHeader(
      "MODULE mac arm64 ABCDEF0123 My Framework\nINFO CODE_ID 10FAA6BBAAB83DB3\nFUNC 0 1 0 f\n",
      false);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->debug_file, "My Framework");
  EXPECT_EQ(h->code_id, "10FAA6BBAAB83DB3");
  EXPECT_EQ(h->code_file, "");
  EXPECT_EQ(h->generator, "");
}

TEST(SymHeaderTest, InfoAfterOtherRecordsIsNotHeader) {
  auto h = ParseSymHeader("MODULE Linux x86 AA f\nFILE 0 x\nINFO CODE_ID BB g\n", true);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->code_id, "");
}

TEST(SymHeaderTest, IncompleteLastLineNeedsEof) {
  EXPECT_FALSE(ParseSymHeader("MODULE Linux x86 AA f", false).ok());
  auto h = ParseSymHeader("MODULE Linux x86 AA f", true);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->debug_file, "f");
  // A truncated INFO line is ignored rather than read half.
  auto t = ParseSymHeader("MODULE Linux x86 AA f\nINFO CODE_ID 12", false);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->code_id, "");
}

TEST(SymHeaderTest, RejectsNonSym) {
  EXPECT_FALSE(ParseSymHeader("", true).ok());
  EXPECT_FALSE(ParseSymHeader("\x89PNG\r\n", true).ok());
  EXPECT_FALSE(ParseSymHeader("MODULE Linux x86 AA\n", true).ok());
  EXPECT_FALSE(ParseSymHeader("FUNC 0 1 0 f\n", true).ok());
}

TEST(SymHeaderTest, RealFileFromTestdata) {
  std::ifstream in(std::string(SIGIL_SHARED_DIR) + "/testdata/loose-symbols/symbolic/xul.sym",
                   std::ios::binary);
  ASSERT_TRUE(in);
  std::string prefix(kSymHeaderMaxBytes, '\0');
  in.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  prefix.resize(static_cast<size_t>(in.gcount()));
  auto h = ParseSymHeader(prefix, false);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->debug_id, "09F9D7ECF31F60E34C4C44205044422E1");
  EXPECT_EQ(h->debug_file, "xul.pdb");
  EXPECT_EQ(h->code_id, "5E8F310E69D0000");
  EXPECT_EQ(h->code_file, "xul.dll");
}

}  // namespace
}  // namespace sigil
