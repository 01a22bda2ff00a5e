// Internal: the SqliteDatabase class, shared by the .cc files that implement its parts
// (sqlite_database.cc: core, users, tokens; sqlite_uploads.cc; sqlite_missing_symbols.cc).
// Include sqlite_database.h instead.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/sqlite/sqlite_connection.h"
#include "db/sqlite/sqlite_database.h"

namespace sigil::db::sqlite {

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(std::string path, SqliteOptions options, std::unique_ptr<Connection> writer,
                 bool in_memory);

  std::string Name() const override { return "sqlite"; }
  Status Migrate() override;
  Result<int> SchemaVersion() override;
  Status Ping() override;

  Result<User> CreateUser(const std::string& email,
                          const std::vector<std::string>& permissions) override;
  Result<User> GetUserByEmail(const std::string& email) override;
  Result<User> GetUser(int64_t id) override;
  Status SetUserPermissions(int64_t user_id, const std::vector<std::string>& permissions) override;
  Status SetUserActive(int64_t user_id, bool active) override;

  Result<Token> CreateToken(const Token& token) override;
  Result<TokenWithUser> FindTokenByHash(const std::string& key_hash) override;
  Result<std::vector<TokenWithUser>> ListTokens() override;
  Status DeleteToken(int64_t token_id) override;

  Result<int64_t> CreateUpload(const Upload& upload) override;
  Status CompleteUpload(int64_t upload_id, const std::vector<std::string>& skipped_keys,
                        const std::vector<std::string>& ignored_keys,
                        TimestampMicros completed_at) override;
  Result<Upload> GetUpload(int64_t id) override;
  Result<std::vector<Upload>> ListUploads(int64_t limit, int64_t offset) override;

  Result<int64_t> AddFileUpload(const FileUpload& file) override;
  Result<std::vector<int64_t>> RecordStoredFiles(int64_t upload_id,
                                                 const std::vector<FileUpload>& files) override;
  Result<std::vector<FileUpload>> ListFileUploads(int64_t upload_id) override;
  Result<FileUpload> FindSymbolByDebugId(const std::string& debug_filename,
                                         const std::string& debug_id) override;
  Result<FileUpload> FindSymbolByCodeId(const std::string& code_file,
                                        const std::string& code_id) override;

  Status RecordMissingSymbols(const std::vector<MissingSymbolHit>& hits) override;
  Result<MissingSymbolPage> QueryMissingSymbols(const MissingSymbolQuery& query) override;

 private:
  using Body = std::function<Status(Connection&)>;
  // Runs `body` in one BEGIN IMMEDIATE transaction on the writer connection.
  Status Write(const Body& body);
  // Runs `body` on a reader connection; with `snapshot`, inside one read transaction so several
  // statements see the same state.
  Status Read(const Body& body, bool snapshot = false);

  Result<std::unique_ptr<Connection>> AcquireReader();
  void ReleaseReader(std::unique_ptr<Connection> conn);

  // Shared by the two FindSymbolBy* lookups.
  Result<FileUpload> FindLatestFileUpload(const char* sql, const std::string& a,
                                          const std::string& b, const std::string& what);

  const std::string path_;
  const SqliteOptions options_;
  const bool in_memory_;  // one connection serves reads and writes

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  int open_readers_ = 0;
};

// JSON text <-> list of strings (permissions, redirect URLs).
std::string ToJsonList(const std::vector<std::string>& items);
Result<std::vector<std::string>> FromJsonList(std::string_view text, std::string_view what);
// Sorted, duplicates removed.
std::vector<std::string> SortedUnique(std::vector<std::string> items);

}  // namespace sigil::db::sqlite
