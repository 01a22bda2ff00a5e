// Versioned schema migrations of the PostgreSQL backend: the same logical schema as the SQLite
// backend (docs/database.md), in PostgreSQL types (BIGSERIAL ids, BIGINT microsecond timestamps,
// BOOLEAN flags, TEXT[] lists).
//
// ApplyMigrations runs in one transaction that first takes a transaction-scoped advisory lock
// (pg_advisory_xact_lock), so when several nodes start at once one migrates and the others wait,
// then find nothing left to do. DDL is transactional in PostgreSQL: a failed migration leaves no
// trace.
#pragma once

#include "common/status.h"
#include "db/postgres/pg_pool.h"

namespace sigil::db::postgres {

// The advisory lock key (a constant shared by every sigil node: "sigilmig" in ASCII).
inline constexpr int64_t kMigrationLockKey = 0x736967696c6d6967;

Status ApplyMigrations(PgPool& pool);
// Highest applied version; 0 on a fresh database.
Result<int> AppliedSchemaVersion(PgPool& pool);
// Version of the newest migration this build knows.
int LatestSchemaVersion();

}  // namespace sigil::db::postgres
