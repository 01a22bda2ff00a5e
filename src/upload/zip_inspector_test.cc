#include "upload/zip_inspector.h"

#include <gtest/gtest.h>

#include <string>

#include "upload/testing/zip_builder.h"

namespace sigil::upload {
namespace {

using testing::ZipEntry;

const std::string kUploads = std::string(SIGIL_SHARED_DIR) + "/testdata/uploads/";

ArchiveFile WholeFile(const std::string& path) {
  return ArchiveFile{path, 0, testing::ReadFileOrDie(path).size()};
}

Result<ArchivePlan> InspectEntries(const std::vector<ZipEntry>& entries,
                                   const UploadConfig& config = {}) {
  std::string path = ::testing::TempDir() + "/inspect.zip";
  Status s = testing::WriteZip(path, entries);
  if (!s.ok()) return s;
  return InspectArchive(WholeFile(path), config, false);
}

std::string MessageOf(const Result<ArchivePlan>& r) { return r.ok() ? "OK" : r.status().message(); }

TEST(ZipInspectorTest, SampleZip) {
  auto plan = InspectArchive(WholeFile(kUploads + "sample.zip"), {}, false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->members.size(), 2u);
  EXPECT_EQ(plan->members[0].name, "flag/deadbeef/flag.jpeg");
  EXPECT_EQ(plan->members[0].key.StorageKey(), "flag/DEADBEEF/flag.jpeg");
  EXPECT_EQ(plan->members[0].size, 69183u);
  EXPECT_EQ(plan->members[1].key.StorageKey(), "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  EXPECT_EQ(plan->ignored, std::vector<std::string>{"build-symbols.txt"});
  EXPECT_EQ(plan->total_size, 69183u + 1156u);
  EXPECT_EQ(plan->content_hash.size(), 64u);
}

TEST(ZipInspectorTest, TryKeysAndIgnorableFiles) {
  auto plan = InspectArchive(WholeFile(kUploads + "sample-with-ignorable-files.zip"), {}, true);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->members.size(), 2u);
  EXPECT_EQ(plan->members[1].key.StorageKey(), "try/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  EXPECT_EQ(plan->ignored, (std::vector<std::string>{"build-symbols.txt", "flag/.DS_Store",
                                                     "xpcshell.dbg/A7D6F1BB18CD4CB48/.DS_Store"}));
}

TEST(ZipInspectorTest, SpecMessagesForTeckenArchives) {
  EXPECT_EQ(MessageOf(InspectArchive(WholeFile(kUploads + "notazipdespiteitsname.zip"), {}, false)),
            "File is not a zip file");
  EXPECT_EQ(
      MessageOf(InspectArchive(WholeFile(kUploads + "duplicated-different-size.zip"), {}, false)),
      "The zipfile buffer contains two files both called "
      "foo.pdb/50FEB8DBDC024C66B42193D881CE80E12/ntdll.sym and they have difference sizes "
      "(24 != 39)");
  auto same = InspectArchive(WholeFile(kUploads + "duplicated-same-size.zip"), {}, false);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->members.size(), 1u);
  EXPECT_EQ(MessageOf(InspectArchive(WholeFile(kUploads + "invalid.zip"), {}, false)),
            "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt "
            "and nothing else. (First unrecognized pattern was 'xpcshell.sym')");
  EXPECT_EQ(MessageOf(InspectArchive(WholeFile(kUploads + "invalid-characters.zip"), {}, false)),
            "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt "
            "and nothing else. (First unrecognized pattern was "
            "'xpcfoo.dbg/A7D6F1BB18CD4CB48/p%eter.sym')");
}

TEST(ZipInspectorTest, ArchiveInsideALargerFile) {
  std::string zip = testing::ReadFileOrDie(kUploads + "sample.zip");
  std::string path = ::testing::TempDir() + "/embedded";
  testing::WriteFileOrDie(path, "HEADER-BYTES" + zip + "TRAILER");
  auto plan = InspectArchive(ArchiveFile{path, 12, zip.size()}, {}, false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->members.size(), 2u);
}

TEST(ZipInspectorTest, RejectsHostileNames) {
  EXPECT_EQ(MessageOf(InspectEntries({{"/etc/x/passwd", "x"}})),
            "Archive member '/etc/x/passwd' has an absolute path");
  EXPECT_EQ(MessageOf(InspectEntries({{"a/../../b", "x"}})),
            "Archive member 'a/../../b' has a '..' path component");
  EXPECT_EQ(MessageOf(InspectEntries({{"../AB/x.sym", "x"}})),
            "Archive member '../AB/x.sym' has a '..' path component");
  EXPECT_EQ(
      MessageOf(InspectEntries({{"a.pdb/AB/a.sym", "/etc/passwd", ZipEntry::Kind::kSymlink}})),
      "Archive member 'a.pdb/AB/a.sym' is a symbolic link");
  EXPECT_EQ(MessageOf(InspectEntries({{"qcom/proprietary/AB/x.sym", "x"}})),
            "Content of archive file contains the snippet 'qcom/proprietary' which is not allowed");
}

TEST(ZipInspectorTest, RejectsEncryptedMembers) {
  ZipEntry e{"a.pdb/AB/a.sym", "MODULE x"};
  e.encrypt = true;
  EXPECT_EQ(MessageOf(InspectEntries({e})), "Archive member 'a.pdb/AB/a.sym' is encrypted");
}

TEST(ZipInspectorTest, EnforcesSizeAndCountLimits) {
  UploadConfig config;
  config.max_members = 3;
  auto many =
      InspectEntries({{"a/1/a", "x"}, {"a/2/a", "x"}, {"a/3/a", "x"}, {"a/4/a", "x"}}, config);
  EXPECT_EQ(many.status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(MessageOf(many), "Archive has 4 members; the maximum is 3");

  config = {};
  config.max_member_bytes = 100;
  auto big = InspectEntries({{"a/1/a", std::string(101, 'x')}}, config);
  EXPECT_EQ(big.status().code(), StatusCode::kTooLarge);
  EXPECT_NE(MessageOf(big).find("'a/1/a'"), std::string::npos);

  config = {};
  config.max_total_uncompressed_bytes = 150;
  auto total =
      InspectEntries({{"a/1/a", std::string(100, 'x')}, {"a/2/a", std::string(100, 'x')}}, config);
  EXPECT_EQ(total.status().code(), StatusCode::kTooLarge);

  std::string path = ::testing::TempDir() + "/inspect-size.zip";
  ASSERT_TRUE(testing::WriteZip(path, {{"a/1/a", "x"}}).ok());
  config = {};
  config.max_archive_bytes = 10;
  EXPECT_EQ(InspectArchive(WholeFile(path), config, false).status().code(), StatusCode::kTooLarge);
}

TEST(ZipInspectorTest, RejectsZipBombByDeclaredRatio) {
  // 8 MB of zeros deflates ~1000:1.
  auto bomb = InspectEntries({{"a.pdb/AB/a.sym", std::string(8 << 20, '\0')}});
  EXPECT_EQ(bomb.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(
      MessageOf(bomb).find("Archive member 'a.pdb/AB/a.sym' has a compression ratio over 200:1"),
      std::string::npos)
      << MessageOf(bomb);
  // Small highly compressible files are fine.
  EXPECT_TRUE(InspectEntries({{"a.pdb/AB/a.sym", std::string(100000, '\0')}}).ok());
}

TEST(ZipInspectorTest, DirectoryEntriesAreSkippedAndEmptyArchivesAccepted) {
  auto plan = InspectEntries(
      {{"a.pdb/", "", ZipEntry::Kind::kDirectory}, {"a.pdb/AB/", "", ZipEntry::Kind::kDirectory}});
  ASSERT_TRUE(plan.ok()) << MessageOf(plan);
  EXPECT_TRUE(plan->members.empty());
}

TEST(ZipInspectorTest, RefusesHugeDeclaredEntryCountBeforeLibzip) {
  // An end-of-central-directory record claiming 65534 entries in a 22-byte file.
  std::string eocd("PK\x05\x06\0\0\0\0\xfe\xff\xfe\xff\0\0\0\0\0\0\0\0\0\0", 22);
  std::string path = ::testing::TempDir() + "/eocd-only.zip";
  testing::WriteFileOrDie(path, eocd);
  UploadConfig config;
  config.max_members = 1000;
  auto r = InspectArchive(WholeFile(path), config, false);
  EXPECT_EQ(r.status().code(), StatusCode::kTooLarge);
}

TEST(ZipInspectorTest, IgnorableNames) {
  EXPECT_TRUE(IsIgnorableMember("firefox-77.0a1.en-US.linux-x86_64-Symbols.TXT"));
  EXPECT_FALSE(IsIgnorableMember("a/b-symbols.txt"));
  EXPECT_TRUE(IsIgnorableMember("a/b/.DS_Store"));
  EXPECT_TRUE(IsIgnorableMember(".DS_Store"));
  EXPECT_FALSE(IsIgnorableMember("a/b/c.sym"));
}

}  // namespace
}  // namespace sigil::upload

namespace sigil::upload {
namespace {

TEST(ZipInspectorTest, HundredThousandMembersRefusedQuickly) {
  std::vector<ZipEntry> many;
  many.reserve(100000);
  for (int i = 0; i < 100000; ++i) {
    many.push_back(
        {"m.pdb/" + std::to_string(1000000 + i) + "/m.sym", "x", ZipEntry::Kind::kFile, false});
  }
  std::string path = ::testing::TempDir() + "/many.zip";
  ASSERT_TRUE(testing::WriteZip(path, many).ok());
  auto start = std::chrono::steady_clock::now();
  auto r = InspectArchive(WholeFile(path), {}, false);
  EXPECT_EQ(r.status().message(), "Archive has 100000 members; the maximum is 50000");
  std::cerr << "inspect took "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
}

}  // namespace
}  // namespace sigil::upload
