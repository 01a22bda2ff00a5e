// The SQLite Database backend (the embedded default, `sqlite://<data_dir>/sigil.db`).
//
// Concurrency: one writer connection behind a mutex (SQLite allows one writer; serialising in
// process is faster and fairer than busy retries), plus a pool of reader connections that read in
// parallel with it (WAL mode). Every write method is one BEGIN IMMEDIATE transaction. Other
// processes on the same file (the `sigil` CLI) are waited for up to busy_timeout (5 s), then
// kUnavailable. Per connection: journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON; prepared
// statements are cached per connection.
// Lists: permissions and redirect URLs are JSON text columns; an upload's stored/skipped/ignored
// keys are rows of upload_keys, so recording stored files only inserts. Schema: docs/database.md.
//
// Thread-safe (the Database contract).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "db/database.h"

namespace sigil::db::sqlite {

struct SqliteOptions {
  // Reader connections opened on demand (at most this many reads run in parallel).
  int max_readers = 8;
};

// Opens (creating the file and its parent directory if missing) the database at `path`; ":memory:"
// gives a private in-memory database served by a single connection. Does not migrate: call
// Migrate(). Errors: kUnavailable if the file cannot be opened or is not a database.
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path);
Result<std::unique_ptr<Database>> OpenSqliteDatabase(const std::string& path,
                                                     const SqliteOptions& options);

}  // namespace sigil::db::sqlite
