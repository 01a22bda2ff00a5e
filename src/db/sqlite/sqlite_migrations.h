// Versioned schema migrations of the SQLite backend (schema: docs/database.md).
//
// Each migration runs in its own BEGIN IMMEDIATE transaction together with its row in
// schema_migrations, and is skipped if that row exists: so a migration is applied exactly once even
// when several processes migrate the same file at the same time.
#pragma once

#include "common/status.h"
#include "db/sqlite/sqlite_connection.h"

namespace sigil::db::sqlite {

// Applies every pending migration on `conn` (the writer connection).
Status ApplyMigrations(Connection& conn);
// Highest applied version; 0 on a fresh database.
Result<int> AppliedSchemaVersion(Connection& conn);
// Version of the newest migration this build knows.
int LatestSchemaVersion();

}  // namespace sigil::db::sqlite
