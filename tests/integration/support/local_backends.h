// What the HTTP integration tests of upload and download run on, in a test::TempDir:
// a filesystem ObjectStore (<dir>/symbols), a migrated SQLite database (<dir>/sigil.db) with one
// user "uploader@example.com" (upload_symbols, upload_try_symbols) and an empty <dir>/tmp for
// spooled bodies; plus a test Auth-Token hook for that user. Header-only: link sigil_storage_fs,
// sigil_db_sqlite and sigil_test_support.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "db/database.h"
#include "db/sqlite/sqlite_database.h"
#include "http/message.h"
#include "http/route.h"
#include "storage/fs/fs_object_store.h"
#include "storage/object_store.h"
#include "support/temp_dir.h"

namespace sigil::test {

inline constexpr char kUploaderEmail[] = "uploader@example.com";

// Opens the backends in `dir` (see above). Uses gtest assertions: call it with
// ASSERT_NO_FATAL_FAILURE.
inline void OpenLocalBackends(const TempDir& dir, std::unique_ptr<storage::ObjectStore>& store,
                              std::unique_ptr<db::Database>& db, int64_t& user_id) {
  auto opened_store = storage::fs::MakeFsObjectStore(dir.Join("symbols"));
  ASSERT_TRUE(opened_store.ok()) << opened_store.status().ToString();
  store = std::move(opened_store).value();
  auto opened_db = db::sqlite::OpenSqliteDatabase(dir.Join("sigil.db"));
  ASSERT_TRUE(opened_db.ok()) << opened_db.status().ToString();
  db = std::move(opened_db).value();
  ASSERT_TRUE(db->Migrate().ok());
  auto user = db->CreateUser(kUploaderEmail, {"upload_symbols", "upload_try_symbols"});
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  user_id = user->id;
  dir.WriteFile("tmp/.keep", "");
}

// Auth-Token "upload" → upload_symbols, "try" → upload_try_symbols, "none" → no permission, as
// `user_id`; a missing or other token → 403 with the API's messages.
inline http::PreBodyHook UploaderAuthHook(int64_t user_id) {
  return [user_id](http::Request& request) -> std::optional<http::Response> {
    auto token = request.Header("Auth-Token");
    if (!token) {
      return http::Response::Error(403, "This requires an Auth-Token to authenticate the request");
    }
    http::Principal p;
    p.user_id = user_id;
    p.email = kUploaderEmail;
    if (*token == "upload") {
      p.permissions = {"upload_symbols"};
    } else if (*token == "try") {
      p.permissions = {"upload_try_symbols"};
    } else if (*token == "none") {
      p.permissions = {};
    } else {
      return http::Response::Error(403, "API Token not matched");
    }
    request.principal = p;
    return std::nullopt;
  };
}

}  // namespace sigil::test
