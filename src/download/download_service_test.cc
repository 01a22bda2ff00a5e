#include "download/download_service.h"

#include <gtest/gtest.h>

#include <future>

#include "cache/memory/memory_cache.h"
#include "common/invalidation_bus.h"
#include "common/symbol_key.h"
#include "common/worker_pool.h"
#include "download/download_test_fakes.h"
#include "download/object_body.h"

namespace sigil::download {
namespace {

using Kind = DownloadResult::Kind;
const char* kId = "44E4EC8C2F41492B9369D6B9A059577C2";

class DownloadServiceTest : public ::testing::Test {
 protected:
  DownloadServiceTest() : cache_(cache::memory::MakeMemoryCache(8 << 20)), pool_(2, 64) {
    config_.missing_flush_ms = 60000;
    service_ = std::make_unique<DownloadService>(config_, store_, db_, *cache_, bus_, pool_);
  }

  DownloadResult Get(DownloadRequest req) {
    std::promise<DownloadResult> p;
    service_->Download(std::move(req), [&](DownloadResult r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  static DownloadRequest Req(std::string df, std::string id, std::string file) {
    DownloadRequest r;
    r.debug_file = std::move(df);
    r.debug_id = std::move(id);
    r.filename = std::move(file);
    return r;
  }
  void PutSym(const std::string& key) {
    ASSERT_TRUE(store_
                    .Put(key, "gz",
                         {.content_type = "text/plain",
                          .content_encoding = "gzip",
                          .metadata = {{"original_size", "1234"}}})
                    .ok());
  }

  DownloadConfig config_;
  testing::FakeStore store_;
  testing::FakeDb db_;
  std::unique_ptr<cache::Cache> cache_;
  LocalInvalidationBus bus_;
  WorkerPool pool_;
  std::unique_ptr<DownloadService> service_;
};

TEST_F(DownloadServiceTest, HitIsMemoizedAndThenAnsweredInline) {
  PutSym(std::string("xul.pdb/") + kId + "/xul.sym");
  auto first = Get(Req("xul.pdb", kId, "xul.sym"));
  ASSERT_EQ(first.kind, Kind::kFound);
  EXPECT_FALSE(first.from_memo);
  EXPECT_EQ(first.storage_key, std::string("xul.pdb/") + kId + "/xul.sym");
  EXPECT_EQ(first.meta.original_size, 1234u);
  EXPECT_TRUE(first.meta.gzip());
  auto second = Get(Req("xul.pdb", kId, "xul.sym"));
  EXPECT_EQ(second.kind, Kind::kFound);
  EXPECT_TRUE(second.from_memo) << "a memo hit needs no worker hop";
  EXPECT_EQ(store_.heads.load(), 1);
}

TEST_F(DownloadServiceTest, DebugIdIsCaseInsensitive) {
  PutSym(std::string("xul.pdb/") + kId + "/xul.sym");
  std::string lower = kId;
  for (char& c : lower) c = static_cast<char>(std::tolower(c));
  EXPECT_EQ(Get(Req("xul.pdb", lower, "xul.sym")).kind, Kind::kFound);
}

TEST_F(DownloadServiceTest, IgnoredAndInvalidNeverTouchStorage) {
  EXPECT_EQ(Get(Req("xul.pdb", kId, "file.ptr")).kind, Kind::kIgnored);
  EXPECT_EQ(Get(Req("xul.pdb", "000000000000000000000000000000000", "xul.sym")).kind,
            Kind::kIgnored);
  EXPECT_EQ(Get(Req("xul.pdb", kId, "xul.exe")).kind, Kind::kIgnored);
  auto bad = Get(Req("xul.pdb", "NOTHEX", "xul.sym"));
  EXPECT_EQ(bad.kind, Kind::kInvalid);
  EXPECT_FALSE(bad.message.empty());
  EXPECT_EQ(store_.heads.load(), 0);
  EXPECT_EQ(service_->missing_symbols().pending_count(), 0u) << "ignored requests are not recorded";
}

TEST_F(DownloadServiceTest, MissIsMemoizedRecordedAndInvalidatedByUpload) {
  auto miss = Get(Req("a.pdb", kId, "a.sym"));
  EXPECT_EQ(miss.kind, Kind::kNotFound);
  auto again = Get(Req("a.pdb", kId, "a.sym"));
  EXPECT_EQ(again.kind, Kind::kNotFound);
  EXPECT_TRUE(again.from_memo);
  EXPECT_EQ(store_.heads.load(), 1);
  EXPECT_EQ(service_->missing_symbols().pending_count(), 2u) << "every GET miss counts";
  // The upload lands and publishes the key: the next request sees it at once.
  PutSym(std::string("a.pdb/") + kId + "/a.sym");
  bus_.Publish(*SymbolKey::Parse("a.pdb", kId, "a.sym"));
  EXPECT_EQ(Get(Req("a.pdb", kId, "a.sym")).kind, Kind::kFound);
}

TEST_F(DownloadServiceTest, HeadMissIsNotRecorded) {
  auto req = Req("a.pdb", kId, "a.sym");
  req.head = true;
  EXPECT_EQ(Get(req).kind, Kind::kNotFound);
  EXPECT_EQ(service_->missing_symbols().pending_count(), 0u);
}

TEST_F(DownloadServiceTest, MissRecordsQueryCodeFileAndId) {
  auto req = Req("a.pdb", kId, "a.sym");
  req.code_file = "a.dll";
  req.code_id = "5CF2591C6859000";
  (void)Get(req);
  ASSERT_TRUE(service_->missing_symbols().Flush().ok());
  ASSERT_EQ(db_.missing.size(), 1u);
  const auto& row = db_.missing.begin()->second;
  EXPECT_EQ(row.debug_file, "a.pdb");
  EXPECT_EQ(row.debug_id, kId);
  EXPECT_EQ(row.filename, "a.sym");
  EXPECT_EQ(row.code_file, "a.dll");
  EXPECT_EQ(row.code_id, "5CF2591C6859000");
}

TEST_F(DownloadServiceTest, RefreshBypassesTheMemo) {
  (void)Get(Req("a.pdb", kId, "a.sym"));
  PutSym(std::string("a.pdb/") + kId + "/a.sym");  // stored without an invalidation event
  EXPECT_EQ(Get(Req("a.pdb", kId, "a.sym")).kind, Kind::kNotFound) << "stale memo";
  auto req = Req("a.pdb", kId, "a.sym");
  req.refresh = true;
  EXPECT_EQ(Get(req).kind, Kind::kFound);
  EXPECT_EQ(Get(Req("a.pdb", kId, "a.sym")).kind, Kind::kFound) << "the refreshed answer is stored";
}

TEST_F(DownloadServiceTest, TrySearchesRegularThenTry) {
  PutSym(std::string("try/t.pdb/") + kId + "/t.sym");
  EXPECT_EQ(Get(Req("t.pdb", kId, "t.sym")).kind, Kind::kNotFound)
      << "regular requests never see try";
  auto req = Req("t.pdb", kId, "t.sym");
  req.is_try = true;
  auto r = Get(req);
  ASSERT_EQ(r.kind, Kind::kFound);
  EXPECT_EQ(r.storage_key, std::string("try/t.pdb/") + kId + "/t.sym");
  PutSym(std::string("t.pdb/") + kId + "/t.sym");
  bus_.Publish(*SymbolKey::Parse("t.pdb", kId, "t.sym"));
  EXPECT_EQ(Get(req).storage_key, std::string("t.pdb/") + kId + "/t.sym")
      << "regular storage first";
}

TEST_F(DownloadServiceTest, PublicUrlAndLocalFiles) {
  store_.public_base = "https://cdn.example/";
  PutSym(std::string("xul.pdb/") + kId + "/xul.sym");
  auto r = Get(Req("xul.pdb", kId, "xul.sym"));
  EXPECT_EQ(r.location, std::string("https://cdn.example/xul.pdb/") + kId + "/xul.sym");
  EXPECT_FALSE(r.local_file);
  EXPECT_EQ(service_->OpenLocal(r.storage_key).status().code(), StatusCode::kInvalidArgument);

  store_.local_files = true;
  r = Get(Req("xul.pdb", kId, "xul.sym"));
  EXPECT_TRUE(r.local_file);
  auto fd = service_->OpenLocal(r.storage_key);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  char buf[64];
  ssize_t n = ::pread((*fd)->get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0),
            store_.objects.begin()->second.data);
}

TEST_F(DownloadServiceTest, CodeIdRedirectKeepsQueryAndIsMemoized) {
  db::FileUpload f;
  f.key = std::string("xul.pdb/") + kId + "/xul.sym";
  f.debug_filename = "xul.pdb";
  f.debug_id = kId;
  f.code_file = "xul.dll";
  f.code_id = "5CF2591C6859000";
  ASSERT_TRUE(db_.AddFileUpload(f).ok());
  auto req = Req("xul.dll", "5cf2591c6859000", "xul.sym");
  req.query = "code_file=xul.dll&x=1";
  auto r = Get(req);
  ASSERT_EQ(r.kind, Kind::kRedirect);
  EXPECT_EQ(r.location, std::string("/xul.pdb/") + kId + "/xul.sym?code_file=xul.dll&x=1");
  int lookups = db_.symbol_lookups.load();
  auto again = Get(req);
  EXPECT_EQ(again.kind, Kind::kRedirect);
  EXPECT_TRUE(again.from_memo);
  EXPECT_EQ(db_.symbol_lookups.load(), lookups);
  EXPECT_EQ(service_->missing_symbols().pending_count(), 0u) << "a redirect is not a miss";
  // Long (33-char) debug ids never take the code-id path.
  EXPECT_EQ(Get(Req("xul.dll", kId, "xul.sym")).kind, Kind::kNotFound);
}

TEST_F(DownloadServiceTest, CodeIdMissIsCachedUntilAnUploadLands) {
  auto req = Req("foo.dll", "5CF2591C6859000", "foo.sym");
  EXPECT_EQ(Get(req).kind, Kind::kNotFound);
  int lookups = db_.symbol_lookups.load();
  EXPECT_EQ(Get(req).kind, Kind::kNotFound);
  EXPECT_EQ(db_.symbol_lookups.load(), lookups) << "the code-id miss is memoized";
  db::FileUpload f;
  f.key = std::string("foo.pdb/") + kId + "/foo.sym";
  f.debug_filename = "foo.pdb";
  f.debug_id = kId;
  f.code_file = "foo.dll";
  f.code_id = "5CF2591C6859000";
  ASSERT_TRUE(db_.AddFileUpload(f).ok());
  bus_.Publish(*SymbolKey::Parse("foo.pdb", kId, "foo.sym"));
  EXPECT_EQ(Get(req).kind, Kind::kRedirect);
}

TEST_F(DownloadServiceTest, StorageErrorIsReportedNotCached) {
  store_.fail_head = true;
  auto r = Get(Req("a.pdb", kId, "a.sym"));
  EXPECT_EQ(r.kind, Kind::kError);
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(service_->missing_symbols().pending_count(), 0u);
  store_.fail_head = false;
  PutSym(std::string("a.pdb/") + kId + "/a.sym");
  EXPECT_EQ(Get(Req("a.pdb", kId, "a.sym")).kind, Kind::kFound);
}

TEST_F(DownloadServiceTest, LookupSymbolAndReports) {
  db::FileUpload f;
  f.key = std::string("xul.pdb/") + kId + "/xul.sym";
  f.debug_filename = "xul.pdb";
  f.debug_id = kId;
  f.code_file = "xul.dll";
  f.code_id = "5CF2591C6859000";
  f.generator = "mozilla/dump_syms 2.0";
  ASSERT_TRUE(db_.AddFileUpload(f).ok());
  auto by_code = service_->LookupSymbol("xul.dll", "5CF2591C6859000", false);
  ASSERT_TRUE(by_code.ok());
  EXPECT_EQ(by_code->generator, "mozilla/dump_syms 2.0");
  EXPECT_TRUE(service_->LookupSymbol("xul.pdb", kId, false).ok());
  EXPECT_EQ(service_->LookupSymbol("nope.pdb", kId, false).status().code(), StatusCode::kNotFound);

  auto req = Req("a,b.pdb", kId, "a.sym");
  req.code_file = "quote\"d";
  (void)Get(req);
  auto csv = service_->MissingSymbolsCsv(0);
  ASSERT_TRUE(csv.ok());
  EXPECT_EQ(*csv, std::string("debug_file,debug_id,code_file,code_id\r\n\"a,b.pdb\",") + kId +
                      ",\"quote\"\"d\",\r\n");
  auto page = service_->QueryMissingSymbols({});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1);
}

TEST_F(DownloadServiceTest, OpenBodyStreamsDecodedBytes) {
  ASSERT_TRUE(store_.Put("k", "raw bytes", {}).ok());
  auto body = service_->OpenBody("k", false, 4, 5);
  char buf[16];
  auto n = body->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "bytes");
}

}  // namespace
}  // namespace sigil::download
