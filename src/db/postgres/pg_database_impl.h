// Internal: the PostgresDatabase class, shared by the .cc files that implement its parts
// (pg_database.cc: core, users, tokens; pg_uploads.cc; pg_missing_symbols.cc).
// Include postgres_database.h instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "db/database.h"
#include "db/postgres/pg_pool.h"
#include "db/postgres/postgres_database.h"

namespace sigil::db::postgres {

class PostgresDatabase : public Database {
 public:
  PostgresDatabase(std::string url, PgPoolOptions options) : pool_(std::move(url), options) {}

  PgPool& pool() { return pool_; }

  std::string Name() const override { return "postgresql"; }
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
  // Read-only work on one connection (retried on a fresh connection if a pooled one was stale).
  Status Read(const PgPool::Body& body) { return pool_.Run(body, PgPool::Retry::kIdempotent); }
  // Several writes in one transaction.
  Status Write(const PgPool::Body& body) { return pool_.Transaction(body); }
  // One write statement: atomic by itself, one round trip instead of BEGIN / statement / COMMIT.
  Status WriteOne(const PgPool::Body& body) { return pool_.Run(body, PgPool::Retry::kNever); }

  Result<FileUpload> FindLatestFileUpload(const char* where, const std::string& a,
                                          const std::string& b, const std::string& what);

  PgPool pool_;
};

// Sorted, duplicates removed.
std::vector<std::string> SortedUnique(std::vector<std::string> items);

}  // namespace sigil::db::postgres
