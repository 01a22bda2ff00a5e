#include "upload/upload_service.h"

#include <gtest/gtest.h>
#include <zip.h>

#include <algorithm>
#include <map>
#include <thread>

#include "common/hashing.h"
#include "upload/gzip_compressor.h"
#include "upload/helper_fanout.h"
#include "upload/testing/fakes.h"
#include "upload/testing/zip_builder.h"

#if defined(__SANITIZE_THREAD__)
// UploadService::StoreBatch holds the locks of every key of a batch at once (up to 128, taken in
// key order), and TSan's lock-order detector tracks at most 64 locks held by one thread (it aborts
// with a CHECK failure beyond that). Data races are still reported; TSAN_OPTIONS can override this.
extern "C" const char* __tsan_default_options() { return "detect_deadlocks=0"; }
#endif

namespace sigil::upload {
namespace {

using testing::ZipEntry;

const std::string kUploads = std::string(SIGIL_SHARED_DIR) + "/testdata/uploads/";

std::string Sym(const std::string& debug_file, const std::string& id, size_t body_lines) {
  std::string s = "MODULE Linux x86_64 " + id + " " + debug_file + "\nINFO CODE_ID 1234ABCD " +
                  debug_file + ".so\nINFO GENERATOR test 1.0\n";
  for (size_t i = 0; i < body_lines; ++i)
    s += "PUBLIC " + std::to_string(i * 16) + " 0 f" + std::to_string(i % 97) + "\n";
  return s;
}

// Parameter: whether the store has pending puts (then phase 2 commits one batch; else one Put per
// member). Every test runs both ways.
class UploadServiceTest : public ::testing::TestWithParam<bool> {
 protected:
  UploadServiceTest() : pool_(3, 64) {
    store_.EnablePendingPuts(GetParam());
    bus_.Subscribe([this](const SymbolKey& k) {
      std::lock_guard lock(mu_);
      published_.push_back(k.StorageKey());
    });
  }

  UploadService Service() {
    return UploadService(config_, store_, db_, pool_, bus_, ::testing::TempDir());
  }

  Result<db::Upload> UploadFile(UploadService& s, const std::string& path,
                                const std::string& name = "x.zip", bool is_try = false) {
    UploadRequest r;
    r.user_id = 7;
    r.user_email = "u@example.com";
    r.filename = name;
    r.archive = ArchiveFile{path, 0, testing::ReadFileOrDie(path).size()};
    r.try_symbols = is_try;
    return s.Upload(r);
  }

  Result<db::Upload> UploadEntries(UploadService& s, const std::vector<ZipEntry>& entries) {
    std::string path = ::testing::TempDir() + "/svc-" + std::to_string(counter_++) + ".zip";
    Status w = testing::WriteZip(path, entries);
    if (!w.ok()) return w;
    return UploadFile(s, path);
  }

  UploadConfig config_;
  testing::FakeObjectStore store_;
  testing::FakeDatabase db_;
  WorkerPool pool_;
  LocalInvalidationBus bus_;
  std::mutex mu_;
  std::vector<std::string> published_;
  int counter_ = 0;
};

TEST_P(UploadServiceTest, SampleZipStoresJpegAsIsAndSymGzipped) {
  UploadService s = Service();
  auto up = UploadFile(s, kUploads + "sample.zip", "sample.zip");
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(up->completed_at.has_value());
  EXPECT_EQ(up->filename, "sample.zip");
  EXPECT_EQ(up->size, 70398u);
  EXPECT_EQ(up->ignored_keys, std::vector<std::string>{"build-symbols.txt"});
  EXPECT_TRUE(up->skipped_keys.empty());
  EXPECT_EQ(up->stored_keys.size(), 2u);

  auto objects = store_.Snapshot();
  ASSERT_EQ(objects.size(), 2u);
  const auto& jpeg = objects.at("flag/DEADBEEF/flag.jpeg");
  EXPECT_EQ(jpeg.data.size(), 69183u);
  EXPECT_EQ(jpeg.info.content_encoding, "");
  EXPECT_TRUE(jpeg.content_md5_given);  // stored as is: its MD5 comes along (the fake checks it)
  const auto& sym = objects.at("xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  EXPECT_FALSE(sym.content_md5_given);  // gzipped: the MD5 is of the original, in its metadata
  EXPECT_EQ(sym.info.content_encoding, "gzip");
  EXPECT_EQ(sym.info.content_type, "text/plain");
  auto plain = testing::Gunzip(sym.data);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->size(), 1156u);
  EXPECT_EQ(sym.info.metadata.at("original_size"), "1156");
  EXPECT_EQ(sym.info.metadata.at("original_md5_hash"), Md5Hex(*plain));

  auto files = db_.ListFileUploads(up->id);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  for (const auto& f : *files) {
    if (f.key.ends_with(".sym")) {
      EXPECT_TRUE(f.compressed);
      // Recorded from the file's MODULE line, not from its path in the archive.
      EXPECT_EQ(f.debug_filename, "xpcshell");
      EXPECT_EQ(f.debug_id, "BBACA09FD1C13F6C84254BFD8732AF400");
      EXPECT_EQ(f.size, sym.data.size());
    }
  }
  std::sort(published_.begin(), published_.end());
  EXPECT_EQ(published_, (std::vector<std::string>{"flag/DEADBEEF/flag.jpeg",
                                                  "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"}));

  // The same archive again: both skipped, one Head each, no listing, no new puts.
  int heads = store_.heads(), puts = store_.puts();
  auto again = UploadFile(s, kUploads + "sample.zip", "sample.zip");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->skipped_keys.size(), 2u);
  EXPECT_EQ(store_.heads() - heads, 2);
  EXPECT_EQ(store_.puts(), puts);
  EXPECT_EQ(store_.lists(), 0);
  // With pending puts, the first upload committed its two files in one batch.
  EXPECT_EQ(store_.commits(), GetParam() ? 1 : 0);
  EXPECT_EQ(store_.pending_alive(), 0);
}

TEST_P(UploadServiceTest, SymHeaderRecorded) {
  UploadService s = Service();
  auto up = UploadEntries(s, {{"libx.so/0123ABCD0/libx.so.sym", Sym("libx.so", "0123abcd0", 10)}});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto files = db_.ListFileUploads(up->id);
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].debug_filename, "libx.so");
  EXPECT_EQ((*files)[0].debug_id, "0123ABCD0");
  EXPECT_EQ((*files)[0].code_id, "1234ABCD");
  EXPECT_EQ((*files)[0].code_file, "libx.so.so");
  EXPECT_EQ((*files)[0].generator, "test 1.0");
}

TEST_P(UploadServiceTest, ChangedContentIsRewrittenAsUpdate) {
  UploadService s = Service();
  ASSERT_TRUE(UploadEntries(s, {{"a.pdb/AB/a.sym", Sym("a.pdb", "AB", 100)}}).ok());
  std::string changed = Sym("a.pdb", "AB", 100);
  changed[changed.size() - 2] = 'Z';  // same size, different MD5
  auto up = UploadEntries(s, {{"a.pdb/AB/a.sym", changed}});
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(up->skipped_keys.empty());
  auto files = db_.ListFileUploads(up->id);
  ASSERT_EQ(files->size(), 1u);
  EXPECT_TRUE((*files)[0].update);
  EXPECT_EQ(*testing::Gunzip(store_.Snapshot().at("a.pdb/AB/a.sym").data), changed);
}

TEST_P(UploadServiceTest, WellCompressedDeflateIsKeptOthersAreRecompressed) {
  UploadService s = Service();
  std::string text = Sym("a.pdb", "AB", 20000);
  std::string stream = testing::RawDeflate(text, 9);
  auto upload_raw = [&](const std::string& key, const std::string& data, uint16_t method) {
    std::string path = ::testing::TempDir() + "/raw-" + std::to_string(counter_++) + ".zip";
    testing::WriteFileOrDie(
        path, testing::MakeRawZip(key, data, method, static_cast<uint32_t>(text.size()),
                                  testing::Crc32(text)));
    return UploadFile(s, path);
  };
  ASSERT_TRUE(upload_raw("a.pdb/A1/a.sym", stream, ZIP_CM_DEFLATE).ok());
  ASSERT_TRUE(upload_raw("a.pdb/A2/a.sym", stream + "xx", ZIP_CM_DEFLATE).ok());
  ASSERT_TRUE(upload_raw("a.pdb/A3/a.sym", text, ZIP_CM_STORE).ok());
  // Barely compressed (stored deflate blocks): recompressed.
  ASSERT_TRUE(upload_raw("a.pdb/A4/a.sym", testing::RawDeflate(text, 0), ZIP_CM_DEFLATE).ok());

  auto objects = store_.Snapshot();
  ASSERT_EQ(objects.size(), 4u);
  for (const auto& [key, object] : objects) {
    EXPECT_EQ(*testing::Gunzip(object.data), text) << key;
    EXPECT_EQ(object.info.content_encoding, "gzip");
    EXPECT_EQ(object.info.metadata.at("original_size"), std::to_string(text.size()));
    EXPECT_EQ(object.info.metadata.at("original_md5_hash"), Md5Hex(text));
  }
  // The client's stream, stored as it came.
  EXPECT_EQ(objects.at("a.pdb/A1/a.sym").data,
            std::string(GzipHeader()) + stream + GzipTrailer(testing::Crc32(text), text.size()));
  // Bytes after the stream, stored blocks: our own output, much smaller than the input.
  for (const char* key : {"a.pdb/A2/a.sym", "a.pdb/A3/a.sym", "a.pdb/A4/a.sym"}) {
    EXPECT_NE(objects.at(key).data.find(stream), 0u) << key;
    EXPECT_LT(objects.at(key).data.size(), text.size() / 3) << key;
  }
  // Kept or not, the same content uploaded again is skipped.
  auto again = upload_raw("a.pdb/A4/a.sym", stream, ZIP_CM_DEFLATE);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->skipped_keys, std::vector<std::string>{"a.pdb/A4/a.sym"});
}

// A corrupt member, in a small archive and among many members read side by side: nothing is
// stored, no row is written, staged objects are discarded.
TEST_P(UploadServiceTest, CorruptMemberLeavesStorageAndDatabaseUntouched) {
  std::vector<ZipEntry> many;
  for (int i = 0; i < 12; ++i) {
    std::string id = "C0" + std::to_string(i);
    many.push_back({"c.pdb/" + id + "/c.sym", Sym("c.pdb", id, 20000 + i * 1000)});
  }
  const std::vector<std::pair<std::vector<ZipEntry>, std::string>> cases = {
      {{{"a.pdb/AB/a.sym", Sym("a.pdb", "AB", 100)},
        {"b.pdb/CD/b.sym", Sym("b.pdb", "CD", 100000)}},
       "b.pdb/CD/b.sym"},
      {many, "c.pdb/C05/c.sym"}};
  for (const auto& [entries, corrupt] : cases) {
    auto zip = testing::MakeZip(entries);
    ASSERT_TRUE(zip.ok());
    ASSERT_TRUE(testing::PatchCrc(*zip, corrupt, 1).ok());
    std::string path = ::testing::TempDir() + "/crc.zip";
    testing::WriteFileOrDie(path, *zip);
    UploadService s = Service();
    auto up = UploadFile(s, path);
    EXPECT_EQ(up.status().message(), "Archive member '" + corrupt + "' is corrupt (CRC mismatch)");
    EXPECT_TRUE(store_.Snapshot().empty());
    EXPECT_EQ(db_.upload_count(), 0u);
    EXPECT_EQ(store_.commits(), 0);
    EXPECT_EQ(store_.pending_alive(), 0);  // staged objects discarded
  }
}

TEST_P(UploadServiceTest, StorageFailureMidwayKeepsIncompleteRecordAndRetrySkips) {
  UploadService s = Service();
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 6; ++i) {
    std::string id = "ABCDEF" + std::to_string(i);
    entries.push_back({"m.pdb/" + id + "/m.sym", Sym("m.pdb", id, 50)});
  }
  store_.FailPutsAfter(3);
  auto up = UploadEntries(s, entries);
  EXPECT_EQ(up.status().code(), StatusCode::kInternal);
  ASSERT_EQ(db_.upload_count(), 1u);
  auto row = db_.GetUpload(1);
  EXPECT_FALSE(row->completed_at.has_value());
  EXPECT_EQ(row->stored_keys.size(), 3u);
  EXPECT_EQ(store_.Snapshot().size(), 3u);

  store_.FailPutsAfter(-1);
  auto retry = UploadEntries(s, entries);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->skipped_keys.size(), 3u);
  EXPECT_EQ(retry->stored_keys.size(), 3u);
  EXPECT_EQ(store_.Snapshot().size(), 6u);
  EXPECT_EQ(store_.pending_alive(), 0);
}

TEST_P(UploadServiceTest, ConcurrentUploadsOfTheSameKeysStoreEachOnce) {
  UploadService s = Service();
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 20; ++i) {
    std::string id = "FEED" + std::to_string(i);
    entries.push_back({"c.pdb/" + id + "/c.sym", Sym("c.pdb", id, 2000)});
  }
  std::string path = ::testing::TempDir() + "/same.zip";
  ASSERT_TRUE(testing::WriteZip(path, entries).ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      if (UploadFile(s, path).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(store_.puts(), 20);
  EXPECT_EQ(db_.file_upload_count(), 20u);
}

// More members than one upload stages as pending objects: the largest go in the batch, the rest
// are Put one by one; all are stored and recorded once.
TEST_P(UploadServiceTest, ManyMembersAreAllStoredOnce) {
  UploadService s = Service();
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 140; ++i) {
    std::string id = "BEEF" + std::to_string(i);
    entries.push_back({"n.pdb/" + id + "/n.sym", Sym("n.pdb", id, 1 + i % 7)});
  }
  auto up = UploadEntries(s, entries);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->stored_keys.size(), 140u);
  EXPECT_EQ(store_.Snapshot().size(), 140u);
  EXPECT_EQ(store_.puts(), 140);
  EXPECT_EQ(db_.file_upload_count(), 140u);
  EXPECT_EQ(store_.commits(), GetParam() ? 1 : 0);
  EXPECT_EQ(store_.pending_alive(), 0);
}

// Members of all sizes (empty to several read chunks), deflated and stored, new, already stored
// and changed, in one archive: one phase-1 thread reads several side by side (their MD5s share
// SIMD rounds); every member must still get its own MD5, header and stored bytes.
TEST_P(UploadServiceTest, MembersReadSideBySideAreEachHashedAndStored) {
  UploadService s = Service();
  std::vector<ZipEntry> first, second;
  std::map<std::string, std::string> texts;
  for (int i = 0; i < 24; ++i) {
    std::string id = "51DE" + std::to_string(i);
    std::string key = "s.pdb/" + id + "/s.sym";
    texts[key] = Sym("s.pdb", id, static_cast<size_t>(i * i * 120));
    ZipEntry entry{key, texts[key], ZipEntry::Kind::kFile, /*deflate=*/i % 3 != 0};
    if (i % 2 == 0) first.push_back(entry);
    if (i == 4) entry.data = texts[key] = Sym("s.pdb", "51DE4", 16 * 120 + 1);  // changed
    second.push_back(entry);
  }
  texts["e.pdb/E1/e.sym"] = "";
  second.push_back({"e.pdb/E1/e.sym", ""});
  texts["b.pdb/B1/b.bin"] = Sym("b.pdb", "B1", 30000);  // not compressed: stored as it is
  second.push_back({"b.pdb/B1/b.bin", texts["b.pdb/B1/b.bin"]});

  ASSERT_TRUE(UploadEntries(s, first).ok());
  auto up = UploadEntries(s, second);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  std::vector<std::string> skipped = up->skipped_keys;
  std::sort(skipped.begin(), skipped.end());
  std::vector<std::string> expected_skips;
  for (int i = 0; i < 24; i += 2) {
    if (i != 4) expected_skips.push_back("s.pdb/51DE" + std::to_string(i) + "/s.sym");
  }
  std::sort(expected_skips.begin(), expected_skips.end());
  EXPECT_EQ(skipped, expected_skips);

  auto objects = store_.Snapshot();
  ASSERT_EQ(objects.size(), texts.size());
  for (const auto& [key, text] : texts) {
    const auto& object = objects.at(key);
    if (key.ends_with(".bin")) {
      EXPECT_EQ(object.data, text);
      continue;
    }
    EXPECT_EQ(*testing::Gunzip(object.data), text) << key;
    EXPECT_EQ(object.info.metadata.at("original_md5_hash"), Md5Hex(text)) << key;
    EXPECT_EQ(object.info.metadata.at("original_size"), std::to_string(text.size())) << key;
  }
  EXPECT_EQ(store_.pending_alive(), 0);
}

// Two names that differ only in the case of the debug id are one storage key (ids are stored upper
// case): the same bytes twice are stored once; different bytes are refused before anything is
// stored.
TEST_P(UploadServiceTest, TwoNamesOfOneKey) {
  UploadService s = Service();
  const std::string one = Sym("a.pdb", "ABCD", 4000);
  auto up = UploadEntries(s, {{"a.pdb/abcd/a.sym", one}, {"a.pdb/ABCD/a.sym", one}});
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto snapshot = store_.Snapshot();
  ASSERT_EQ(snapshot.size(), 1u);
  EXPECT_EQ(*testing::Gunzip(snapshot.at("a.pdb/ABCD/a.sym").data), one);

  const std::string two = Sym("b.pdb", "ABCD", 4000);
  std::string other = two;
  other[other.size() - 2] = 'x';  // same size, other bytes
  auto refused = UploadEntries(s, {{"b.pdb/ABCD/b.sym", two}, {"b.pdb/abcd/b.sym", other}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "The zipfile buffer contains two files for the same symbol file b.pdb/ABCD/b.sym "
            "(b.pdb/ABCD/b.sym and b.pdb/abcd/b.sym) and they have different contents");
  EXPECT_EQ(store_.Snapshot().size(), 1u);
}

TEST_P(UploadServiceTest, NameChecks) {
  EXPECT_TRUE(UploadService::CheckArchiveName("a.ZIP").ok());
  EXPECT_EQ(UploadService::CheckArchiveName("a.rar").message(),
            "Unrecognized archive file extension \".rar\"");
  EXPECT_EQ(UploadService::CheckArchiveName("noext").message(),
            "Unrecognized archive file extension \"\"");
}

INSTANTIATE_TEST_SUITE_P(Store, UploadServiceTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return std::string(param.param ? "PendingPuts" : "Puts");
                         });

TEST(HelperFanoutTest, CallerFinishesEvenWhenPoolIsBusy) {
  WorkerPool pool(1, 4);
  std::atomic<bool> release{false};
  pool.Submit([&] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  std::atomic<int> next{0}, done{0};
  RunWithHelpers(pool, 3, [&] {
    while (next.fetch_add(1) < 100) ++done;
  });
  EXPECT_EQ(done.load(), 100);
  release = true;
}

}  // namespace
}  // namespace sigil::upload
