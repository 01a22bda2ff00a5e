#include "symbolication/module_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbolication/index_builder.h"

namespace sigil::symbolication {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(SIGIL_SHARED_DIR) / "testdata";

std::string IndexOf(const char* rel) {
  std::ifstream in(kData / rel, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return BuildIndex(ss.str())->bytes;
}

class ModuleCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sigil-modcache-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ModuleCacheTest, DiskAndMemoryLruWithinBudgets) {
  std::string a = IndexOf("breakpad-format/module1.out");
  std::string b = IndexOf("breakpad-format/module2.out");
  std::string c = IndexOf("symbols/ntdll.pdb/F86EB934B42FBB79B2595AA25907695C1/ntdll.sym");
  ModuleCacheOptions opts{dir_.string(), a.size() + b.size() + c.size() - 1, a.size() + 1};
  auto cache = ModuleCache::Create(opts);
  ASSERT_TRUE(cache.ok());
  ModuleCache& mc = **cache;
  EXPECT_EQ(mc.Get("m.pdb", "aaa"), nullptr);
  ASSERT_TRUE(mc.Put("m.pdb", "aaa", a).ok());
  ASSERT_TRUE(mc.Put("m.pdb", "bbb", b).ok());
  EXPECT_TRUE(fs::exists(mc.PathFor("m.pdb", "AAA")));  // ids are upper-cased in the key
  ASSERT_NE(mc.Get("m.pdb", "AAA"), nullptr);           // touch a: b becomes least recent
  auto kept = mc.Put("m.pdb", "ccc", c);                // over the disk budget: evicts b
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(fs::exists(mc.PathFor("m.pdb", "bbb")));
  EXPECT_TRUE(fs::exists(mc.PathFor("m.pdb", "aaa")));
  EXPECT_EQ(mc.Get("m.pdb", "bbb"), nullptr);
  EXPECT_EQ((*kept)->code_file(), "ntdll.dll");
  ModuleCacheStats st = mc.stats();
  EXPECT_EQ(st.disk_evictions, 1u);
  EXPECT_GE(st.memory_evictions, 1u);  // memory budget holds about one index
  EXPECT_LE(st.memory_bytes, std::max(a.size(), c.size()) + 1);
  mc.Invalidate("m.pdb", "aaa");
  EXPECT_FALSE(fs::exists(mc.PathFor("m.pdb", "aaa")));
}

TEST_F(ModuleCacheTest, AdoptsFilesAtStartupAndDropsTornOnes) {
  std::string a = IndexOf("breakpad-format/module1.out");
  {
    auto cache = ModuleCache::Create(ModuleCacheOptions{dir_.string(), 1ull << 30, 1ull << 30});
    ASSERT_TRUE((*cache)->Put("m.pdb", "AAA", a).ok());
    ASSERT_TRUE((*cache)->Put("m.pdb", "BBB", a).ok());
    std::ofstream((*cache)->PathFor("m.pdb", "BBB"), std::ios::binary | std::ios::trunc)
        << a.substr(0, 100);
    std::ofstream(dir_ / "m.pdb" / "CCC.v1.symidx.tmp.1.2") << "leftover";
  }
  auto cache = ModuleCache::Create(ModuleCacheOptions{dir_.string(), 1ull << 30, 1ull << 30});
  ASSERT_TRUE(cache.ok());
  EXPECT_FALSE(fs::exists(dir_ / "m.pdb" / "CCC.v1.symidx.tmp.1.2"));
  EXPECT_NE((*cache)->Get("m.pdb", "AAA"), nullptr);  // from disk, mapped
  EXPECT_EQ((*cache)->stats().disk_hits, 1u);
  EXPECT_EQ((*cache)->Get("m.pdb", "BBB"), nullptr);  // torn: rejected and deleted
  EXPECT_FALSE(fs::exists((*cache)->PathFor("m.pdb", "BBB")));
}

}  // namespace
}  // namespace sigil::symbolication
