#include "common/symbol_key.h"

#include <gtest/gtest.h>

namespace sigil {
namespace {

TEST(SymbolKeyTest, NormalisesDebugIdAndBuildsKeys) {
  auto k = SymbolKey::Parse("xul.pdb", "44e4ec8c2f41492b9369d6b9a059577c2", "xul.sym");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->debug_id, "44E4EC8C2F41492B9369D6B9A059577C2");
  EXPECT_EQ(k->StorageKey(), "xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym");
  auto t = SymbolKey::ParsePath("a b.so/ABC/a b.so.sym", true);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->StorageKey(), "try/a b.so/ABC/a b.so.sym");
}

TEST(SymbolKeyTest, RejectsHostileParts) {
  EXPECT_FALSE(SymbolKey::Parse("..", "AB", "x.sym").ok());
  EXPECT_FALSE(SymbolKey::Parse("x", "AB", ".").ok());
  EXPECT_FALSE(SymbolKey::Parse("x", "XYZ", "x.sym").ok());
  EXPECT_FALSE(SymbolKey::Parse("", "AB", "x.sym").ok());
  EXPECT_FALSE(SymbolKey::Parse("a\x01", "AB", "x.sym").ok());
  EXPECT_FALSE(SymbolKey::Parse("a", "AB", "x|.sym").ok());
  EXPECT_FALSE(SymbolKey::Parse(std::string(300, 'a'), "AB", "x.sym").ok());
  EXPECT_FALSE(SymbolKey::ParsePath("a/b").ok());
  EXPECT_FALSE(SymbolKey::ParsePath("a/AB/c/d").ok());
  EXPECT_FALSE(SymbolKey::ParsePath("a/AB/..").ok());
  auto msg = SymbolKey::Parse("x", "nothex", "x.sym").status().message();
  EXPECT_NE(msg.find("nothex"), std::string::npos);
}

}  // namespace
}  // namespace sigil
