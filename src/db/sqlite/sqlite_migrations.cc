#include "db/sqlite/sqlite_migrations.h"

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/clock.h"

namespace sigil::db::sqlite {
namespace {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Append only: never edit a migration that has shipped; add a new one.
constexpr Migration kMigrations[] = {
    {1, "initial schema", R"sql(
CREATE TABLE users (
  id          INTEGER PRIMARY KEY,
  email       TEXT    NOT NULL UNIQUE,
  is_active   INTEGER NOT NULL DEFAULT 1,
  permissions TEXT    NOT NULL DEFAULT '[]',   -- JSON array of names, sorted, unique
  created_at  INTEGER NOT NULL
);

CREATE TABLE tokens (
  id          INTEGER PRIMARY KEY,
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key_hash    TEXT    NOT NULL,                -- hex SHA-256 of the key
  permissions TEXT    NOT NULL DEFAULT '[]',   -- JSON array
  expires_at  INTEGER NOT NULL,
  notes       TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX tokens_key_hash ON tokens(key_hash);
CREATE INDEX tokens_user_id ON tokens(user_id);

CREATE TABLE uploads (
  id            INTEGER PRIMARY KEY,
  user_id       INTEGER NOT NULL REFERENCES users(id),
  filename      TEXT    NOT NULL,
  size          INTEGER NOT NULL,
  bucket_name   TEXT    NOT NULL,
  download_url  TEXT,
  redirect_urls TEXT    NOT NULL DEFAULT '[]',  -- JSON array
  try_symbols   INTEGER NOT NULL DEFAULT 0,
  content_hash  TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  completed_at  INTEGER
);
CREATE INDEX uploads_user_id ON uploads(user_id);
CREATE INDEX uploads_created_at ON uploads(created_at);
CREATE INDEX uploads_content_hash ON uploads(content_hash);

-- stored (0), skipped (1) and ignored (2) keys of an upload, in insertion order (id).
CREATE TABLE upload_keys (
  id        INTEGER PRIMARY KEY,
  upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  kind      INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),
  key       TEXT    NOT NULL
);
CREATE INDEX upload_keys_upload ON upload_keys(upload_id, kind, id);

CREATE TABLE file_uploads (
  id             INTEGER PRIMARY KEY,
  upload_id      INTEGER REFERENCES uploads(id) ON DELETE SET NULL,
  bucket_name    TEXT    NOT NULL,
  key            TEXT    NOT NULL,
  size           INTEGER NOT NULL,
  compressed     INTEGER NOT NULL DEFAULT 0,
  is_update      INTEGER NOT NULL DEFAULT 0,
  debug_filename TEXT    NOT NULL DEFAULT '',
  debug_id       TEXT    NOT NULL DEFAULT '',
  code_file      TEXT    NOT NULL DEFAULT '',
  code_id        TEXT    NOT NULL DEFAULT '',
  generator      TEXT    NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  completed_at   INTEGER
);
CREATE INDEX file_uploads_upload_id ON file_uploads(upload_id);
CREATE INDEX file_uploads_debug ON file_uploads(debug_filename, debug_id, created_at);
CREATE INDEX file_uploads_code ON file_uploads(code_file, code_id, created_at);

CREATE TABLE missing_symbols (
  id          INTEGER PRIMARY KEY,
  hash        TEXT    NOT NULL,
  debug_file  TEXT    NOT NULL,
  debug_id    TEXT    NOT NULL,
  filename    TEXT    NOT NULL,
  code_file   TEXT    NOT NULL DEFAULT '',
  code_id     TEXT    NOT NULL DEFAULT '',
  count       INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  modified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX missing_symbols_hash ON missing_symbols(hash);
CREATE INDEX missing_symbols_modified_at ON missing_symbols(modified_at);
)sql"},
};

}  // namespace

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Result<int> AppliedSchemaVersion(Connection& conn) {
  SIGIL_ASSIGN_OR_RETURN(
      Statement exists,
      conn.Prepare(
          "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"));
  SIGIL_ASSIGN_OR_RETURN(bool has_table, exists.Step());
  if (!has_table) return 0;
  SIGIL_ASSIGN_OR_RETURN(Statement max,
                         conn.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  SIGIL_ASSIGN_OR_RETURN(bool row, max.Step());
  return row ? static_cast<int>(max.Int(0)) : 0;
}

Status ApplyMigrations(Connection& conn) {
  SIGIL_RETURN_IF_ERROR(
      conn.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  for (const Migration& m : kMigrations) {
    bool applied_now = false;
    Status status = InTransaction(conn, /*immediate=*/true, [&]() -> Status {
      SIGIL_ASSIGN_OR_RETURN(Statement check,
                             conn.Prepare("SELECT 1 FROM schema_migrations WHERE version = ?"));
      check.Bind(1, int64_t{m.version});
      SIGIL_ASSIGN_OR_RETURN(bool done, check.Step());
      if (done) return Status::Ok();
      SIGIL_RETURN_IF_ERROR(conn.Exec(m.sql));
      SIGIL_ASSIGN_OR_RETURN(
          Statement record,
          conn.Prepare(
              "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"));
      record.Bind(1, int64_t{m.version}).Bind(2, m.name).Bind(3, NowMicros());
      SIGIL_RETURN_IF_ERROR(record.Run());
      applied_now = true;
      return Status::Ok();
    });
    if (!status.ok()) {
      return status.WithContext("migration " + std::to_string(m.version) + " (" +
                                std::string(m.name) + ")");
    }
    if (applied_now) spdlog::info("sqlite: applied migration {} ({})", m.version, m.name);
  }
  return Status::Ok();
}

}  // namespace sigil::db::sqlite
