// Shared fixture of the upload integration tests: a TestServer serving RegisterUploadRoutes over a
// real filesystem ObjectStore and a migrated SQLite database in a private temp dir, with a test
// auth hook (Auth-Token "upload" → upload_symbols, "try" → upload_try_symbols, "none" → no upload
// permission).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/upload_handlers.h"
#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "db/database.h"
#include "db/sqlite/sqlite_database.h"
#include "storage/fs/fs_object_store.h"
#include "storage/object_store.h"
#include "support/http_client.h"
#include "support/temp_dir.h"
#include "support/test_server.h"
#include "upload/testing/zip_builder.h"
#include "upload/upload_service.h"

namespace sigil::upload {

inline const std::string kUploadsDir = std::string(SIGIL_SHARED_DIR) + "/testdata/uploads/";

class UploadIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.allow_http_urls = true;
    config_.allowed_url_hosts = {"127.0.0.1"};
    config_.url_retries = 2;
    config_.url_timeout_ms = 10000;
    auto store = storage::fs::MakeFsObjectStore(dir_.Join("symbols"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto db = db::sqlite::OpenSqliteDatabase(dir_.Join("sigil.db"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->Migrate().ok());
    auto user = db_->CreateUser("uploader@example.com", {"upload_symbols", "upload_try_symbols"});
    ASSERT_TRUE(user.ok()) << user.status().ToString();
    user_id_ = user->id;
    tmp_ = dir_.Join("tmp");
    dir_.WriteFile("tmp/.keep", "");
    service_ = std::make_unique<UploadService>(config_, *store_, *db_, pool_, bus_, tmp_);
    bus_.Subscribe([this](const SymbolKey& key) {
      std::lock_guard lock(mu_);
      published_.push_back(key.StorageKey());
    });
    http::RouteTable routes;
    api::RegisterUploadRoutes(routes, *service_, AuthHook(), 2ull << 30);
    server_ = std::make_unique<test::TestServer>(std::move(routes));
  }

  http::PreBodyHook AuthHook() {
    return [this](http::Request& request) -> std::optional<http::Response> {
      auto token = request.Header("Auth-Token");
      if (!token) {
        return http::Response::Error(403,
                                     "This requires an Auth-Token to authenticate the request");
      }
      http::Principal p;
      p.user_id = user_id_;
      p.email = "uploader@example.com";
      if (*token == "upload")
        p.permissions = {"upload_symbols"};
      else if (*token == "try")
        p.permissions = {"upload_try_symbols"};
      else if (*token == "none")
        p.permissions = {};
      else
        return http::Response::Error(403, "API Token not matched");
      request.principal = p;
      return std::nullopt;
    };
  }

  test::HttpResponse PostZip(const std::string& field, const std::string& path,
                             const std::string& token = "upload") {
    test::HttpClient client(server_->base_url());
    return client.PostMultipart("/upload/", {{.name = field, .file_path = path}},
                                {{"Auth-Token", token}});
  }

  test::HttpResponse PostZipData(const std::string& field, const std::string& data,
                                 const std::string& token = "upload") {
    test::HttpClient client(server_->base_url());
    return client.PostMultipart("/upload/", {{.name = field, .data = data, .filename = field}},
                                {{"Auth-Token", token}});
  }

  static std::string ErrorJson(const std::string& message) {
    return "{\"error\": " + http::JsonQuote(message) + "}";
  }

  // Every key in storage.
  std::vector<std::string> StoredKeys() {
    auto list = store_->List("");
    EXPECT_TRUE(list.ok());
    std::vector<std::string> keys;
    if (list.ok()) {
      for (const auto& e : *list) keys.push_back(e.key);
    }
    return keys;
  }

  std::string ReadObject(const std::string& key) {
    auto reader = store_->Get(key);
    EXPECT_TRUE(reader.ok()) << key;
    if (!reader.ok()) return "";
    std::string out;
    char buf[65536];
    for (;;) {
      auto n = (*reader)->Read(buf, sizeof buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      out.append(buf, *n);
    }
    return out;
  }

  size_t UploadRows() {
    auto rows = db_->ListUploads(1000, 0);
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? rows->size() : 0;
  }

  test::TempDir dir_{"sigil-upload-it"};
  UploadConfig config_;
  std::unique_ptr<storage::ObjectStore> store_;
  std::unique_ptr<db::Database> db_;
  int64_t user_id_ = 0;
  std::string tmp_;
  WorkerPool pool_{4, 256, "upload-it"};
  LocalInvalidationBus bus_;
  std::mutex mu_;
  std::vector<std::string> published_;
  std::unique_ptr<UploadService> service_;
  std::unique_ptr<test::TestServer> server_;
};

}  // namespace sigil::upload
