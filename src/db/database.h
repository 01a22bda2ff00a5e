// Database: sigil's relational state (users, tokens, uploads, file_uploads, missing_symbols).
// Backends: SQLite (db/sqlite, embedded default) and PostgreSQL (db/postgres). Only server/ names a
// concrete backend. Schema and migrations: docs/database.md.
//
// All methods are thread-safe and blocking (call them from the worker pool). Methods that write
// several rows do it in one transaction. Timestamps are microseconds since the epoch, UTC.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sigil::db {

struct User {
  int64_t id = 0;
  std::string email;
  bool is_active = true;
  std::vector<std::string> permissions;  // sorted, unique
  TimestampMicros created_at = 0;
};

struct Token {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string key_hash;                  // hex SHA-256 of the key (the key itself is never stored)
  std::vector<std::string> permissions;  // subset of the user's
  TimestampMicros expires_at = 0;
  std::string notes;
  TimestampMicros created_at = 0;
};

struct TokenWithUser {
  Token token;
  User user;
};

struct Upload {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string user_email;  // filled on reads
  std::string filename;
  uint64_t size = 0;
  std::string bucket_name;
  std::optional<std::string> download_url;
  std::vector<std::string> redirect_urls;
  bool try_symbols = false;
  std::string content_hash;  // hash of the sorted member list (name, size, crc)
  std::vector<std::string> skipped_keys;
  std::vector<std::string> ignored_keys;
  std::vector<std::string> stored_keys;  // what was stored so far (a failed upload keeps this)
  TimestampMicros created_at = 0;
  std::optional<TimestampMicros> completed_at;
};

struct FileUpload {
  int64_t id = 0;
  std::optional<int64_t> upload_id;
  std::string bucket_name;
  std::string key;    // storage key
  uint64_t size = 0;  // stored size
  bool compressed = false;
  bool update = false;  // replaced an existing object
  std::string debug_filename;
  std::string debug_id;
  std::string code_file;
  std::string code_id;
  std::string generator;
  TimestampMicros created_at = 0;
  std::optional<TimestampMicros> completed_at;
};

// One missing-symbol observation (or `count` coalesced observations of the same hash).
struct MissingSymbolHit {
  std::string hash;  // see MissingSymbolHash
  std::string debug_file;
  std::string debug_id;
  std::string filename;
  std::string code_file;
  std::string code_id;
  int64_t count = 1;
  TimestampMicros seen_at = 0;  // when the (last) miss happened
};

struct MissingSymbol {
  int64_t id = 0;
  std::string hash;
  std::string debug_file;
  std::string debug_id;
  std::string filename;
  std::string code_file;
  std::string code_id;
  int64_t count = 0;
  TimestampMicros created_at = 0;
  TimestampMicros modified_at = 0;
};

struct MissingSymbolQuery {
  std::optional<TimestampMicros> modified_since;  // modified_at >= this
  std::string debug_file;                         // filters: exact match when non-empty
  std::string debug_id;
  std::string filename;
  std::string code_file;
  std::string code_id;
  // Sort column: one of modified_at, created_at, count, debug_file, debug_id, filename; '-' prefix
  // = desc.
  std::string order_by = "-modified_at";
  int64_t limit = 100;  // 1..10000
  int64_t offset = 0;
};

struct MissingSymbolPage {
  std::vector<MissingSymbol> rows;
  int64_t total = 0;  // rows matching the filters, ignoring limit/offset
};

// Hash identifying a missing symbol: SHA-256 hex of the non-empty fields joined with '|'.
std::string MissingSymbolHash(const MissingSymbolHit& hit);

class Database {
 public:
  virtual ~Database() = default;

  virtual std::string Name() const = 0;  // "sqlite", "postgresql"

  // Applies pending migrations (idempotent; safe when several nodes start at once).
  virtual Status Migrate() = 0;
  virtual Result<int> SchemaVersion() = 0;
  virtual Status Ping() = 0;

  // Users. CreateUser fails with kAlreadyExists for a taken email.
  virtual Result<User> CreateUser(const std::string& email,
                                  const std::vector<std::string>& permissions) = 0;
  virtual Result<User> GetUserByEmail(const std::string& email) = 0;  // kNotFound
  virtual Result<User> GetUser(int64_t id) = 0;
  virtual Status SetUserPermissions(int64_t user_id,
                                    const std::vector<std::string>& permissions) = 0;
  virtual Status SetUserActive(int64_t user_id, bool active) = 0;

  // Tokens.
  virtual Result<Token> CreateToken(const Token& token) = 0;  // id and created_at filled
  virtual Result<TokenWithUser> FindTokenByHash(const std::string& key_hash) = 0;  // kNotFound
  virtual Result<std::vector<TokenWithUser>> ListTokens() = 0;
  virtual Status DeleteToken(int64_t token_id) = 0;  // kNotFound if absent

  // Uploads.
  virtual Result<int64_t> CreateUpload(const Upload& upload) = 0;
  // Sets skipped/ignored keys and completed_at.
  virtual Status CompleteUpload(int64_t upload_id, const std::vector<std::string>& skipped_keys,
                                const std::vector<std::string>& ignored_keys,
                                TimestampMicros completed_at) = 0;
  virtual Result<Upload> GetUpload(int64_t id) = 0;
  virtual Result<std::vector<Upload>> ListUploads(int64_t limit, int64_t offset) = 0;

  // File uploads.
  virtual Result<int64_t> AddFileUpload(const FileUpload& file) = 0;
  // The file_uploads rows of an upload's stored files (each with upload_id = `upload_id`) and the
  // upload's stored keys (each file's key, in order), in one transaction: all or none. Returns the
  // rows' ids in order; kNotFound if the upload does not exist. One commit for a whole upload
  // instead of two per file.
  virtual Result<std::vector<int64_t>> RecordStoredFiles(int64_t upload_id,
                                                         const std::vector<FileUpload>& files) = 0;
  virtual Result<std::vector<FileUpload>> ListFileUploads(int64_t upload_id) = 0;
  // Most recent stored .sym file with this (debug_filename, debug_id) / (code_file, code_id);
  // kNotFound.
  virtual Result<FileUpload> FindSymbolByDebugId(const std::string& debug_filename,
                                                 const std::string& debug_id) = 0;
  virtual Result<FileUpload> FindSymbolByCodeId(const std::string& code_file,
                                                const std::string& code_id) = 0;

  // Missing symbols: one atomic UPSERT per distinct hash, all in one transaction
  // (INSERT ... ON CONFLICT (hash) DO UPDATE SET count = count + excluded.count, modified_at =
  // ...).
  virtual Status RecordMissingSymbols(const std::vector<MissingSymbolHit>& hits) = 0;
  virtual Result<MissingSymbolPage> QueryMissingSymbols(const MissingSymbolQuery& query) = 0;
};

}  // namespace sigil::db
