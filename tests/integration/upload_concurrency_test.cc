// 8 clients upload overlapping archives at once: every file is stored exactly once and intact, and
// the database counts are exact.
#include <boost/json.hpp>
#include <map>
#include <set>
#include <thread>

#include "upload_fixture.h"

namespace sigil::upload {
namespace {

using testing::ZipEntry;

std::string SymFile(int i, size_t lines) {
  std::string id = "C0FFEE" + std::to_string(1000 + i);
  std::string s = "MODULE Linux x86_64 " + id + " lib" + std::to_string(i) + ".so\n";
  for (size_t l = 0; l < lines; ++l) {
    s += "FUNC " + std::to_string(l * 32 + i) + " 20 0 ns::Function" +
         std::to_string((l * 7 + i) % 1013) + "()\n";
  }
  return s;
}

TEST_F(UploadIntegrationTest, ConcurrentOverlappingUploadsStoreEachFileOnce) {
  // 24 distinct files; client c uploads files [3c, 3c + 12): each file is in 4 archives.
  constexpr int kFiles = 24, kClients = 8, kPerArchive = 12;
  std::map<std::string, std::string> contents;  // storage key -> original bytes
  std::vector<std::string> names(kFiles);
  for (int i = 0; i < kFiles; ++i) {
    names[i] = "lib" + std::to_string(i) + ".so/C0FFEE" + std::to_string(1000 + i) + "/lib" +
               std::to_string(i) + ".so.sym";
    contents[names[i]] = SymFile(i, 4000 + 500 * static_cast<size_t>(i));
  }
  contents["extra.pdb/ABC/extra.dll"] = std::string(300000, 'q') + "tail";
  std::vector<std::string> paths;
  for (int c = 0; c < kClients; ++c) {
    std::vector<ZipEntry> entries;
    for (int k = 0; k < kPerArchive; ++k) {
      const std::string& n = names[(3 * c + k) % kFiles];
      entries.push_back({n, contents[n]});
    }
    entries.push_back({"extra.pdb/ABC/extra.dll", contents["extra.pdb/ABC/extra.dll"],
                       ZipEntry::Kind::kFile, false});
    paths.push_back(dir_.Join("client" + std::to_string(c) + ".zip"));
    ASSERT_TRUE(testing::WriteZip(paths.back(), entries).ok());
  }

  std::vector<test::HttpResponse> responses(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] { responses[c] = PostZip("client.zip", paths[c]); });
  }
  for (auto& t : threads) t.join();

  size_t skipped = 0;
  for (int c = 0; c < kClients; ++c) {
    ASSERT_EQ(responses[c].status, 201) << responses[c].body;
    skipped +=
        boost::json::parse(responses[c].body).at("upload").at("skipped_keys").as_array().size();
  }
  // Every key stored exactly once: one file_uploads row per distinct key, the rest skipped.
  auto uploads = db_->ListUploads(100, 0);
  ASSERT_TRUE(uploads.ok());
  ASSERT_EQ(uploads->size(), static_cast<size_t>(kClients));
  std::multiset<std::string> stored_rows;
  for (const auto& u : *uploads) {
    EXPECT_TRUE(u.completed_at.has_value());
    auto files = db_->ListFileUploads(u.id);
    ASSERT_TRUE(files.ok());
    for (const auto& f : *files) stored_rows.insert(f.key);
    EXPECT_EQ(files->size(), u.stored_keys.size());
  }
  EXPECT_EQ(stored_rows.size(), contents.size());
  EXPECT_EQ(std::set<std::string>(stored_rows.begin(), stored_rows.end()).size(), contents.size());
  EXPECT_EQ(skipped, static_cast<size_t>(kClients * (kPerArchive + 1)) - contents.size());

  // Intact: byte-compare after download and decompression.
  EXPECT_EQ(StoredKeys().size(), contents.size());
  for (const auto& [key, original] : contents) {
    std::string stored = ReadObject(key);
    if (key.ends_with(".sym")) {
      auto plain = testing::Gunzip(stored);
      ASSERT_TRUE(plain.ok()) << key;
      EXPECT_TRUE(*plain == original) << key;
    } else {
      EXPECT_TRUE(stored == original) << key;
    }
  }
}

}  // namespace
}  // namespace sigil::upload
