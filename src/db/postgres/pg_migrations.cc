#include "db/postgres/pg_migrations.h"

#include <spdlog/spdlog.h>

#include <string_view>

#include "common/clock.h"

namespace sigil::db::postgres {
namespace {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// Append only: never edit a migration that has shipped; add a new one. Mirrors the SQLite
// migrations (same version numbers, tables, columns and indexes).
constexpr Migration kMigrations[] = {
    {1, "initial schema", R"sql(
CREATE TABLE users (
  id          BIGSERIAL PRIMARY KEY,
  email       TEXT    NOT NULL UNIQUE,
  is_active   BOOLEAN NOT NULL DEFAULT TRUE,
  permissions TEXT[]  NOT NULL DEFAULT '{}',   -- sorted, unique
  created_at  BIGINT  NOT NULL
);

CREATE TABLE tokens (
  id          BIGSERIAL PRIMARY KEY,
  user_id     BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key_hash    TEXT    NOT NULL,                -- hex SHA-256 of the key
  permissions TEXT[]  NOT NULL DEFAULT '{}',
  expires_at  BIGINT  NOT NULL,
  notes       TEXT    NOT NULL DEFAULT '',
  created_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX tokens_key_hash ON tokens(key_hash);
CREATE INDEX tokens_user_id ON tokens(user_id);

CREATE TABLE uploads (
  id            BIGSERIAL PRIMARY KEY,
  user_id       BIGINT  NOT NULL REFERENCES users(id),
  filename      TEXT    NOT NULL,
  size          BIGINT  NOT NULL,
  bucket_name   TEXT    NOT NULL,
  download_url  TEXT,
  redirect_urls TEXT[]  NOT NULL DEFAULT '{}',
  try_symbols   BOOLEAN NOT NULL DEFAULT FALSE,
  content_hash  TEXT    NOT NULL DEFAULT '',
  created_at    BIGINT  NOT NULL,
  completed_at  BIGINT
);
CREATE INDEX uploads_user_id ON uploads(user_id);
CREATE INDEX uploads_created_at ON uploads(created_at);
CREATE INDEX uploads_content_hash ON uploads(content_hash);

-- stored (0), skipped (1) and ignored (2) keys of an upload, in insertion order (id).
CREATE TABLE upload_keys (
  id        BIGSERIAL PRIMARY KEY,
  upload_id BIGINT   NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  kind      SMALLINT NOT NULL CHECK (kind IN (0, 1, 2)),
  key       TEXT     NOT NULL
);
CREATE INDEX upload_keys_upload ON upload_keys(upload_id, kind, id);

CREATE TABLE file_uploads (
  id             BIGSERIAL PRIMARY KEY,
  upload_id      BIGINT  REFERENCES uploads(id) ON DELETE SET NULL,
  bucket_name    TEXT    NOT NULL,
  key            TEXT    NOT NULL,
  size           BIGINT  NOT NULL,
  compressed     BOOLEAN NOT NULL DEFAULT FALSE,
  is_update      BOOLEAN NOT NULL DEFAULT FALSE,
  debug_filename TEXT    NOT NULL DEFAULT '',
  debug_id       TEXT    NOT NULL DEFAULT '',
  code_file      TEXT    NOT NULL DEFAULT '',
  code_id        TEXT    NOT NULL DEFAULT '',
  generator      TEXT    NOT NULL DEFAULT '',
  created_at     BIGINT  NOT NULL,
  completed_at   BIGINT
);
CREATE INDEX file_uploads_upload_id ON file_uploads(upload_id);
CREATE INDEX file_uploads_debug ON file_uploads(debug_filename, debug_id, created_at);
CREATE INDEX file_uploads_code ON file_uploads(code_file, code_id, created_at);

CREATE TABLE missing_symbols (
  id          BIGSERIAL PRIMARY KEY,
  hash        TEXT    NOT NULL,
  debug_file  TEXT    NOT NULL,
  debug_id    TEXT    NOT NULL,
  filename    TEXT    NOT NULL,
  code_file   TEXT    NOT NULL DEFAULT '',
  code_id     TEXT    NOT NULL DEFAULT '',
  count       BIGINT  NOT NULL,
  created_at  BIGINT  NOT NULL,
  modified_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX missing_symbols_hash ON missing_symbols(hash);
CREATE INDEX missing_symbols_modified_at ON missing_symbols(modified_at);
)sql"},
};

constexpr char kSchemaMigrationsDdl[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

}  // namespace

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Result<int> AppliedSchemaVersion(PgPool& pool) {
  int version = 0;
  Status status = pool.Run(
      [&](PgConnection& conn) -> Status {
        SIGIL_ASSIGN_OR_RETURN(PgResult exists,
                               conn.Query("SELECT to_regclass('schema_migrations') IS NOT NULL"));
        if (!exists.Bool(0, 0)) {
          version = 0;
          return Status::Ok();
        }
        SIGIL_ASSIGN_OR_RETURN(
            PgResult max, conn.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
        version = static_cast<int>(max.Int(0, 0));
        return Status::Ok();
      },
      PgPool::Retry::kIdempotent);
  SIGIL_RETURN_IF_ERROR(status);
  return version;
}

Status ApplyMigrations(PgPool& pool) {
  std::vector<const Migration*> applied;
  Status status = pool.Transaction([&](PgConnection& conn) -> Status {
    applied.clear();
    // Serialises concurrent migrators until this transaction ends; statements after it see what the
    // previous holder committed (READ COMMITTED takes a new snapshot per statement).
    SIGIL_RETURN_IF_ERROR(
        conn.Exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")"));
    SIGIL_RETURN_IF_ERROR(conn.Exec(kSchemaMigrationsDdl));
    SIGIL_ASSIGN_OR_RETURN(PgResult max,
                           conn.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    int current = static_cast<int>(max.Int(0, 0));
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      Status s = conn.Exec(std::string(m.sql));
      if (!s.ok()) {
        return s.WithContext("migration " + std::to_string(m.version) + " (" + std::string(m.name) +
                             ")");
      }
      SIGIL_RETURN_IF_ERROR(
          conn.Query(
                  "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                  Params().Add(int64_t{m.version}).Add(m.name).Add(NowMicros()))
              .status());
      applied.push_back(&m);
    }
    return Status::Ok();
  });
  if (status.ok()) {
    for (const Migration* m : applied)
      spdlog::info("postgresql: applied migration {} ({})", m->version, m->name);
  }
  return status;
}

}  // namespace sigil::db::postgres
