// Pending puts of the filesystem store (BeginPut/CommitPuts, fs_publish.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "common/hashing.h"
#include "storage/fs/fs_object_store.h"
#include "storage/fs/fs_sidecar.h"
#include "support/temp_dir.h"

namespace sigil::storage::fs {
namespace {

namespace stdfs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using test::ReadFile;

std::string Crc32Hex(std::string_view data) {
  char hex[9];
  std::snprintf(
      hex, sizeof hex, "%08lx",
      crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  return hex;
}

class FsPendingPutTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Open(root_); }

  static std::unique_ptr<ObjectStore> Open(const std::string& root) {
    Result<std::unique_ptr<ObjectStore>> store = MakeFsObjectStore(root);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // A finished pending object of `store` holding `data`, appended in two pieces.
  static std::unique_ptr<PendingObject> Pending(ObjectStore& store, std::string_view data) {
    Result<std::unique_ptr<PendingObject>> pending = store.BeginPut();
    EXPECT_TRUE(pending.ok()) << pending.status().ToString();
    if (!pending.ok()) return nullptr;
    EXPECT_TRUE((*pending)->Append(data.substr(0, data.size() / 2)).ok());
    EXPECT_TRUE((*pending)->Append(data.substr(data.size() / 2)).ok());
    EXPECT_TRUE((*pending)->Finish().ok());
    EXPECT_EQ((*pending)->size(), data.size());
    return std::move(pending).value();
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

  // Names in the store's temp directory.
  std::vector<std::string> TempFiles() const {
    std::vector<std::string> names;
    for (const auto& e : stdfs::directory_iterator(root_ + "/.sigil-tmp")) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  std::vector<std::string> Listed() {
    std::vector<std::string> keys;
    Result<std::vector<ListEntry>> listed = store_->List("");
    EXPECT_TRUE(listed.ok()) << listed.status().ToString();
    if (!listed.ok()) return keys;
    for (const ListEntry& e : listed.value()) keys.push_back(e.key);
    return keys;
  }

  test::TempDir temp_{"sigil-fs-pending"};  // declared first: removed after store_ is closed
  const std::string root_ = temp_.Join("root");
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(FsPendingPutTest, InvisibleUntilCommittedThenStoredLikePut) {
  ASSERT_TRUE(store_->SupportsPendingPuts());
  ASSERT_TRUE(store_->Put("a.pdb/A1/a.sym", "old bytes", {}).ok());
  auto a = Pending(*store_, "new bytes of a");
  auto b = Pending(*store_, "bytes of b");
  auto c = Pending(*store_, "");
  // Written, but nothing outside the temp directory changed.
  EXPECT_THAT(Listed(), ElementsAre("a.pdb/A1/a.sym"));
  EXPECT_EQ(Get("a.pdb/A1/a.sym"), "old bytes");
  EXPECT_FALSE(stdfs::exists(root_ + "/b.pdb"));
  EXPECT_EQ(store_->Head("b.pdb/B1/b.sym").status().code(), StatusCode::kNotFound);

  PutOptions gz;
  gz.content_type = "text/plain";
  gz.content_encoding = "gzip";
  gz.metadata = {{"original_size", "42"}, {"original_md5_hash", Md5Hex("x")}};
  std::vector<PendingCommit> batch{{"b.pdb/B1/b.sym", gz, b.get()},
                                   {"a.pdb/A1/a.sym", {}, a.get()},
                                   {"b.pdb/B1/empty.txt", {}, c.get()}};
  Status committed = store_->CommitPuts(batch);
  ASSERT_TRUE(committed.ok()) << committed.ToString();
  for (const PendingCommit& item : batch) EXPECT_TRUE(item.committed) << item.key;

  EXPECT_THAT(Listed(), ElementsAre("a.pdb/A1/a.sym", "b.pdb/B1/b.sym", "b.pdb/B1/empty.txt"));
  EXPECT_EQ(Get("a.pdb/A1/a.sym"), "new bytes of a");
  EXPECT_EQ(Get("b.pdb/B1/b.sym"), "bytes of b");
  EXPECT_EQ(Get("b.pdb/B1/empty.txt"), "");
  Result<ObjectInfo> info = store_->Head("b.pdb/B1/b.sym");
  ASSERT_TRUE(info.ok());
  // The caller vouched for the original's MD5: the etag is built from it and the stored bytes'
  // CRC-32 and size, with no second hash of the bytes.
  EXPECT_EQ(info->etag, "\"" + Md5Hex("x") + "-" + Crc32Hex("bytes of b") + "-10\"");
  EXPECT_EQ(info->content_encoding, "gzip");
  EXPECT_EQ(info->content_type, "text/plain");
  EXPECT_EQ(info->metadata, gz.metadata);
  EXPECT_EQ(info->size, 10u);
  EXPECT_EQ(store_->Head("b.pdb/B1/empty.txt")->etag, "\"" + Md5Hex("") + "\"");
  // The overwrite kept the replaced version's entry (for readers holding it open).
  std::optional<Sidecar> sidecar = Sidecar::Parse(ReadFile(root_ + "/a.pdb/A1/.sigil-meta.a.sym"));
  ASSERT_TRUE(sidecar.has_value());
  ASSERT_EQ(sidecar->entries.size(), 2u);
  EXPECT_EQ(sidecar->entries[0].etag, "\"" + Md5Hex("new bytes of a") + "\"");
  EXPECT_EQ(sidecar->entries[1].etag, "\"" + Md5Hex("old bytes") + "\"");
  // Everything was renamed out of the temp directory, and nothing is left once the handles go.
  EXPECT_THAT(TempFiles(), IsEmpty());
  a.reset();
  b.reset();
  c.reset();
  EXPECT_THAT(TempFiles(), IsEmpty());
  EXPECT_EQ(Get("a.pdb/A1/a.sym"), "new bytes of a");
}

// Etags of pending objects: from the original's MD5 when the caller gives one (so versions with
// the same original but other stored bytes still differ), else the MD5 of the stored bytes; an
// ill-formed original_md5_hash is not trusted.
TEST_F(FsPendingPutTest, EtagsFromTheOriginalMd5OrTheStoredBytes) {
  PutOptions gz;
  gz.content_encoding = "gzip";
  gz.metadata = {{"original_size", "3"}, {"original_md5_hash", Md5Hex("abc")}};
  PutOptions not_md5 = gz;
  not_md5.metadata["original_md5_hash"] = "0123abcd";
  PutOptions not_hex = gz;  // 32 characters, but not all hex digits
  not_hex.metadata["original_md5_hash"] = std::string(31, 'a') + "g";
  std::string big(3 << 20, 'q');  // read back in several chunks
  big[12345] = 'r';
  auto one = Pending(*store_, "gzip stream one");
  auto two = Pending(*store_, "gzip stream two");
  auto three = Pending(*store_, "stored bytes");
  auto four = Pending(*store_, big);
  auto five = Pending(*store_, "more stored bytes");
  // The caller's MD5 of the stored bytes is the etag as it is: it is trusted, not recomputed (so
  // a deliberately different one shows it was not read back).
  PutOptions given;
  given.content_md5 = Md5Hex("what the caller hashed");
  auto six = Pending(*store_, "bytes not hashed again");
  std::vector<PendingCommit> batch{
      {"k/1/one", gz, one.get()},          {"k/1/two", gz, two.get()},
      {"k/2/three", not_md5, three.get()}, {"k/2/four", {}, four.get()},
      {"k/2/five", not_hex, five.get()},   {"k/2/six", given, six.get()}};
  ASSERT_TRUE(store_->CommitPuts(batch).ok());
  const std::string etag_one = store_->Head("k/1/one")->etag;
  EXPECT_EQ(etag_one, "\"" + Md5Hex("abc") + "-" + Crc32Hex("gzip stream one") + "-15\"");
  EXPECT_NE(store_->Head("k/1/two")->etag, etag_one);
  EXPECT_EQ(store_->Head("k/2/three")->etag, "\"" + Md5Hex("stored bytes") + "\"");
  EXPECT_EQ(store_->Head("k/2/four")->etag, "\"" + Md5Hex(big) + "\"");
  EXPECT_EQ(store_->Head("k/2/five")->etag, "\"" + Md5Hex("more stored bytes") + "\"");
  EXPECT_EQ(store_->Head("k/2/six")->etag, "\"" + Md5Hex("what the caller hashed") + "\"");
  // Rewriting the same bytes gives the same etag (a client's cached copy stays valid).
  auto again = Pending(*store_, "gzip stream one");
  std::vector<PendingCommit> rewrite{{"k/1/one", gz, again.get()}};
  ASSERT_TRUE(store_->CommitPuts(rewrite).ok());
  EXPECT_EQ(store_->Head("k/1/one")->etag, etag_one);
}

TEST_F(FsPendingPutTest, UncommittedObjectsLeaveNothingBehind) {
  {
    auto a = Pending(*store_, "data");
    Result<std::unique_ptr<PendingObject>> unfinished = store_->BeginPut();
    ASSERT_TRUE(unfinished.ok());
    ASSERT_TRUE((*unfinished)->Append("partial").ok());
    EXPECT_THAT(TempFiles(), ::testing::SizeIs(4));  // object + sidecar temp file each
  }
  EXPECT_THAT(TempFiles(), IsEmpty());
  EXPECT_THAT(Listed(), IsEmpty());
}

TEST_F(FsPendingPutTest, ABadItemStoresNothingOfTheBatch) {
  auto good = Pending(*store_, "good");
  auto other = Pending(*store_, "other");
  auto expect_refused = [&](std::vector<PendingCommit> batch, std::string_view why) {
    Status s = store_->CommitPuts(batch);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_THAT(s.message(), HasSubstr(why));
    for (const PendingCommit& item : batch) EXPECT_FALSE(item.committed);
    EXPECT_THAT(Listed(), IsEmpty());
    EXPECT_FALSE(stdfs::exists(root_ + "/g"));
  };
  expect_refused({{"g/1/x", {}, good.get()}, {"g/1/x", {}, other.get()}}, "twice");
  expect_refused({{"g/1/x", {}, good.get()}, {"../escape", {}, other.get()}}, "..");
  expect_refused({{"g/1/x", {}, good.get()}, {".sigil-tmp/y", {}, other.get()}}, "reserved");
  PutOptions bad_meta;
  bad_meta.metadata = {{"Upper Case", "v"}};
  expect_refused({{"g/1/x", {}, good.get()}, {"g/1/y", bad_meta, other.get()}}, "metadata");
  for (std::string md5 :
       {std::string("0123abcd"), Md5Hex("x").substr(0, 31) + "G", std::string(32, 'A')}) {
    PutOptions bad_md5;
    bad_md5.content_md5 = md5;
    expect_refused({{"g/1/x", {}, good.get()}, {"g/1/y", bad_md5, other.get()}}, "content MD5");
  }

  Result<std::unique_ptr<PendingObject>> unfinished = store_->BeginPut();
  ASSERT_TRUE(unfinished.ok());
  expect_refused({{"g/1/x", {}, good.get()}, {"g/1/y", {}, unfinished->get()}}, "not finished");

  test::TempDir elsewhere{"sigil-fs-other"};
  std::unique_ptr<ObjectStore> other_store = Open(elsewhere.Join("root"));
  ASSERT_NE(other_store, nullptr);
  auto foreign = Pending(*other_store, "foreign");
  expect_refused({{"g/1/x", {}, good.get()}, {"g/1/y", {}, foreign.get()}}, "not from this store");
  expect_refused({{"g/1/x", {}, good.get()}, {"g/1/y", {}, nullptr}}, "not from this store");

  // The same objects still commit once the batch is right.
  std::vector<PendingCommit> batch{{"g/1/x", {}, good.get()}, {"g/2/y", {}, other.get()}};
  ASSERT_TRUE(store_->CommitPuts(batch).ok());
  EXPECT_THAT(Listed(), ElementsAre("g/1/x", "g/2/y"));
  std::vector<PendingCommit> empty;
  EXPECT_TRUE(store_->CommitPuts(empty).ok());
}

TEST_F(FsPendingPutTest, ObjectAndDirectoryCannotShareAName) {
  ASSERT_TRUE(store_->Put("d/e/f", "x", {}).ok());
  auto p = Pending(*store_, "y");
  std::vector<PendingCommit> batch{{"d/e", {}, p.get()}};
  Status s = store_->CommitPuts(batch);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_FALSE(batch[0].committed);
  EXPECT_EQ(Get("d/e/f"), "x");
}

// Batches over the same keys in opposite orders, from several threads, alongside single Puts:
// no deadlock (directories are locked in path order), and every object ends up whole, with the
// etag of its own bytes.
TEST_F(FsPendingPutTest, ConcurrentOverlappingBatchesDoNotDeadlockAndStayWhole) {
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) {
    keys.push_back("m" + std::to_string(i % 4) + ".pdb/ID" + std::to_string(i % 3) + "/f" +
                   std::to_string(i));
  }
  constexpr int kThreads = 4;
  constexpr int kRounds = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::string> order = keys;
        if ((t + round) % 2 == 1) std::reverse(order.begin(), order.end());
        std::vector<std::unique_ptr<PendingObject>> objects;
        std::vector<PendingCommit> batch;
        for (const std::string& key : order) {
          std::string data = key + " by " + std::to_string(t) + "/" + std::to_string(round);
          objects.push_back(Pending(*store_, std::string(1000 * (t + 1), 'x') + data));
          batch.push_back(PendingCommit{key, {}, objects.back().get()});
        }
        if (!store_->CommitPuts(batch).ok()) ++failures;
        if (!store_->Put(order.front(), "single " + std::to_string(t), {}).ok()) ++failures;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (const std::string& key : keys) {
    std::string data = Get(key);
    EXPECT_TRUE(data.starts_with("single ") || data.find(key + " by ") != std::string::npos) << key;
    EXPECT_EQ(store_->Head(key)->etag, "\"" + Md5Hex(data) + "\"") << key;
  }
  EXPECT_THAT(TempFiles(), IsEmpty());
}

}  // namespace
}  // namespace sigil::storage::fs
