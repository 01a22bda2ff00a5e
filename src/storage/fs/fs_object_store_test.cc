#include "storage/fs/fs_object_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/hashing.h"
#include "storage/fs/fs_files.h"
#include "storage/fs/fs_sidecar.h"
#include "storage/object_store_conformance.h"
#include "support/temp_dir.h"

namespace sigil::storage::fs {
namespace {

namespace stdfs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using test::ReadFile;

// Everything readable from `fd` from offset 0 (pread: the descriptor's offset is left alone).
std::string ReadFd(int fd) {
  std::string out;
  char buf[4096];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// A directory for the conformance suite's factories (the stores outlive the factory call),
// removed when the test program ends.
std::string SuiteDir() {
  static std::vector<std::unique_ptr<test::TempDir>> dirs;
  return dirs.emplace_back(std::make_unique<test::TempDir>("sigil-fs"))->path();
}

using storage::testing::ObjectStoreConformanceTest;
using storage::testing::ObjectStoreFactory;
std::unique_ptr<ObjectStore> MakeForConformance(bool use_openat2) {
  Result<std::unique_ptr<ObjectStore>> store =
      MakeFsObjectStore(SuiteDir() + "/root", FsOptions{.use_openat2 = use_openat2});
  return store.ok() ? std::move(store).value() : nullptr;
}

INSTANTIATE_TEST_SUITE_P(
    Fs, ObjectStoreConformanceTest,
    ::testing::Values(ObjectStoreFactory{"fs", [] { return MakeForConformance(true); }},
                      ObjectStoreFactory{"fs_walk", [] { return MakeForConformance(false); }}),
    storage::testing::ObjectStoreFactoryName);

// Parameter: FsOptions::use_openat2 (both ways of resolving keys must behave the same).
class FsObjectStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    stdfs::create_directories(outside_);
    WriteFile(outside_ + "/secret", "top secret");
    Open();
  }
  void Open() {
    store_.reset();
    Result<std::unique_ptr<ObjectStore>> store =
        MakeFsObjectStore(root_, FsOptions{.use_openat2 = GetParam()});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }
  std::string Get(std::string_view key) {
    Result<std::unique_ptr<ObjectReader>> reader = store_->Get(key);
    if (!reader.ok()) return "<" + reader.status().ToString() + ">";
    std::string out;
    char buf[4096];
    while (true) {
      Result<size_t> n = (*reader)->Read(buf, sizeof(buf));
      if (!n.ok() || *n == 0) return out;
      out.append(buf, *n);
    }
  }

  test::TempDir temp_{"sigil-fs"};  // declared first: removed after store_ is closed
  const std::string base_ = temp_.path();
  const std::string root_ = temp_.Join("root");
  const std::string outside_ = temp_.Join("outside");
  std::unique_ptr<ObjectStore> store_;
};

TEST_P(FsObjectStoreTest, LayoutOnDisk) {
  PutOptions options;
  options.content_type = "text/plain";
  options.content_encoding = "gzip";
  options.metadata = {{"original_size", "9"}};
  ASSERT_TRUE(store_->Put("xul.pdb/ABC/xul.sym", "gz-bytes", options).ok());
  EXPECT_EQ(ReadFile(root_ + "/xul.pdb/ABC/xul.sym"), "gz-bytes");
  std::optional<Sidecar> sidecar =
      Sidecar::Parse(ReadFile(root_ + "/xul.pdb/ABC/.sigil-meta.xul.sym"));
  ASSERT_TRUE(sidecar.has_value());
  ASSERT_EQ(sidecar->entries.size(), 1u);
  EXPECT_EQ(sidecar->entries[0].content_encoding, "gzip");
  EXPECT_EQ(sidecar->entries[0].etag, "\"" + Md5Hex("gz-bytes") + "\"");
  EXPECT_EQ(sidecar->entries[0].metadata, options.metadata);

  EXPECT_TRUE(store_->HasLocalFiles());
  Result<Fd> local = store_->OpenLocal("xul.pdb/ABC/xul.sym");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(ReadFd(local->get()), "gz-bytes");
  EXPECT_FALSE(store_->PublicUrl("xul.pdb/ABC/xul.sym").has_value());
  EXPECT_EQ(store_->OpenLocal("../x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenLocal("xul.pdb/ABC/.sigil-meta.xul.sym").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenLocal("xul.pdb/ABC/nope.sym").status().code(), StatusCode::kNotFound);
  // Nothing but the object is listed (no sidecar, no temp directory).
  EXPECT_THAT(*store_->List(""), ::testing::SizeIs(1));
  // An overwrite keeps the replaced version's entry second (for readers holding it open).
  ASSERT_TRUE(store_->Put("xul.pdb/ABC/xul.sym", "v2", {}).ok());
  EXPECT_EQ(ReadFd(local->get()), "gz-bytes");  // an open descriptor keeps its version
  sidecar = Sidecar::Parse(ReadFile(root_ + "/xul.pdb/ABC/.sigil-meta.xul.sym"));
  ASSERT_TRUE(sidecar.has_value());
  ASSERT_EQ(sidecar->entries.size(), 2u);
  EXPECT_EQ(sidecar->entries[0].etag, "\"" + Md5Hex("v2") + "\"");
  EXPECT_EQ(sidecar->entries[1].content_encoding, "gzip");
}

TEST_P(FsObjectStoreTest, ReservedAndOverlongComponentsAreRejected) {
  for (const char* key : {".sigil-tmp/x", "a/.sigil-meta.b", "a/.sigil-anything/c"}) {
    EXPECT_EQ(store_->Put(key, "x", {}).code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(store_->Get(key).status().code(), StatusCode::kInvalidArgument) << key;
  }
  EXPECT_EQ(store_->List(".sigil-tmp/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->Put("a/" + std::string(kMaxComponentBytes, 'n'), "x", {}).ok());
  Status too_long = store_->Put("a/" + std::string(kMaxComponentBytes + 1, 'n'), "x", {});
  EXPECT_EQ(too_long.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(too_long.message(), HasSubstr("longer than"));
}

TEST_P(FsObjectStoreTest, SymlinkedDirectoryPointingOutsideIsRefused) {
  stdfs::create_directory_symlink(outside_, root_ + "/evil");
  EXPECT_EQ(store_->Get("evil/secret").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Head("evil/secret").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Exists("evil/secret").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("evil/new", "x", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Put("evil/secret", "overwritten", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Delete("evil/secret").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenLocal("evil/secret").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(*store_->List(""), IsEmpty());
  EXPECT_EQ(store_->List("evil/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(stdfs::exists(outside_ + "/new"));
  EXPECT_EQ(ReadFile(outside_ + "/secret"), "top secret");
}

TEST_P(FsObjectStoreTest, SymlinkedObjectIsNeverFollowed) {
  ASSERT_TRUE(store_->Put("a/b/real", "real", {}).ok());
  stdfs::create_symlink(outside_ + "/secret", root_ + "/a/b/link");
  EXPECT_EQ(store_->Get("a/b/link").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Exists("a/b/link").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OpenLocal("a/b/link").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(*store_->List("a/"), ::testing::SizeIs(1));
  // A put replaces the link itself; the target outside is untouched.
  ASSERT_TRUE(store_->Put("a/b/link", "stored", {}).ok());
  EXPECT_EQ(Get("a/b/link"), "stored");
  EXPECT_FALSE(stdfs::is_symlink(root_ + "/a/b/link"));
  EXPECT_EQ(ReadFile(outside_ + "/secret"), "top secret");
  // A symlinked sidecar is ignored, and replaced (not written through) by the next put.
  stdfs::remove(root_ + "/a/b/.sigil-meta.real");
  stdfs::create_symlink(outside_ + "/secret", root_ + "/a/b/.sigil-meta.real");
  Result<ObjectInfo> head = store_->Head("a/b/real");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 4u);
  ASSERT_TRUE(store_->Put("a/b/real", "again", {}).ok());
  EXPECT_EQ(ReadFile(outside_ + "/secret"), "top secret");
  EXPECT_EQ(Get("a/b/real"), "again");
}

TEST_P(FsObjectStoreTest, CrashLeftoversAreIgnoredAndCleanedOnOpen) {
  ASSERT_TRUE(store_->Put("k/ID/f.sym", "stored", {}).ok());
  std::string temp_dir = root_ + "/" + std::string(kTempDirName);
  WriteFile(temp_dir + "/t-crashed1", "half a write");
  WriteFile(temp_dir + "/t-crashed2", "{\"format\":1");
  // A live writer (another process, here: a lock we hold) keeps its temp file.
  WriteFile(temp_dir + "/t-live", "in progress");
  Fd live(::open((temp_dir + "/t-live").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(live.valid());
  ASSERT_EQ(::flock(live.get(), LOCK_EX), 0);

  EXPECT_THAT(*store_->List(""), ::testing::SizeIs(1));
  EXPECT_EQ(Get("k/ID/f.sym"), "stored");
  Open();
  EXPECT_FALSE(stdfs::exists(temp_dir + "/t-crashed1"));
  EXPECT_FALSE(stdfs::exists(temp_dir + "/t-crashed2"));
  EXPECT_TRUE(stdfs::exists(temp_dir + "/t-live"));
  EXPECT_EQ(Get("k/ID/f.sym"), "stored");
  live.Reset();
  Open();
  EXPECT_FALSE(stdfs::exists(temp_dir + "/t-live"));
}

TEST_P(FsObjectStoreTest, CrashBetweenSidecarAndObjectRenameKeepsOldVersionConsistent) {
  PutOptions v1;
  v1.content_type = "text/v1";
  ASSERT_TRUE(store_->Put("c/ID/f", "version one", v1).ok());
  // Simulate a writer that renamed its sidecar ([new, current]) and died before the object rename.
  std::string meta_path = root_ + "/c/ID/.sigil-meta.f";
  std::optional<Sidecar> sidecar = Sidecar::Parse(ReadFile(meta_path));
  ASSERT_TRUE(sidecar.has_value());
  SidecarEntry never_published = sidecar->entries[0];
  never_published.identity.inode += 1'000'000;
  never_published.content_type = "text/v2";
  sidecar->entries.insert(sidecar->entries.begin(), never_published);
  WriteFile(meta_path, sidecar->Serialize());

  Result<ObjectInfo> head = store_->Head("c/ID/f");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_type, "text/v1");
  EXPECT_EQ(head->etag, "\"" + Md5Hex("version one") + "\"");
}

TEST_P(FsObjectStoreTest, FilesPlacedByHandGetDerivedInfo) {
  stdfs::create_directories(root_ + "/hand/ID");
  WriteFile(root_ + "/hand/ID/f.sym", "by hand");
  Result<ObjectInfo> head = store_->Head("hand/ID/f.sym");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, 7u);
  EXPECT_EQ(head->content_type, "");
  EXPECT_GE(head->etag.size(), 3u);
  EXPECT_EQ(head->etag.front(), '"');
  EXPECT_EQ(Get("hand/ID/f.sym"), "by hand");

  // A file replaced by hand under a stale sidecar: the sidecar is not applied to foreign bytes.
  PutOptions gz;
  gz.content_encoding = "gzip";
  ASSERT_TRUE(store_->Put("hand/ID/g.sym", "compressed", gz).ok());
  WriteFile(root_ + "/hand/ID/g.sym.new", "plain text now");
  stdfs::rename(root_ + "/hand/ID/g.sym.new", root_ + "/hand/ID/g.sym");
  head = store_->Head("hand/ID/g.sym");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->content_encoding, "");
  EXPECT_EQ(head->size, 14u);
}

TEST_P(FsObjectStoreTest, ObjectAndDirectoryCannotShareAName) {
  ASSERT_TRUE(store_->Put("a/b", "file", {}).ok());
  EXPECT_EQ(store_->Put("a/b/c", "x", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Get("a/b/c").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->Put("x/y/z", "file", {}).ok());
  Status s = store_->Put("x/y", "x", {});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("directory"));
  EXPECT_EQ(store_->Get("x/y").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->Exists("x/y"));
  EXPECT_TRUE(store_->Delete("x/y").ok());
  EXPECT_EQ(Get("x/y/z"), "file");
}

TEST_P(FsObjectStoreTest, PingFailsWhenRootIsNotWritable) {
  EXPECT_TRUE(store_->Ping().ok());
  stdfs::remove_all(root_ + "/" + std::string(kTempDirName));
  Status ping = store_->Ping();
  EXPECT_EQ(ping.code(), StatusCode::kUnavailable);
  EXPECT_THAT(ping.message(), HasSubstr("not writable"));
}

TEST_P(FsObjectStoreTest, RootMustBeADirectory) {
  WriteFile(base_ + "/file", "x");
  Result<std::unique_ptr<ObjectStore>> store = MakeFsObjectStore(base_ + "/file");
  EXPECT_FALSE(store.ok());
  EXPECT_FALSE(MakeFsObjectStore("").ok());
}

TEST_P(FsObjectStoreTest, RootReachedThroughASymlinkIsFine) {
  stdfs::create_directory_symlink(root_, base_ + "/alias");
  Result<std::unique_ptr<ObjectStore>> store = MakeFsObjectStore(base_ + "/alias");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put("via/alias", "x", {}).ok());
  EXPECT_EQ(Get("via/alias"), "x");
}

TEST_P(FsObjectStoreTest, FifoPlantedAsObjectDoesNotBlock) {
  stdfs::create_directories(root_ + "/p");
  ASSERT_EQ(::mkfifo((root_ + "/p/fifo").c_str(), 0600), 0);
  EXPECT_EQ(store_->Get("p/fifo").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(*store_->Exists("p/fifo"));
  EXPECT_THAT(*store_->List("p/"), IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Resolve, FsObjectStoreTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return std::string(param.param ? "openat2" : "walk");
                         });

}  // namespace
}  // namespace sigil::storage::fs
