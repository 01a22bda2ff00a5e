#include "symbolication/module_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "symbolication/index_builder.h"
#include "symbolication/index_format.h"

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

// An index written by an older sigil (format version 1) is never answered from: under its own
// name (".v1.symidx") it is not what Get looks for and ages out of the disk LRU; under the current
// name it fails the version check, is deleted and reported as a miss, so the caller rebuilds it.
TEST_F(ModuleCacheTest, IndexesOfAnOlderFormatVersionAreRejectedAndRebuilt) {
  std::string current = IndexOf(
      "symbols/linux_inline/BBA6FA10B8AAB33D00000000000000000/"
      "linux_inline.new.sym");
  std::string old = current;
  const uint32_t v1 = 1;
  std::memcpy(old.data() + offsetof(format::Header, version), &v1, sizeof(v1));
  fs::create_directories(dir_ / "m.pdb");
  std::ofstream(dir_ / "m.pdb" / "OLD.v1.symidx", std::ios::binary) << old;
  {
    auto cache = ModuleCache::Create(ModuleCacheOptions{dir_.string(), 1ull << 30, 1ull << 30});
    ASSERT_TRUE(cache.ok());
    std::ofstream((*cache)->PathFor("m.pdb", "AAA"), std::ios::binary) << old;
  }
  auto cache =
      ModuleCache::Create(ModuleCacheOptions{dir_.string(), current.size() * 2, 1ull << 30});
  ASSERT_TRUE(cache.ok());
  ModuleCache& mc = **cache;
  EXPECT_EQ(mc.Get("m.pdb", "OLD"), nullptr);
  EXPECT_EQ(mc.Get("m.pdb", "AAA"), nullptr);  // wrong version: a miss, and the file is gone
  EXPECT_FALSE(fs::exists(mc.PathFor("m.pdb", "AAA")));
  auto rebuilt = mc.Put("m.pdb", "AAA", current);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  LookupResult r;
  ASSERT_TRUE((*rebuilt)->Lookup(0x15b30, &r));
  EXPECT_EQ(r.function, "main");
  ASSERT_TRUE(mc.Put("m.pdb", "BBB", current).ok());  // over the disk budget: the v1 file goes
  EXPECT_FALSE(fs::exists(dir_ / "m.pdb" / "OLD.v1.symidx"));
  EXPECT_NE(mc.Get("m.pdb", "AAA"), nullptr);
}

}  // namespace
}  // namespace sigil::symbolication
