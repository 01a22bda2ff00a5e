#include "db/database_conformance.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <atomic>
#include <initializer_list>
#include <map>
#include <thread>
#include <vector>

#include "common/clock.h"

namespace sigil::db::testing {

void DatabaseConformanceTest::SetUp() {
  db_ = GetParam().make();
  ASSERT_NE(db_, nullptr);
  Status migrated = db_->Migrate();
  ASSERT_TRUE(migrated.ok()) << migrated.ToString();
}

void DatabaseConformanceTest::TearDown() { db_.reset(); }

User DatabaseConformanceTest::MakeUser(const std::string& email) {
  Result<User> user = db().CreateUser(email, {"upload_symbols"});
  EXPECT_TRUE(user.ok()) << user.status().ToString();
  return user.ok() ? *user : User{};
}

Status DatabaseConformanceTest::RecordKeys(int64_t upload_id,
                                           const std::vector<std::string>& keys) {
  std::vector<FileUpload> files;
  for (const std::string& key : keys) {
    FileUpload f;
    f.bucket_name = "symbols";
    f.key = key;
    files.push_back(f);
  }
  return db().RecordStoredFiles(upload_id, files).status();
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr TimestampMicros kT0 = 1'700'000'000'000'000;

TEST_P(DatabaseConformanceTest, MigrateIsIdempotent) {
  Result<int> version = db().SchemaVersion();
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_GT(*version, 0);
  ASSERT_TRUE(db().Migrate().ok());
  EXPECT_EQ(*db().SchemaVersion(), *version);
  // Concurrent migrations of an up-to-date schema are harmless too.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (!db().Migrate().ok()) ++failures;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*db().SchemaVersion(), *version);
  EXPECT_TRUE(db().Ping().ok());
  EXPECT_FALSE(db().Name().empty());
}

TEST_P(DatabaseConformanceTest, Users) {
  Result<User> user = db().CreateUser("a@example.com", {"upload_symbols", "admin", "admin"});
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_GT(user->id, 0);
  EXPECT_TRUE(user->is_active);
  EXPECT_GT(user->created_at, 0);
  EXPECT_THAT(user->permissions, ElementsAre("admin", "upload_symbols"));

  Result<User> by_email = db().GetUserByEmail("a@example.com");
  ASSERT_TRUE(by_email.ok());
  EXPECT_EQ(by_email->id, user->id);
  EXPECT_THAT(by_email->permissions, ElementsAre("admin", "upload_symbols"));
  EXPECT_EQ(by_email->created_at, user->created_at);
  Result<User> by_id = db().GetUser(user->id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->email, "a@example.com");

  Result<User> duplicate = db().CreateUser("a@example.com", {});
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(duplicate.status().message(), HasSubstr("a@example.com"));
  EXPECT_EQ(db().GetUserByEmail("nobody@example.com").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db().GetUser(user->id + 1000).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(db().SetUserPermissions(user->id, {"view_all_uploads", "manage_tokens"}).ok());
  EXPECT_THAT(db().GetUser(user->id)->permissions,
              ElementsAre("manage_tokens", "view_all_uploads"));
  ASSERT_TRUE(db().SetUserActive(user->id, false).ok());
  EXPECT_FALSE(db().GetUser(user->id)->is_active);
  ASSERT_TRUE(db().SetUserActive(user->id, true).ok());
  EXPECT_TRUE(db().GetUser(user->id)->is_active);
  EXPECT_EQ(db().SetUserPermissions(user->id + 1000, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(db().SetUserActive(user->id + 1000, false).code(), StatusCode::kNotFound);
}

TEST_P(DatabaseConformanceTest, Tokens) {
  User user = MakeUser();
  Token token;
  token.user_id = user.id;
  token.key_hash = std::string(64, 'a');
  token.permissions = {"upload_symbols", "upload_try_symbols"};
  token.expires_at = kT0 + 1000;
  token.notes = "CI on linux";
  Result<Token> created = db().CreateToken(token);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->id, 0);
  EXPECT_GT(created->created_at, 0);

  Result<TokenWithUser> found = db().FindTokenByHash(std::string(64, 'a'));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->token.id, created->id);
  EXPECT_EQ(found->token.user_id, user.id);
  EXPECT_EQ(found->token.expires_at, kT0 + 1000);
  EXPECT_EQ(found->token.notes, "CI on linux");
  EXPECT_THAT(found->token.permissions, ElementsAre("upload_symbols", "upload_try_symbols"));
  EXPECT_EQ(found->user.id, user.id);
  EXPECT_EQ(found->user.email, user.email);
  EXPECT_TRUE(found->user.is_active);
  EXPECT_EQ(db().FindTokenByHash(std::string(64, 'b')).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db().FindTokenByHash(std::string(64, 'A')).status().code(), StatusCode::kNotFound);

  // The user's state is read with the token.
  ASSERT_TRUE(db().SetUserActive(user.id, false).ok());
  EXPECT_FALSE(db().FindTokenByHash(std::string(64, 'a'))->user.is_active);

  EXPECT_EQ(db().CreateToken(token).status().code(), StatusCode::kAlreadyExists);
  Token orphan = token;
  orphan.key_hash = std::string(64, 'c');
  orphan.user_id = user.id + 1000;
  EXPECT_EQ(db().CreateToken(orphan).status().code(), StatusCode::kNotFound);

  Token second = token;
  second.key_hash = std::string(64, 'd');
  second.notes = "";
  ASSERT_TRUE(db().CreateToken(second).ok());
  Result<std::vector<TokenWithUser>> listed = db().ListTokens();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].token.key_hash, std::string(64, 'a'));
  EXPECT_EQ((*listed)[1].token.key_hash, std::string(64, 'd'));
  EXPECT_EQ((*listed)[1].user.email, user.email);

  ASSERT_TRUE(db().DeleteToken(created->id).ok());
  EXPECT_EQ(db().FindTokenByHash(std::string(64, 'a')).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db().DeleteToken(created->id).code(), StatusCode::kNotFound);
  EXPECT_EQ(db().ListTokens()->size(), 1u);
}

Upload SampleUpload(int64_t user_id, TimestampMicros created_at) {
  Upload u;
  u.user_id = user_id;
  u.filename = "symbols.zip";
  u.size = 70398;
  u.bucket_name = "symbols";
  u.download_url = "https://example.com/symbols.zip";
  u.redirect_urls = {"https://a.example.com/1", "https://b.example.com/2"};
  u.try_symbols = true;
  u.content_hash = "abc123";
  u.created_at = created_at;
  return u;
}

TEST_P(DatabaseConformanceTest, UploadLifecycle) {
  User user = MakeUser("uploader@example.com");
  Result<int64_t> id = db().CreateUpload(SampleUpload(user.id, kT0));
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  Result<Upload> upload = db().GetUpload(*id);
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ(upload->user_id, user.id);
  EXPECT_EQ(upload->user_email, "uploader@example.com");
  EXPECT_EQ(upload->filename, "symbols.zip");
  EXPECT_EQ(upload->size, 70398u);
  EXPECT_EQ(upload->bucket_name, "symbols");
  EXPECT_EQ(upload->download_url, "https://example.com/symbols.zip");
  EXPECT_THAT(upload->redirect_urls,
              ElementsAre("https://a.example.com/1", "https://b.example.com/2"));
  EXPECT_TRUE(upload->try_symbols);
  EXPECT_EQ(upload->content_hash, "abc123");
  EXPECT_EQ(upload->created_at, kT0);
  EXPECT_FALSE(upload->completed_at.has_value());
  EXPECT_THAT(upload->stored_keys, IsEmpty());

  ASSERT_TRUE(RecordKeys(*id, {"try/a.pdb/ID/a.sym"}).ok());
  ASSERT_TRUE(RecordKeys(*id, {"try/b.pdb/ID/b.sym", "try/c.pdb/ID/c.sym"}).ok());
  upload = db().GetUpload(*id);
  EXPECT_THAT(upload->stored_keys,
              ElementsAre("try/a.pdb/ID/a.sym", "try/b.pdb/ID/b.sym", "try/c.pdb/ID/c.sym"));
  EXPECT_FALSE(upload->completed_at.has_value());

  ASSERT_TRUE(
      db().CompleteUpload(*id, {"try/d.pdb/ID/d.sym"}, {"x-symbols.txt", ".DS_Store"}, kT0 + 5)
          .ok());
  upload = db().GetUpload(*id);
  EXPECT_EQ(upload->completed_at, kT0 + 5);
  EXPECT_THAT(upload->skipped_keys, ElementsAre("try/d.pdb/ID/d.sym"));
  EXPECT_THAT(upload->ignored_keys, ElementsAre("x-symbols.txt", ".DS_Store"));
  EXPECT_EQ(upload->stored_keys.size(), 3u);

  EXPECT_EQ(db().GetUpload(*id + 1000).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RecordKeys(*id + 1000, {"k"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(db().CompleteUpload(*id + 1000, {}, {}, kT0).code(), StatusCode::kNotFound);
  Upload orphan = SampleUpload(user.id + 1000, kT0);
  EXPECT_EQ(db().CreateUpload(orphan).status().code(), StatusCode::kNotFound);

  // Defaults: no download URL, empty lists, created_at filled.
  Upload minimal;
  minimal.user_id = user.id;
  minimal.filename = "m.zip";
  minimal.bucket_name = "symbols";
  Result<int64_t> minimal_id = db().CreateUpload(minimal);
  ASSERT_TRUE(minimal_id.ok());
  Result<Upload> got = db().GetUpload(*minimal_id);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->download_url.has_value());
  EXPECT_THAT(got->redirect_urls, IsEmpty());
  EXPECT_FALSE(got->try_symbols);
  EXPECT_GT(got->created_at, 0);
}

TEST_P(DatabaseConformanceTest, ListUploadsNewestFirstWithPagination) {
  User user = MakeUser();
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*db().CreateUpload(SampleUpload(user.id, kT0 + i)));
  ASSERT_TRUE(RecordKeys(ids[4], {"k4"}).ok());
  Result<std::vector<Upload>> page = db().ListUploads(2, 0);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, ids[4]);
  EXPECT_EQ((*page)[1].id, ids[3]);
  EXPECT_THAT((*page)[0].stored_keys, ElementsAre("k4"));
  EXPECT_EQ((*page)[0].user_email, user.email);
  page = db().ListUploads(2, 4);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, ids[0]);
  EXPECT_THAT(*db().ListUploads(10, 5), IsEmpty());
  EXPECT_EQ(db().ListUploads(0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db().ListUploads(10001, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db().ListUploads(10, -1).status().code(), StatusCode::kInvalidArgument);
}

FileUpload SampleFile(std::optional<int64_t> upload_id, const std::string& key,
                      TimestampMicros created_at) {
  FileUpload f;
  f.upload_id = upload_id;
  f.bucket_name = "symbols";
  f.key = key;
  f.size = 1234;
  f.compressed = true;
  f.update = false;
  f.debug_filename = "xul.pdb";
  f.debug_id = "44E4EC8C2F41492B9369D6B9A059577C2";
  f.code_file = "xul.dll";
  f.code_id = "5D7F4C0A6D5000";
  f.generator = "mozilla/dump_syms 2.3.4";
  f.created_at = created_at;
  f.completed_at = created_at + 1;
  return f;
}

// RecordStoredFiles: every row (upload_id set from the call), the stored keys in order after
// earlier ones, ids ascending; an unknown upload records nothing; an empty list is fine.
TEST_P(DatabaseConformanceTest, RecordStoredFilesInOneTransaction) {
  User user = MakeUser();
  int64_t upload_id = *db().CreateUpload(SampleUpload(user.id, kT0));
  ASSERT_TRUE(RecordKeys(upload_id, {"first.pdb/ID/first.sym"}).ok());
  std::vector<FileUpload> files = {SampleFile(std::nullopt, "a.pdb/ID/a.sym", kT0 + 1),
                                   SampleFile(upload_id + 1000, "b.pdb/ID/b.sym", kT0 + 2),
                                   SampleFile(upload_id, "c.pdb/ID/c.sym", kT0 + 3)};
  Result<std::vector<int64_t>> ids = db().RecordStoredFiles(upload_id, files);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 3u);
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_LT((*ids)[1], (*ids)[2]);
  Result<std::vector<FileUpload>> listed = db().ListFileUploads(upload_id);
  ASSERT_TRUE(listed.ok());
  // The earlier file's row, then this call's.
  ASSERT_EQ(listed->size(), 4u);
  EXPECT_EQ(listed->front().key, "first.pdb/ID/first.sym");
  listed->erase(listed->begin());
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*listed)[i].id, (*ids)[i]);
    EXPECT_EQ((*listed)[i].upload_id, upload_id);
    EXPECT_EQ((*listed)[i].key, files[i].key);
    EXPECT_EQ((*listed)[i].created_at, files[i].created_at);
    EXPECT_EQ((*listed)[i].debug_id, files[i].debug_id);
  }
  EXPECT_THAT(
      db().GetUpload(upload_id)->stored_keys,
      ElementsAre("first.pdb/ID/first.sym", "a.pdb/ID/a.sym", "b.pdb/ID/b.sym", "c.pdb/ID/c.sym"));

  EXPECT_EQ(db().RecordStoredFiles(upload_id + 1000, files).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db().RecordStoredFiles(upload_id + 1000, {}).status().code(), StatusCode::kNotFound);
  Result<std::vector<int64_t>> none = db().RecordStoredFiles(upload_id, {});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(db().ListFileUploads(upload_id)->size(), 4u);
  EXPECT_EQ(db().GetUpload(upload_id)->stored_keys.size(), 4u);
}

TEST_P(DatabaseConformanceTest, FileUploadsAndSymbolLookups) {
  User user = MakeUser();
  int64_t upload_id = *db().CreateUpload(SampleUpload(user.id, kT0));
  Result<int64_t> first = db().AddFileUpload(SampleFile(upload_id, "xul.pdb/ID/xul.sym", kT0));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  FileUpload newer = SampleFile(std::nullopt, "xul.pdb/ID2/xul.sym", kT0 + 100);
  newer.update = true;
  Result<int64_t> second = db().AddFileUpload(newer);
  ASSERT_TRUE(second.ok());
  // Same created_at as `newer`: the later row (higher id) wins the tie.
  FileUpload tie = SampleFile(upload_id, "xul.pdb/ID3/xul.sym", kT0 + 100);
  Result<int64_t> third = db().AddFileUpload(tie);
  ASSERT_TRUE(third.ok());
  // An older row inserted last does not win.
  ASSERT_TRUE(db().AddFileUpload(SampleFile(upload_id, "xul.pdb/OLD/xul.sym", kT0 - 100)).ok());

  Result<std::vector<FileUpload>> files = db().ListFileUploads(upload_id);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 3u);
  const FileUpload& f = (*files)[0];
  EXPECT_EQ(f.id, *first);
  EXPECT_EQ(f.upload_id, upload_id);
  EXPECT_EQ(f.bucket_name, "symbols");
  EXPECT_EQ(f.key, "xul.pdb/ID/xul.sym");
  EXPECT_EQ(f.size, 1234u);
  EXPECT_TRUE(f.compressed);
  EXPECT_FALSE(f.update);
  EXPECT_EQ(f.debug_filename, "xul.pdb");
  EXPECT_EQ(f.debug_id, "44E4EC8C2F41492B9369D6B9A059577C2");
  EXPECT_EQ(f.code_file, "xul.dll");
  EXPECT_EQ(f.code_id, "5D7F4C0A6D5000");
  EXPECT_EQ(f.generator, "mozilla/dump_syms 2.3.4");
  EXPECT_EQ(f.created_at, kT0);
  EXPECT_EQ(f.completed_at, kT0 + 1);
  EXPECT_EQ((*files)[1].id, *third);

  Result<FileUpload> by_debug =
      db().FindSymbolByDebugId("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2");
  ASSERT_TRUE(by_debug.ok());
  EXPECT_EQ(by_debug->id, *third);
  Result<FileUpload> by_code = db().FindSymbolByCodeId("xul.dll", "5D7F4C0A6D5000");
  ASSERT_TRUE(by_code.ok());
  EXPECT_EQ(by_code->key, "xul.pdb/ID3/xul.sym");
  EXPECT_EQ(db().FindSymbolByDebugId("xul.pdb", "0000").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(db().FindSymbolByCodeId("other.dll", "5D7F4C0A6D5000").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(db().FindSymbolByCodeId("", "").status().code(), StatusCode::kNotFound);

  // Files without code info never match an empty lookup.
  FileUpload no_code = SampleFile(upload_id, "a.pdb/ID/a.sym", kT0);
  no_code.code_file = "";
  no_code.code_id = "";
  ASSERT_TRUE(db().AddFileUpload(no_code).ok());
  EXPECT_EQ(db().FindSymbolByCodeId("", "").status().code(), StatusCode::kNotFound);

  EXPECT_EQ(db().AddFileUpload(SampleFile(upload_id + 1000, "k", kT0)).status().code(),
            StatusCode::kNotFound);
  EXPECT_THAT(*db().ListFileUploads(upload_id + 1000), IsEmpty());
}

MissingSymbolHit Hit(const std::string& debug_file, const std::string& debug_id,
                     TimestampMicros seen_at, int64_t count = 1) {
  MissingSymbolHit hit;
  hit.debug_file = debug_file;
  hit.debug_id = debug_id;
  hit.filename = debug_file.substr(0, debug_file.find('.')) + ".sym";
  hit.count = count;
  hit.seen_at = seen_at;
  hit.hash = MissingSymbolHash(hit);
  return hit;
}

TEST_P(DatabaseConformanceTest, MissingSymbolsUpsertCountsAndTimes) {
  MissingSymbolHit a = Hit("a.pdb", "AAAA", kT0 + 10);
  MissingSymbolHit a_again = Hit("a.pdb", "AAAA", kT0 + 30, 4);
  MissingSymbolHit a_late = Hit("a.pdb", "AAAA", kT0 + 20);  // an older observation flushed later
  MissingSymbolHit b = Hit("b.pdb", "BBBB", kT0 + 15);
  b.code_file = "b.dll";
  b.code_id = "C0DE";
  b.hash = MissingSymbolHash(b);
  ASSERT_TRUE(db().RecordMissingSymbols({a, b, a_again}).ok());
  ASSERT_TRUE(db().RecordMissingSymbols({a_late}).ok());
  ASSERT_TRUE(db().RecordMissingSymbols({}).ok());

  MissingSymbolQuery query;
  query.order_by = "debug_file";
  Result<MissingSymbolPage> page = db().QueryMissingSymbols(query);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->total, 2);
  ASSERT_EQ(page->rows.size(), 2u);
  const MissingSymbol& ra = page->rows[0];
  EXPECT_EQ(ra.hash, a.hash);
  EXPECT_EQ(ra.debug_file, "a.pdb");
  EXPECT_EQ(ra.debug_id, "AAAA");
  EXPECT_EQ(ra.filename, "a.sym");
  EXPECT_EQ(ra.count, 6);
  EXPECT_EQ(ra.created_at, kT0 + 10);
  EXPECT_EQ(ra.modified_at, kT0 + 30);
  const MissingSymbol& rb = page->rows[1];
  EXPECT_EQ(rb.code_file, "b.dll");
  EXPECT_EQ(rb.code_id, "C0DE");
  EXPECT_EQ(rb.count, 1);

  // An empty hash is computed from the fields.
  MissingSymbolHit unhashed = Hit("a.pdb", "AAAA", kT0 + 40);
  unhashed.hash.clear();
  ASSERT_TRUE(db().RecordMissingSymbols({unhashed}).ok());
  query.debug_file = "a.pdb";
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.at(0).count, 7);

  MissingSymbolHit zero = Hit("z.pdb", "ZZ", kT0, 0);
  EXPECT_EQ(db().RecordMissingSymbols({zero}).code(), StatusCode::kInvalidArgument);
}

TEST_P(DatabaseConformanceTest, MissingSymbolCountsAreExactUnderConcurrency) {
  constexpr int kThreads = 8;
  constexpr int kCallsPerThread = 500;
  constexpr int kHashes = 20;
  std::vector<MissingSymbolHit> base;
  for (int h = 0; h < kHashes; ++h) base.push_back(Hit("m" + std::to_string(h) + ".pdb", "ID", 0));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        // Each call: hash (t + i) % kHashes with count 1, and hash (t * 7 + i) % kHashes with
        // count 2, seen at a time that identifies the call.
        MissingSymbolHit one = base[(t + i) % kHashes];
        one.count = 1;
        one.seen_at = kT0 + t * kCallsPerThread + i;
        MissingSymbolHit two = base[(t * 7 + i) % kHashes];
        two.count = 2;
        two.seen_at = one.seen_at;
        if (!db().RecordMissingSymbols({one, two}).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);

  std::map<std::string, int64_t> expected_count;
  std::map<std::string, TimestampMicros> expected_modified, expected_created;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCallsPerThread; ++i) {
      TimestampMicros seen = kT0 + t * kCallsPerThread + i;
      for (auto [h, count] : std::initializer_list<std::pair<int, int>>{
               {(t + i) % kHashes, 1}, {(t * 7 + i) % kHashes, 2}}) {
        const std::string& hash = base[h].hash;
        expected_count[hash] += count;
        expected_modified[hash] = std::max(expected_modified[hash], seen);
        if (!expected_created.count(hash) || seen < expected_created[hash]) {
          expected_created[hash] = seen;
        }
      }
    }
  }
  MissingSymbolQuery query;
  query.limit = 100;
  Result<MissingSymbolPage> page = db().QueryMissingSymbols(query);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->total, kHashes);
  int64_t total = 0;
  for (const MissingSymbol& row : page->rows) {
    EXPECT_EQ(row.count, expected_count[row.hash]) << row.debug_file;
    EXPECT_EQ(row.modified_at, expected_modified[row.hash]) << row.debug_file;
    EXPECT_EQ(row.created_at, expected_created[row.hash]) << row.debug_file;
    total += row.count;
  }
  EXPECT_EQ(total, int64_t{kThreads} * kCallsPerThread * 3);
}

TEST_P(DatabaseConformanceTest, MissingSymbolQueryFiltersSortsAndPages) {
  std::vector<MissingSymbolHit> hits;
  for (int i = 0; i < 12; ++i) {
    MissingSymbolHit hit = Hit("f" + std::to_string(i % 3) + ".pdb", "ID" + std::to_string(11 - i),
                               kT0 + i * 10, i + 1);
    hit.code_file = i % 2 == 0 ? "even.dll" : "odd.dll";
    hit.code_id = "CID" + std::to_string(i);
    hit.hash = MissingSymbolHash(hit);
    hits.push_back(hit);
  }
  ASSERT_TRUE(db().RecordMissingSymbols(hits).ok());

  MissingSymbolQuery query;  // default: -modified_at, limit 100
  Result<MissingSymbolPage> page = db().QueryMissingSymbols(query);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 12u);
  EXPECT_EQ(page->rows.front().modified_at, kT0 + 110);
  EXPECT_EQ(page->rows.back().modified_at, kT0);

  query.order_by = "count";
  query.limit = 5;
  query.offset = 5;
  page = db().QueryMissingSymbols(query);
  ASSERT_EQ(page->total, 12);
  ASSERT_EQ(page->rows.size(), 5u);
  EXPECT_EQ(page->rows[0].count, 6);
  EXPECT_EQ(page->rows[4].count, 10);
  query.offset = 10;
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.size(), 2u);
  query.offset = 50;
  page = db().QueryMissingSymbols(query);
  EXPECT_THAT(page->rows, IsEmpty());
  EXPECT_EQ(page->total, 12);

  query = MissingSymbolQuery{};
  query.order_by = "-debug_id";
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.front().debug_id, "ID9");
  query.order_by = "debug_id";
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.front().debug_id, "ID0");
  query.order_by = "-created_at";
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.front().created_at, kT0 + 110);
  query.order_by = "filename";
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.front().filename, "f0.sym");
  query.order_by = "-debug_file";
  EXPECT_EQ(db().QueryMissingSymbols(query)->rows.front().debug_file, "f2.pdb");

  query = MissingSymbolQuery{};
  query.debug_file = "f1.pdb";
  page = db().QueryMissingSymbols(query);
  EXPECT_EQ(page->total, 4);
  for (const MissingSymbol& row : page->rows) EXPECT_EQ(row.debug_file, "f1.pdb");
  query.code_file = "odd.dll";  // f1 rows are i = 1, 4, 7, 10: odd ones are 1 and 7
  EXPECT_EQ(db().QueryMissingSymbols(query)->total, 2);
  query = MissingSymbolQuery{};
  query.modified_since = kT0 + 90;
  EXPECT_EQ(db().QueryMissingSymbols(query)->total, 3);
  query.debug_id = "ID1";
  page = db().QueryMissingSymbols(query);
  ASSERT_EQ(page->total, 1);
  EXPECT_EQ(page->rows[0].code_id, "CID10");
  query = MissingSymbolQuery{};
  query.filename = "f2.sym";
  query.code_id = "CID5";
  EXPECT_EQ(db().QueryMissingSymbols(query)->total, 1);
}

TEST_P(DatabaseConformanceTest, MissingSymbolQueryRejectsBadSortAndLimits) {
  ASSERT_TRUE(db().RecordMissingSymbols({Hit("a.pdb", "AA", kT0)}).ok());
  for (const char* bad : {"modified_at; DROP TABLE missing_symbols", "-count, id", "hash",
                          "count DESC", "(SELECT 1)", "--modified_at", "", "id"}) {
    MissingSymbolQuery query;
    query.order_by = bad;
    Result<MissingSymbolPage> page = db().QueryMissingSymbols(query);
    EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  MissingSymbolQuery query;
  query.limit = 0;
  EXPECT_EQ(db().QueryMissingSymbols(query).status().code(), StatusCode::kInvalidArgument);
  query.limit = 10001;
  EXPECT_EQ(db().QueryMissingSymbols(query).status().code(), StatusCode::kInvalidArgument);
  query.limit = 10;
  query.offset = -1;
  EXPECT_EQ(db().QueryMissingSymbols(query).status().code(), StatusCode::kInvalidArgument);
  // Filters are values, not SQL.
  query = MissingSymbolQuery{};
  query.debug_file = "a.pdb' OR '1'='1";
  EXPECT_EQ(db().QueryMissingSymbols(query)->total, 0);
  // The table survived every attempt.
  EXPECT_EQ(db().QueryMissingSymbols(MissingSymbolQuery{})->total, 1);
}

}  // namespace
}  // namespace sigil::db::testing
