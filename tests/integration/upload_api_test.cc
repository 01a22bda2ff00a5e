// POST /upload/ end to end: every archive of testdata/uploads, storage layout and metadata,
// skipping, try uploads, permissions, and hostile archives that must leave storage and the database
// unchanged.
#include <boost/json.hpp>

#include "common/hashing.h"
#include "upload_fixture.h"

namespace sigil::upload {
namespace {

using testing::ZipEntry;

boost::json::object UploadOf(const test::HttpResponse& r) {
  return boost::json::parse(r.body).as_object().at("upload").as_object();
}

TEST_F(UploadIntegrationTest, SampleZipStoredThenSkipped) {
  auto r = PostZip("sample.zip", kUploadsDir + "sample.zip");
  ASSERT_EQ(r.status, 201) << r.body;
  auto up = UploadOf(r);
  EXPECT_EQ(up.at("filename").as_string(), "sample.zip");
  EXPECT_EQ(up.at("size").as_int64(), 70398);
  EXPECT_EQ(up.at("user").as_string(), "uploader@example.com");
  EXPECT_EQ(up.at("bucket").as_string(), store_->Name());
  EXPECT_TRUE(up.at("download_url").is_null());
  EXPECT_FALSE(up.at("try_symbols").as_bool());
  EXPECT_TRUE(up.at("redirect_urls").as_array().empty());
  EXPECT_TRUE(up.at("completed_at").is_string());
  EXPECT_TRUE(up.at("created_at").is_string());
  EXPECT_EQ(boost::json::serialize(up.at("ignored_keys")), "[\"build-symbols.txt\"]");
  EXPECT_TRUE(up.at("skipped_keys").as_array().empty());
  // Exact key order of the spec.
  std::vector<std::string> keys;
  for (const auto& kv : up) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "size", "filename", "bucket", "download_url",
                                            "try_symbols", "redirect_urls", "completed_at",
                                            "created_at", "user", "skipped_keys", "ignored_keys"}));

  std::string zip = testing::ReadFileOrDie(kUploadsDir + "sample.zip");
  EXPECT_EQ(StoredKeys(),
            (std::vector<std::string>{"flag/DEADBEEF/flag.jpeg",
                                      "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"}));
  auto jpeg = store_->Head("flag/DEADBEEF/flag.jpeg");
  ASSERT_TRUE(jpeg.ok());
  EXPECT_EQ(jpeg->size, 69183u);
  EXPECT_EQ(jpeg->content_encoding, "");
  auto sym = store_->Head("xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  ASSERT_TRUE(sym.ok());
  EXPECT_EQ(sym->content_encoding, "gzip");
  EXPECT_EQ(sym->metadata.at("original_size"), "1156");
  auto plain = testing::Gunzip(ReadObject("xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->size(), 1156u);
  EXPECT_EQ(sym->metadata.at("original_md5_hash"), Md5Hex(*plain));
  EXPECT_TRUE(plain->starts_with("MODULE mac x86_64 BBACA09FD1C13F6C84254BFD8732AF400 xpcshell"));

  // Database rows.
  int64_t id = up.at("id").as_int64();
  auto row = db_->GetUpload(id);
  ASSERT_TRUE(row.ok());
  EXPECT_TRUE(row->completed_at.has_value());
  EXPECT_EQ(row->stored_keys.size(), 2u);
  EXPECT_FALSE(row->content_hash.empty());
  auto files = db_->ListFileUploads(id);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 2u);
  auto by_id = db_->FindSymbolByDebugId("xpcshell", "BBACA09FD1C13F6C84254BFD8732AF400");
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
  EXPECT_EQ(by_id->key, "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(published_.size(), 2u);
  }

  // The same archive again: both files skipped, nothing rewritten.
  auto again = PostZip("sample.zip", kUploadsDir + "sample.zip");
  ASSERT_EQ(again.status, 201) << again.body;
  auto up2 = UploadOf(again);
  EXPECT_EQ(boost::json::serialize(up2.at("skipped_keys")),
            "[\"flag/DEADBEEF/flag.jpeg\",\"xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym\"]");
  EXPECT_TRUE(db_->ListFileUploads(up2.at("id").as_int64())->empty());
  auto sym2 = store_->Head("xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym");
  EXPECT_EQ(sym2->last_modified, sym->last_modified);
}

TEST_F(UploadIntegrationTest, TeckenArchivesGetTheSpecsAnswers) {
  struct Case {
    std::string file;
    long status;
    std::string body;  // exact JSON for errors; "" for 201
  };
  const std::string pattern =
      "Unrecognized file pattern. Should only be <module>/<hex>/<file> or <name>-symbols.txt and "
      "nothing else. (First unrecognized pattern was '";
  std::vector<Case> cases = {
      {"duplicated-different-size.zip", 400,
       ErrorJson("The zipfile buffer contains two files both called "
                 "foo.pdb/50FEB8DBDC024C66B42193D881CE80E12/ntdll.sym and they have difference "
                 "sizes (24 != 39)")},
      {"invalid-characters.zip", 400,
       ErrorJson(pattern + "xpcfoo.dbg/A7D6F1BB18CD4CB48/p%eter.sym')")},
      {"invalid.zip", 400, ErrorJson(pattern + "xpcshell.sym')")},
      {"notazipdespiteitsname.zip", 400, ErrorJson("File is not a zip file")},
      {"sym_files_to_download.csv", 400, ErrorJson("Unrecognized archive file extension \".csv\"")},
      {"duplicated-same-size.zip", 201, ""},
      {"sample-with-ignorable-files.zip", 201, ""},
  };
  for (const Case& c : cases) {
    auto r = PostZip(c.file, kUploadsDir + c.file);
    EXPECT_EQ(r.status, c.status) << c.file << ": " << r.body;
    if (!c.body.empty()) {
      EXPECT_EQ(r.body, c.body) << c.file;
    }
  }
  auto keys = StoredKeys();
  EXPECT_EQ(keys, (std::vector<std::string>{"flag/DEADBEEF/flag.jpeg",
                                            "foo.pdb/50FEB8DBDC024C66B42193D881CE80E12/ntdll.sym",
                                            "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"}));
}

TEST_F(UploadIntegrationTest, IgnorableFilesListed) {
  auto r =
      PostZip("sample-with-ignorable-files.zip", kUploadsDir + "sample-with-ignorable-files.zip");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(
      boost::json::serialize(UploadOf(r).at("ignored_keys")),
      "[\"build-symbols.txt\",\"flag/.DS_Store\",\"xpcshell.dbg/A7D6F1BB18CD4CB48/.DS_Store\"]");
}

TEST_F(UploadIntegrationTest, FieldNameIsTheArchiveNameWithFilenameFallback) {
  test::HttpClient client(server_->base_url());
  // Field name without extension: the part's filename is used.
  auto r = client.PostMultipart(
      "/upload/", {{.name = "file", .file_path = kUploadsDir + "sample.zip", .filename = "x.ZIP"}},
      {{"Auth-Token", "upload"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(UploadOf(r).at("filename").as_string(), "x.ZIP");
  auto rar = client.PostMultipart(
      "/upload/", {{.name = "symbols.rar", .file_path = kUploadsDir + "sample.zip"}},
      {{"Auth-Token", "upload"}});
  EXPECT_EQ(rar.status, 400);
  EXPECT_EQ(rar.body, ErrorJson("Unrecognized archive file extension \".rar\""));
}

TEST_F(UploadIntegrationTest, RequestFormsAndPermissions) {
  test::HttpClient client(server_->base_url());
  auto none =
      client.Post("/upload/", "hello", {{"Auth-Token", "upload"}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.body, ErrorJson("Must be multipart form data with at least one file"));
  auto field_only =
      client.PostMultipart("/upload/", {{.name = "try", .data = "1"}}, {{"Auth-Token", "upload"}});
  EXPECT_EQ(field_only.status, 400);
  EXPECT_EQ(field_only.body, ErrorJson("Must be multipart form data with at least one file"));
  EXPECT_EQ(PostZip("sample.zip", kUploadsDir + "sample.zip", "none").status, 403);
  auto get = client.Get("/upload/", {{"Auth-Token", "upload"}});
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.body, ErrorJson("Method Not Allowed (GET): /upload/"));
  EXPECT_TRUE(StoredKeys().empty());
  EXPECT_EQ(UploadRows(), 0u);
}

TEST_F(UploadIntegrationTest, TryUploads) {
  // A try-only token uploads to try/ even with try=0.
  test::HttpClient client(server_->base_url());
  auto r = client.PostMultipart("/upload/",
                                {{.name = "sample.zip", .file_path = kUploadsDir + "sample.zip"},
                                 {.name = "try", .data = "0"}},
                                {{"Auth-Token", "try"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(UploadOf(r).at("try_symbols").as_bool());
  // upload_symbols with try=false is a regular upload; with try=1 a try upload.
  auto regular =
      client.PostMultipart("/upload/",
                           {{.name = "sample.zip", .file_path = kUploadsDir + "sample.zip"},
                            {.name = "try", .data = "false"}},
                           {{"Auth-Token", "upload"}});
  ASSERT_EQ(regular.status, 201);
  EXPECT_FALSE(UploadOf(regular).at("try_symbols").as_bool());
  EXPECT_EQ(StoredKeys(),
            (std::vector<std::string>{"flag/DEADBEEF/flag.jpeg", "try/flag/DEADBEEF/flag.jpeg",
                                      "try/xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym",
                                      "xpcshell.dbg/A7D6F1BB18CD4CB48/xpcshell.sym"}));
}

// Hostile archives: rejected with a message naming the member; storage and database unchanged.
TEST_F(UploadIntegrationTest, HostileArchivesChangeNothing) {
  std::string sym = "MODULE Linux x86_64 AB x\nPUBLIC 0 0 f\n";
  struct Case {
    std::string what;
    std::string zip;
    long status;
    std::string message_part;
  };
  std::vector<Case> cases;
  cases.push_back({"traversal",
                   *testing::MakeZip({{"a.pdb/AB/ok.sym", sym}, {"a/../../etc/AB/x.sym", sym}}),
                   400, "'a/../../etc/AB/x.sym' has a '..' path component"});
  cases.push_back({"absolute", *testing::MakeZip({{"/tmp/AB/x.sym", sym}}), 400,
                   "'/tmp/AB/x.sym' has an absolute path"});
  cases.push_back(
      {"symlink",
       *testing::MakeZip({{"a.pdb/AB/ok.sym", sym},
                          {"a.pdb/AB/link.sym", "/etc/passwd", ZipEntry::Kind::kSymlink}}),
       400, "'a.pdb/AB/link.sym' is a symbolic link"});
  cases.push_back({"bomb",
                   *testing::MakeZip({{"a.pdb/AB/ok.sym", sym},
                                      {"b.pdb/AB/bomb.sym", std::string(64 << 20, 'A')}}),
                   400, "'b.pdb/AB/bomb.sym' has a compression ratio over 200:1"});
  std::string sample = testing::ReadFileOrDie(kUploadsDir + "sample.zip");
  cases.push_back(
      {"truncated", sample.substr(0, sample.size() / 2), 400, "File is not a zip file"});
  {
    std::string crc =
        *testing::MakeZip({{"a.pdb/AB/ok.sym", sym}, {"b.pdb/CD/bad.sym", sym + sym}});
    ASSERT_TRUE(testing::PatchCrc(crc, "b.pdb/CD/bad.sym", 0xdeadbeef).ok());
    cases.push_back({"wrong CRC", crc, 400, "'b.pdb/CD/bad.sym' is corrupt (CRC mismatch)"});
  }
  {
    std::string lying = *testing::MakeZip(
        {{"a.pdb/AB/ok.sym", sym}, {"b.pdb/CD/lie.sym", std::string(32 << 20, 'B')}});
    ASSERT_TRUE(testing::PatchUncompressedSize(lying, "b.pdb/CD/lie.sym", 4096).ok());
    cases.push_back({"lying size", lying, 400,
                     "'b.pdb/CD/lie.sym' inflates to more than its declared 4096 bytes"});
  }
  {
    ZipEntry enc{"a.pdb/AB/secret.sym", sym};
    enc.encrypt = true;
    cases.push_back(
        {"encrypted", *testing::MakeZip({enc}), 400, "'a.pdb/AB/secret.sym' is encrypted"});
  }
  for (const Case& c : cases) {
    std::string path = dir_.WriteFile("hostile.zip", c.zip);
    auto r = PostZip("hostile.zip", path);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body << r.error;
    EXPECT_NE(r.body.find(c.message_part), std::string::npos) << c.what << ": " << r.body;
  }
  EXPECT_TRUE(StoredKeys().empty());
  EXPECT_EQ(UploadRows(), 0u);
}

TEST_F(UploadIntegrationTest, HundredThousandMembersRefused) {
  std::vector<ZipEntry> many;
  many.reserve(100000);
  for (int i = 0; i < 100000; ++i) {
    many.push_back(
        {"m.pdb/" + std::to_string(1000000 + i) + "/m.sym", "x", ZipEntry::Kind::kFile, false});
  }
  std::string path = dir_.WriteFile("many.zip", *testing::MakeZip(many));
  auto r = PostZip("many.zip", path);
  EXPECT_EQ(r.status, 413) << r.error;
  EXPECT_EQ(r.body, ErrorJson("Archive has 100000 members; the maximum is 50000"));
  EXPECT_TRUE(StoredKeys().empty());
  EXPECT_EQ(UploadRows(), 0u);
}

TEST_F(UploadIntegrationTest, LargeBodyIsSpooledAndParsed) {
  std::string path = dir_.WriteFile("big.zip", std::string(17 << 20, 'z'));
  auto r = PostZip("big.zip", path);
  EXPECT_EQ(r.status, 400) << r.error;
  EXPECT_EQ(r.body, ErrorJson("File is not a zip file"));
}

}  // namespace
}  // namespace sigil::upload
