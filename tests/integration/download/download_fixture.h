// Fixture of the download integration tests: one TestServer serving the download, syminfo,
// missing-symbols and upload routes over a real filesystem ObjectStore, a migrated SQLite database,
// the in-process memory cache and a LocalInvalidationBus, all in a private temp dir. Symbol files
// are put into storage through POST /upload/ (the real upload pipeline: gzip + metadata + bus
// events).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "api/download_handlers.h"
#include "api/missing_symbols_handlers.h"
#include "api/upload_handlers.h"
#include "cache/memory/memory_cache.h"
#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "download/download_service.h"
#include "integration/support/local_backends.h"
#include "support/http_client.h"
#include "support/temp_dir.h"
#include "support/test_server.h"
#include "upload/testing/zip_builder.h"
#include "upload/upload_service.h"

namespace sigil::download {

class DownloadIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(test::OpenLocalBackends(dir_, store_, db_, user_id_));
    cache_ = cache::memory::MakeMemoryCache(64 << 20);
    upload_ = std::make_unique<upload::UploadService>(upload_config_, *store_, *db_, pool_, bus_,
                                                      dir_.Join("tmp"));
    download_ =
        std::make_unique<DownloadService>(download_config_, *store_, *db_, *cache_, bus_, pool_);
    http::RouteTable routes;
    api::RegisterUploadRoutes(routes, *upload_, AuthHook(), 1ull << 30);
    api::RegisterDownloadRoutes(routes, *download_);
    api::RegisterMissingSymbolsRoutes(routes, *download_);
    test::TestServer::Options options;
    options.server.io_threads = 2;
    server_ = std::make_unique<test::TestServer>(std::move(routes), options);
  }

  void TearDown() override {
    server_.reset();  // no request may outlive the services
  }

  http::PreBodyHook AuthHook() { return test::UploaderAuthHook(user_id_); }

  // Uploads the files (key → contents) in one zip through POST /upload/.
  void Upload(const std::vector<std::pair<std::string, std::string>>& files,
              const std::string& token = "upload") {
    std::vector<upload::testing::ZipEntry> entries;
    for (const auto& [key, data] : files) entries.push_back({.name = key, .data = data});
    auto zip = upload::testing::MakeZip(entries);
    ASSERT_TRUE(zip.ok()) << zip.status().ToString();
    test::HttpClient client(server_->base_url());
    auto r = client.PostMultipart(
        "/upload/", {{.name = "symbols.zip", .data = *zip, .filename = "symbols.zip"}},
        {{"Auth-Token", token}});
    ASSERT_EQ(r.status, 201) << r.body;
  }

  // A small but real-looking Breakpad file for `key` ("<debug_file>/<debug_id>/<file>").
  static std::string SymFor(const std::string& debug_file, const std::string& debug_id,
                            const std::string& code_id = "", const std::string& code_file = "") {
    std::string s = "MODULE windows x86_64 " + debug_id + " " + debug_file + "\n";
    if (!code_id.empty())
      s += "INFO CODE_ID " + code_id + (code_file.empty() ? "" : " " + code_file) + "\n";
    s += "INFO GENERATOR sigil-test 1.0\nFILE 0 c:\\src\\main.cc\n";
    for (int i = 0; i < 400; ++i) {
      char line[128];
      std::snprintf(line, sizeof line,
                    "FUNC %x 20 0 function_number_%d(int, char const*)\n%x 20 %d 0\n",
                    0x1000 + i * 0x20, i, 0x1000 + i * 0x20, 10 + i);
      s += line;
    }
    return s;
  }

  test::TempDir dir_{"sigil-download-it"};
  std::unique_ptr<storage::ObjectStore> store_;
  std::unique_ptr<db::Database> db_;
  int64_t user_id_ = 0;
  std::unique_ptr<cache::Cache> cache_;
  LocalInvalidationBus bus_;
  WorkerPool pool_{4, 256, "it-pool"};
  UploadConfig upload_config_;
  DownloadConfig download_config_;
  std::unique_ptr<upload::UploadService> upload_;
  std::unique_ptr<DownloadService> download_;
  std::unique_ptr<test::TestServer> server_;
};

}  // namespace sigil::download
