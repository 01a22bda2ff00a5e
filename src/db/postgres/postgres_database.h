// The PostgreSQL Database backend (libpq), for deployments with several sigil nodes.
//
// URL: any libpq connection URI, e.g. postgresql://sigil:secret@db.internal:5432/sigil,
// postgresql:///sigil?host=/var/run/postgresql (unix socket directory), with libpq's parameters
// (sslmode, connect_timeout — default 5 s here —, options=-c%20statement_timeout%3D30000, ...).
//
// A pool of up to `pool_size` connections; statements are prepared once per connection. Writes that
// belong together run in one transaction; multi-part reads (an upload with its keys, a page of
// missing symbols with its total) are single statements, so they see one snapshot. Migrate() takes
// an advisory lock, so nodes starting at once migrate once. RecordMissingSymbols is one INSERT ...
// ON CONFLICT (hash) DO UPDATE for the whole batch (one atomic UPSERT per distinct hash, rows
// locked in hash order so concurrent flushes from several nodes cannot deadlock). Outages and lost
// connections are kUnavailable; a server restart costs at most one failed write (reads and the
// start of transactions are retried on a fresh connection). Schema: docs/database.md.
//
// Thread-safe (the Database contract).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "db/database.h"

namespace sigil::db::postgres {

// Validates the URL (kInvalidArgument names the problem) and opens one connection (kUnavailable if
// the server cannot be reached). pool_size >= 1. Does not migrate: call Migrate().
Result<std::unique_ptr<Database>> OpenPostgresDatabase(const std::string& url, int pool_size);

}  // namespace sigil::db::postgres
