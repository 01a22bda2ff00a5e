#include "download/symbol_filter.h"

#include <gtest/gtest.h>

namespace sigil::download {
namespace {

const std::vector<std::string> kDefault = {".sym", ".dl_", ".ex_", ".pd_", ".dbg.gz", ".tar.bz2"};

TEST(SymbolFilterTest, AllowedExtensions) {
  SymbolFilter f(kDefault);
  for (const char* ok :
       {"xul.sym", "foo.dl_", "a.ex_", "ksproxy.pd_", "libxul.so.dbg.gz", "x.tar.bz2", ".sym"}) {
    EXPECT_TRUE(f.HasAllowedExtension(ok)) << ok;
  }
  for (const char* bad :
       {"bar.exe", "bar.gz", "sym", "xul.SYM", "xul.sym.txt", "", "a.bz2", "x.dbg"}) {
    EXPECT_FALSE(f.HasAllowedExtension(bad)) << bad;
  }
}

TEST(SymbolFilterTest, IgnoreRules) {
  SymbolFilter f(kDefault);
  EXPECT_TRUE(f.IsIgnored("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "file.ptr"));
  EXPECT_TRUE(f.IsIgnored("xul.pdb", "000000000000000000000000000000000", "xul.sym"));
  EXPECT_FALSE(f.IsIgnored("xul.pdb", "00000000000000000000000000000000", "xul.sym"))
      << "32 zeros is not the rule";
  EXPECT_TRUE(f.IsIgnored("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.exe"));
  EXPECT_FALSE(f.IsIgnored("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2", "xul.sym"));
}

TEST(SymbolFilterTest, CustomAndEmptyLists) {
  SymbolFilter custom({".a", ".bb", ".a"});
  EXPECT_TRUE(custom.HasAllowedExtension("x.a"));
  EXPECT_TRUE(custom.HasAllowedExtension("x.bb"));
  EXPECT_FALSE(custom.HasAllowedExtension("x.sym"));
  SymbolFilter all({});
  EXPECT_TRUE(all.HasAllowedExtension("anything.exe"));
}

}  // namespace
}  // namespace sigil::download
