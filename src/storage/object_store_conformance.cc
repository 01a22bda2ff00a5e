#include "storage/object_store_conformance.h"

#include <gmock/gmock.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/hashing.h"

namespace sigil::storage::testing {

void ObjectStoreConformanceTest::SetUp() {
  store_ = GetParam().make();
  ASSERT_NE(store_, nullptr);
}

void ObjectStoreConformanceTest::TearDown() { store_.reset(); }

namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::string ReadAll(ObjectReader& reader, size_t chunk = 4096) {
  std::string out;
  std::vector<char> buf(chunk);
  while (true) {
    Result<size_t> n = reader.Read(buf.data(), buf.size());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) return out;
    out.append(buf.data(), *n);
  }
}

std::string GetBytes(ObjectStore& store, std::string_view key) {
  Result<std::unique_ptr<ObjectReader>> reader = store.Get(key);
  EXPECT_TRUE(reader.ok()) << key << ": " << reader.status().ToString();
  if (!reader.ok()) return "<error>";
  return ReadAll(**reader);
}

std::string QuotedMd5(std::string_view data) { return "\"" + Md5Hex(data) + "\""; }

// Deterministic pseudo-random bytes (xorshift), so large payloads are not trivially compressible.
std::string PseudoRandom(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 32);
  }
  return out;
}

// A scratch directory removed at the end of the scope.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sigil-conf-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& data) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary)
        .write(data.data(), static_cast<std::streamsize>(data.size()));
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> Keys(const std::vector<ListEntry>& entries) {
  std::vector<std::string> keys;
  for (const ListEntry& e : entries) keys.push_back(e.key);
  return keys;
}

TEST_P(ObjectStoreConformanceTest, PutGetHeadRoundTrip) {
  const std::string data = "MODULE Linux x86_64 ABC xul.so\nFILE 0 a.cc\n";
  PutOptions options;
  options.content_type = "text/plain";
  options.metadata = {{"original_size", "42"}, {"original_md5_hash", "0123abcd"}};
  TimestampMicros before = NowMicros();
  ASSERT_TRUE(store().Put("xul.so/ABC/xul.sym", data, options).ok());
  TimestampMicros after = NowMicros();

  Result<std::unique_ptr<ObjectReader>> reader = store().Get("xul.so/ABC/xul.sym");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const ObjectInfo& info = (*reader)->info();
  EXPECT_EQ(info.size, data.size());
  EXPECT_EQ(info.content_type, "text/plain");
  EXPECT_EQ(info.content_encoding, "");
  EXPECT_EQ(info.etag, QuotedMd5(data));
  EXPECT_EQ(info.metadata, options.metadata);
  EXPECT_EQ(ReadAll(**reader, 7), data);

  Result<ObjectInfo> head = store().Head("xul.so/ABC/xul.sym");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->etag, QuotedMd5(data));
  EXPECT_EQ(head->metadata, options.metadata);
  EXPECT_EQ(head->content_type, "text/plain");
  // Second-resolution backends round; allow some clock slack.
  EXPECT_GE(head->last_modified, before - 2'000'000);
  EXPECT_LE(head->last_modified, after + 2'000'000);

  Result<bool> exists = store().Exists("xul.so/ABC/xul.sym");
  ASSERT_TRUE(exists.ok());
  EXPECT_TRUE(*exists);
}

TEST_P(ObjectStoreConformanceTest, EmptyAndBinaryObjects) {
  ASSERT_TRUE(store().Put("e/empty", "", {}).ok());
  EXPECT_EQ(GetBytes(store(), "e/empty"), "");
  Result<ObjectInfo> head = store().Head("e/empty");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, 0u);
  EXPECT_EQ(head->etag, QuotedMd5(""));

  std::string binary;
  for (int i = 0; i < 512; ++i) binary.push_back(static_cast<char>(i & 0xff));
  ASSERT_TRUE(store().Put("e/binary", binary, {}).ok());
  EXPECT_EQ(GetBytes(store(), "e/binary"), binary);
}

TEST_P(ObjectStoreConformanceTest, ContentEncodingIsStoredNotApplied) {
  // The store keeps bytes as given: gzip-encoded objects come back compressed, with the encoding.
  std::string gz = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + PseudoRandom(300, 7);
  PutOptions options;
  options.content_type = "text/plain";
  options.content_encoding = "gzip";
  options.metadata = {{"original_size", "1000"}};
  ASSERT_TRUE(store().Put("enc/x.sym", gz, options).ok());
  Result<std::unique_ptr<ObjectReader>> reader = store().Get("enc/x.sym");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->info().content_encoding, "gzip");
  EXPECT_EQ((*reader)->info().size, gz.size());
  EXPECT_EQ(ReadAll(**reader), gz);
  Result<ObjectInfo> head = store().Head("enc/x.sym");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->content_encoding, "gzip");
  EXPECT_EQ(head->metadata.at("original_size"), "1000");
}

TEST_P(ObjectStoreConformanceTest, AbsentKeyIsNotFound) {
  Result<std::unique_ptr<ObjectReader>> reader = store().Get("no/such/key");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kNotFound);
  Result<ObjectInfo> head = store().Head("no/such/key");
  ASSERT_FALSE(head.ok());
  EXPECT_EQ(head.status().code(), StatusCode::kNotFound);
  Result<bool> exists = store().Exists("no/such/key");
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
  EXPECT_TRUE(store().Delete("no/such/key").ok());
}

TEST_P(ObjectStoreConformanceTest, DeleteRemovesObject) {
  ASSERT_TRUE(store().Put("d/a/b", "x", {}).ok());
  ASSERT_TRUE(store().Put("d/a/c", "y", {}).ok());
  ASSERT_TRUE(store().Delete("d/a/b").ok());
  EXPECT_FALSE(*store().Exists("d/a/b"));
  EXPECT_EQ(store().Get("d/a/b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().Head("d/a/b").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store().Delete("d/a/b").ok());  // again: absent is fine
  EXPECT_EQ(GetBytes(store(), "d/a/c"), "y");
  EXPECT_THAT(Keys(*store().List("d/")), ElementsAre("d/a/c"));
  // Re-creating after a delete works and carries only the new metadata.
  PutOptions options;
  options.metadata = {{"k", "v"}};
  ASSERT_TRUE(store().Put("d/a/b", "z", options).ok());
  EXPECT_EQ(GetBytes(store(), "d/a/b"), "z");
  EXPECT_EQ(store().Head("d/a/b")->metadata, options.metadata);
}

TEST_P(ObjectStoreConformanceTest, OverwriteReplacesBytesAndMetadata) {
  PutOptions first;
  first.content_type = "text/plain";
  first.content_encoding = "gzip";
  first.metadata = {{"original_size", "1"}, {"extra", "yes"}};
  ASSERT_TRUE(store().Put("o/k", "first version", first).ok());
  PutOptions second;
  second.content_type = "application/octet-stream";
  second.metadata = {{"original_size", "2"}};
  ASSERT_TRUE(store().Put("o/k", "second", second).ok());
  Result<std::unique_ptr<ObjectReader>> reader = store().Get("o/k");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(ReadAll(**reader), "second");
  const ObjectInfo& info = (*reader)->info();
  EXPECT_EQ(info.size, 6u);
  EXPECT_EQ(info.content_type, "application/octet-stream");
  EXPECT_EQ(info.content_encoding, "");
  EXPECT_EQ(info.metadata, second.metadata);
  EXPECT_EQ(info.etag, QuotedMd5("second"));
  EXPECT_THAT(Keys(*store().List("o/")), ElementsAre("o/k"));
}

TEST_P(ObjectStoreConformanceTest, OpenReaderKeepsItsVersionAcrossOverwrite) {
  const std::string old_data = PseudoRandom(300'000, 1);
  ASSERT_TRUE(store().Put("r/k", old_data, {}).ok());
  Result<std::unique_ptr<ObjectReader>> reader = store().Get("r/k");
  ASSERT_TRUE(reader.ok());
  char first[1000];
  Result<size_t> n = (*reader)->Read(first, sizeof(first));
  ASSERT_TRUE(n.ok());
  ASSERT_GT(*n, 0u);
  ASSERT_TRUE(store().Put("r/k", PseudoRandom(300'000, 2), {}).ok());
  std::string got(first, *n);
  got += ReadAll(**reader);
  EXPECT_TRUE(got == old_data) << "a reader saw a torn object";
  EXPECT_EQ((*reader)->info().etag, QuotedMd5(old_data));
}

TEST_P(ObjectStoreConformanceTest, LargeStreamedPutFile) {
  ScratchDir scratch;
  ASSERT_FALSE(scratch.path().empty());
  const std::string data = PseudoRandom(20 << 20, 42);
  std::string path = scratch.Write("big.bin", data);
  PutOptions options;
  options.content_type = "application/octet-stream";
  ASSERT_TRUE(store().PutFile("big/ID/big.bin", path, options).ok());

  Result<std::unique_ptr<ObjectReader>> reader = store().Get("big/ID/big.bin");
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->info().size, data.size());
  EXPECT_EQ((*reader)->info().etag, QuotedMd5(data));
  Digest md5(Digest::Kind::kMd5);
  std::vector<char> buf(65537);
  uint64_t total = 0;
  while (true) {
    Result<size_t> got = (*reader)->Read(buf.data(), buf.size());
    ASSERT_TRUE(got.ok());
    if (*got == 0) break;
    md5.Update(buf.data(), *got);
    total += *got;
  }
  EXPECT_EQ(total, data.size());
  EXPECT_EQ(md5.FinishHex(), Md5Hex(data));
  EXPECT_EQ(store().Head("big/ID/big.bin")->size, data.size());
}

TEST_P(ObjectStoreConformanceTest, PutFileWithMissingSourceFailsAndStoresNothing) {
  Status s = store().PutFile("m/k", "/nonexistent/sigil/source.bin", {});
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(*store().Exists("m/k"));
}

TEST_P(ObjectStoreConformanceTest, ListIsSortedFilteredAndLimited) {
  const std::vector<std::string> keys = {
      "a/x", "a.b/x", "a-b/x", "ab/c", "a/b/c", "b", "try/xul.pdb/ABC/xul.sym"};
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(store().Put(keys[i], std::string(i + 1, 'x'), {}).ok()) << keys[i];
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());

  Result<std::vector<ListEntry>> all = store().List("");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_THAT(Keys(*all), ElementsAreArray(sorted));
  for (const ListEntry& e : *all) {
    size_t index = std::find(keys.begin(), keys.end(), e.key) - keys.begin();
    EXPECT_EQ(e.size, index + 1) << e.key;
    EXPECT_GT(e.last_modified, 0);
  }
  EXPECT_THAT(Keys(*store().List("a")), ElementsAre("a-b/x", "a.b/x", "a/b/c", "a/x", "ab/c"));
  EXPECT_THAT(Keys(*store().List("a/")), ElementsAre("a/b/c", "a/x"));
  EXPECT_THAT(Keys(*store().List("a/", 1)), ElementsAre("a/b/c"));
  EXPECT_THAT(Keys(*store().List("", 3)), ElementsAre("a-b/x", "a.b/x", "a/b/c"));
  EXPECT_THAT(Keys(*store().List("try/xul")), ElementsAre("try/xul.pdb/ABC/xul.sym"));
  EXPECT_THAT(Keys(*store().List("zzz")), IsEmpty());
  EXPECT_THAT(Keys(*store().List("nope/deeper/")), IsEmpty());
}

TEST_P(ObjectStoreConformanceTest, KeysWithUnusualCharacters) {
  const std::vector<std::string> keys = {"with space/ID/file name.sym", "plus+sign/A=B,C;D/x@y.sym",
                                         "utf8-\xc3\xa9/ID/\xe2\x82\xac.sym",
                                         "tilde~/paren(1)/f!$&"};
  for (const std::string& key : keys) {
    ASSERT_TRUE(store().Put(key, key, {}).ok()) << key;
  }
  for (const std::string& key : keys) {
    EXPECT_EQ(GetBytes(store(), key), key);
    EXPECT_TRUE(*store().Exists(key)) << key;
  }
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_THAT(Keys(*store().List("")), ElementsAreArray(sorted));
}

TEST_P(ObjectStoreConformanceTest, InvalidKeysAreRejected) {
  ScratchDir scratch;
  std::string source = scratch.Write("src", "data");
  const std::vector<std::string> bad = {"../x", "/abs", "a/../../b",
                                        "a//b", "",     "a/./b",
                                        "a/",   "a\\b", std::string("a\0b", 3),
                                        "a\nb", "..",   std::string(1025, 'k')};
  for (const std::string& key : bad) {
    SCOPED_TRACE("key: " + key);
    EXPECT_EQ(store().Put(key, "x", {}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store().PutFile(key, source, {}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store().Get(key).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store().Head(key).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store().Exists(key).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store().Delete(key).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(Keys(*store().List("")), IsEmpty());
}

TEST_P(ObjectStoreConformanceTest, InvalidMetadataIsRejected) {
  for (const char* bad_key : {"Upper", "has space", "", "dot.ted"}) {
    PutOptions options;
    options.metadata = {{bad_key, "v"}};
    EXPECT_EQ(store().Put("meta/k", "x", options).code(), StatusCode::kInvalidArgument) << bad_key;
  }
  PutOptions newline;
  newline.metadata = {{"ok", "line\nbreak"}};
  EXPECT_EQ(store().Put("meta/k", "x", newline).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(*store().Exists("meta/k"));
}

TEST_P(ObjectStoreConformanceTest, ConcurrentWritersOfOneKeyNeverTear) {
  constexpr int kWriters = 8;
  constexpr int kRounds = 6;
  std::vector<std::string> payloads;
  for (int i = 0; i < kWriters; ++i) payloads.push_back(PseudoRandom(100'000 + i * 7919, i + 100));
  auto writer_of = [&](const std::string& data) {
    for (int i = 0; i < kWriters; ++i) {
      if (payloads[i] == data) return i;
    }
    return -1;
  };
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      PutOptions options;
      options.content_type = "application/x-writer-" + std::to_string(w);
      options.metadata = {{"writer", std::to_string(w)}};
      for (int r = 0; r < kRounds; ++r) {
        if (!store().Put("c/ID/same.sym", payloads[w], options).ok()) ++failures;
      }
    });
  }
  std::thread reader([&] {
    while (!done.load()) {
      Result<std::unique_ptr<ObjectReader>> got = store().Get("c/ID/same.sym");
      if (!got.ok()) {
        if (got.status().code() != StatusCode::kNotFound) ++failures;
        continue;
      }
      std::string data = ReadAll(**got);
      int w = writer_of(data);
      const ObjectInfo& info = (*got)->info();
      if (w < 0 || info.metadata.count("writer") == 0 ||
          info.metadata.at("writer") != std::to_string(w) || info.etag != QuotedMd5(data) ||
          info.size != data.size()) {
        ++failures;
      }
      ++reads;
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  Result<std::unique_ptr<ObjectReader>> final_reader = store().Get("c/ID/same.sym");
  ASSERT_TRUE(final_reader.ok());
  std::string data = ReadAll(**final_reader);
  int w = writer_of(data);
  ASSERT_GE(w, 0) << "final object is not one of the inputs";
  EXPECT_EQ((*final_reader)->info().metadata.at("writer"), std::to_string(w));
  EXPECT_EQ((*final_reader)->info().content_type, "application/x-writer-" + std::to_string(w));
  EXPECT_THAT(Keys(*store().List("c/")), ElementsAre("c/ID/same.sym"));
}

TEST_P(ObjectStoreConformanceTest, ConcurrentWritersOfDistinctKeys) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "many/ID/f" + std::to_string(t) + "-" + std::to_string(i);
        if (!store().Put(key, key, {}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  Result<std::vector<ListEntry>> listed = store().List("many/");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), static_cast<size_t>(kThreads * kPerThread));
  for (const ListEntry& e : *listed) EXPECT_EQ(GetBytes(store(), e.key), e.key);
}

TEST_P(ObjectStoreConformanceTest, PingAndName) {
  EXPECT_TRUE(store().Ping().ok());
  EXPECT_FALSE(store().Name().empty());
}

}  // namespace
}  // namespace sigil::storage::testing
