// Missing symbols of the PostgreSQL backend: one batched atomic UPSERT, filtered and sorted pages.
#include <algorithm>
#include <array>
#include <map>
#include <utility>

#include "db/postgres/pg_database_impl.h"

namespace sigil::db::postgres {
namespace {

constexpr int64_t kMaxPage = 10000;
constexpr size_t kUpsertChunk = 5000;  // rows per statement (all chunks share one transaction)

// One INSERT ... ON CONFLICT for a whole batch of distinct hashes, fed by unnest() over array
// parameters. Rows are inserted (and their index entries locked) in hash order, so two nodes
// flushing overlapping batches at once cannot deadlock. A time of 0 ("now", a hit without seen_at)
// is stamped with the database clock: clock_timestamp(), the time of this statement rather than of
// the transaction start, one clock for every node.
constexpr char kUpsert[] =
    "INSERT INTO missing_symbols (hash, debug_file, debug_id, filename, code_file, code_id, count, "
    "created_at, modified_at) "
    "SELECT h, df, di, fn, cf, ci, c, "
    "  CASE WHEN cr = 0 THEN now_us ELSE cr END, CASE WHEN mo = 0 THEN now_us ELSE mo END "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "            $7::bigint[], $8::bigint[], $9::bigint[]) AS t(h, df, di, fn, cf, ci, c, cr, mo), "
    "  (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us) clock "
    "ORDER BY h "
    "ON CONFLICT (hash) DO UPDATE SET count = missing_symbols.count + EXCLUDED.count, "
    "created_at = LEAST(missing_symbols.created_at, EXCLUDED.created_at), "
    "modified_at = GREATEST(missing_symbols.modified_at, EXCLUDED.modified_at)";

// The only columns a query may sort by (the order_by string never reaches SQL itself). Text columns
// sort bytewise (COLLATE "C") whatever the database's collation, like the SQLite backend.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kSortColumns = {{
    {"modified_at", "modified_at"},
    {"created_at", "created_at"},
    {"count", "count"},
    {"debug_file", "debug_file COLLATE \"C\""},
    {"debug_id", "debug_id COLLATE \"C\""},
    {"filename", "filename COLLATE \"C\""},
}};

// "<table>.<column> <dir>, <table>.id <dir>" for a whitelisted order_by, else kInvalidArgument.
Result<std::string> OrderTerms(std::string_view order_by, const std::string& table) {
  bool descending = !order_by.empty() && order_by.front() == '-';
  std::string_view name = descending ? order_by.substr(1) : order_by;
  for (const auto& [accepted, column] : kSortColumns) {
    if (name == accepted) {
      const char* dir = descending ? " DESC" : " ASC";
      return table + "." + std::string(column) + dir + ", " + table + ".id" + dir;
    }
  }
  std::string allowed;
  for (const auto& [accepted, column] : kSortColumns) {
    allowed += (allowed.empty() ? "" : ", ") + std::string(accepted);
  }
  return InvalidArgument("cannot sort missing symbols by '" + std::string(order_by.substr(0, 80)) +
                         "'; use one of " + allowed + " (prefix '-' for descending)");
}

// Hits of one call merged per hash, as applying them one by one would: counts add up, the earliest
// and the latest sighting are kept (0 = now: later than any given time).
struct Merged {
  MissingSymbolHit hit;  // seen_at: the latest sighting
  TimestampMicros first_seen = 0;
};

}  // namespace

Status PostgresDatabase::RecordMissingSymbols(const std::vector<MissingSymbolHit>& hits) {
  if (hits.empty()) return Status::Ok();
  for (const MissingSymbolHit& hit : hits) {
    if (hit.count < 1) {
      return InvalidArgument("missing symbol count must be at least 1 (got " +
                             std::to_string(hit.count) + ")");
    }
  }
  std::map<std::string, Merged> by_hash;  // ordered: the lock order
  for (const MissingSymbolHit& hit : hits) {
    std::string hash = hit.hash.empty() ? MissingSymbolHash(hit) : hit.hash;
    auto [it, inserted] = by_hash.try_emplace(std::move(hash), Merged{hit, hit.seen_at});
    if (inserted) continue;
    Merged& m = it->second;
    m.hit.count += hit.count;
    if (m.hit.seen_at != 0)
      m.hit.seen_at = hit.seen_at == 0 ? 0 : std::max(m.hit.seen_at, hit.seen_at);
    if (hit.seen_at != 0)
      m.first_seen = m.first_seen == 0 ? hit.seen_at : std::min(m.first_seen, hit.seen_at);
  }

  // Up to one chunk: a single statement, atomic by itself (one round trip); more: one transaction.
  auto body = [&](PgConnection& conn) -> Status {
    auto it = by_hash.begin();
    while (it != by_hash.end()) {
      std::vector<std::string> hash, debug_file, debug_id, filename, code_file, code_id;
      std::vector<int64_t> count, created, modified;
      for (size_t n = 0; n < kUpsertChunk && it != by_hash.end(); ++n, ++it) {
        const MissingSymbolHit& h = it->second.hit;
        hash.push_back(it->first);
        debug_file.push_back(h.debug_file);
        debug_id.push_back(h.debug_id);
        filename.push_back(h.filename);
        code_file.push_back(h.code_file);
        code_id.push_back(h.code_id);
        count.push_back(h.count);
        created.push_back(it->second.first_seen);
        modified.push_back(h.seen_at);
      }
      SIGIL_RETURN_IF_ERROR(conn.Query(kUpsert, Params()
                                                    .AddTextArray(hash)
                                                    .AddTextArray(debug_file)
                                                    .AddTextArray(debug_id)
                                                    .AddTextArray(filename)
                                                    .AddTextArray(code_file)
                                                    .AddTextArray(code_id)
                                                    .AddInt64Array(count)
                                                    .AddInt64Array(created)
                                                    .AddInt64Array(modified))
                                .status());
    }
    return Status::Ok();
  };
  return by_hash.size() <= kUpsertChunk ? WriteOne(body) : Write(body);
}

Result<MissingSymbolPage> PostgresDatabase::QueryMissingSymbols(const MissingSymbolQuery& query) {
  if (query.limit < 1 || query.limit > kMaxPage) {
    return InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPage));
  }
  if (query.offset < 0) return InvalidArgument("offset must not be negative");
  SIGIL_ASSIGN_OR_RETURN(std::string inner_order, OrderTerms(query.order_by, "missing_symbols"));
  SIGIL_ASSIGN_OR_RETURN(std::string outer_order, OrderTerms(query.order_by, "m"));

  // WHERE clause from fixed fragments; values are parameters, never spliced.
  std::string where;
  Params params;
  int n = 0;
  auto add = [&](const char* column) {
    where += where.empty() ? " WHERE " : " AND ";
    where += std::string(column) + " = $" + std::to_string(++n);
  };
  if (query.modified_since) {
    where += " WHERE modified_at >= $" + std::to_string(++n);
    params.Add(*query.modified_since);
  }
  const std::pair<const char*, const std::string*> filters[] = {
      {"debug_file", &query.debug_file}, {"debug_id", &query.debug_id},
      {"filename", &query.filename},     {"code_file", &query.code_file},
      {"code_id", &query.code_id},
  };
  for (const auto& [column, value] : filters) {
    if (value->empty()) continue;
    add(column);
    params.Add(*value);
  }
  params.Add(query.limit).Add(query.offset);
  // The total and the page in one statement, so both come from one snapshot; the LEFT JOIN keeps
  // the total when the page is empty.
  std::string sql =
      "SELECT c.total, m.id, m.hash, m.debug_file, m.debug_id, m.filename, m.code_file, m.code_id, "
      "m.count, m.created_at, m.modified_at "
      "FROM (SELECT count(*) AS total FROM missing_symbols" +
      where +
      ") c "
      "LEFT JOIN LATERAL (SELECT id, hash, debug_file, debug_id, filename, code_file, code_id, "
      "count, "
      "created_at, modified_at FROM missing_symbols" +
      where + " ORDER BY " + inner_order + " LIMIT $" + std::to_string(n + 1) + " OFFSET $" +
      std::to_string(n + 2) +
      ") m ON TRUE "
      "ORDER BY " +
      outer_order;

  MissingSymbolPage page;
  Status status = Read([&](PgConnection& conn) -> Status {
    page = MissingSymbolPage{};
    SIGIL_ASSIGN_OR_RETURN(PgResult r, conn.Query(sql, params));
    for (int i = 0; i < r.rows(); ++i) {
      page.total = r.Int(i, 0);
      if (r.IsNull(i, 1)) continue;  // no row on this page
      MissingSymbol m;
      m.id = r.Int(i, 1);
      m.hash = r.Text(i, 2);
      m.debug_file = r.Text(i, 3);
      m.debug_id = r.Text(i, 4);
      m.filename = r.Text(i, 5);
      m.code_file = r.Text(i, 6);
      m.code_id = r.Text(i, 7);
      m.count = r.Int(i, 8);
      m.created_at = r.Int(i, 9);
      m.modified_at = r.Int(i, 10);
      page.rows.push_back(std::move(m));
    }
    return Status::Ok();
  });
  SIGIL_RETURN_IF_ERROR(status);
  return page;
}

}  // namespace sigil::db::postgres
