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
#include "integration/support/local_backends.h"
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
    ASSERT_NO_FATAL_FAILURE(test::OpenLocalBackends(dir_, store_, db_, user_id_));
    tmp_ = dir_.Join("tmp");
    service_ = std::make_unique<UploadService>(config_, *store_, *db_, pool_, bus_, tmp_);
    bus_.Subscribe([this](const SymbolKey& key) {
      std::lock_guard lock(mu_);
      published_.push_back(key.StorageKey());
    });
    http::RouteTable routes;
    api::RegisterUploadRoutes(routes, *service_, AuthHook(), 2ull << 30);
    server_ = std::make_unique<test::TestServer>(std::move(routes));
  }

  http::PreBodyHook AuthHook() { return test::UploaderAuthHook(user_id_); }

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
