// Missing symbols of the SQLite backend: atomic UPSERT counting and filtered, sorted pages.
#include <array>
#include <utility>

#include "common/clock.h"
#include "db/sqlite/sqlite_database_impl.h"

namespace sigil::db::sqlite {
namespace {

constexpr int64_t kMaxPage = 10000;

// The only columns a query may sort by (the order_by string never reaches SQL itself).
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kSortColumns = {{
    {"modified_at", "modified_at"},
    {"created_at", "created_at"},
    {"count", "count"},
    {"debug_file", "debug_file"},
    {"debug_id", "debug_id"},
    {"filename", "filename"},
}};

// "ORDER BY <column> <dir>, id <dir>" for a whitelisted order_by, else kInvalidArgument.
Result<std::string> OrderClause(std::string_view order_by) {
  bool descending = !order_by.empty() && order_by.front() == '-';
  std::string_view name = descending ? order_by.substr(1) : order_by;
  for (const auto& [accepted, column] : kSortColumns) {
    if (name == accepted) {
      const char* dir = descending ? " DESC" : " ASC";
      return " ORDER BY " + std::string(column) + dir + ", id" + dir;
    }
  }
  std::string allowed;
  for (const auto& [accepted, column] : kSortColumns) {
    allowed += (allowed.empty() ? "" : ", ") + std::string(accepted);
  }
  return InvalidArgument("cannot sort missing symbols by '" + std::string(order_by.substr(0, 80)) +
                         "'; use one of " + allowed + " (prefix '-' for descending)");
}

}  // namespace

Status SqliteDatabase::RecordMissingSymbols(const std::vector<MissingSymbolHit>& hits) {
  if (hits.empty()) return Status::Ok();
  for (const MissingSymbolHit& hit : hits) {
    if (hit.count < 1) {
      return InvalidArgument("missing symbol count must be at least 1 (got " +
                             std::to_string(hit.count) + ")");
    }
  }
  TimestampMicros now = NowMicros();
  return Write([&](Connection& conn) -> Status {
    for (const MissingSymbolHit& hit : hits) {
      SIGIL_ASSIGN_OR_RETURN(
          Statement stmt,
          conn.Prepare(
              "INSERT INTO missing_symbols (hash, debug_file, debug_id, filename, code_file, "
              "code_id, count, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (hash) DO UPDATE SET count = count + excluded.count, "
              "created_at = min(created_at, excluded.created_at), "
              "modified_at = max(modified_at, excluded.modified_at)"));
      TimestampMicros seen = hit.seen_at != 0 ? hit.seen_at : now;
      stmt.Bind(1, hit.hash.empty() ? MissingSymbolHash(hit) : hit.hash)
          .Bind(2, hit.debug_file)
          .Bind(3, hit.debug_id)
          .Bind(4, hit.filename)
          .Bind(5, hit.code_file)
          .Bind(6, hit.code_id)
          .Bind(7, hit.count)
          .Bind(8, seen)
          .Bind(9, seen);
      SIGIL_RETURN_IF_ERROR(stmt.Run());
    }
    return Status::Ok();
  });
}

Result<MissingSymbolPage> SqliteDatabase::QueryMissingSymbols(const MissingSymbolQuery& query) {
  if (query.limit < 1 || query.limit > kMaxPage) {
    return InvalidArgument("limit must be between 1 and " + std::to_string(kMaxPage));
  }
  if (query.offset < 0) return InvalidArgument("offset must not be negative");
  SIGIL_ASSIGN_OR_RETURN(std::string order, OrderClause(query.order_by));

  // WHERE clause from fixed fragments; values are bound, never spliced.
  std::string where;
  std::vector<std::pair<int, std::string>> text_params;  // (index, value)
  std::optional<int64_t> since;
  int index = 0;
  auto add = [&](const char* fragment) {
    where += where.empty() ? " WHERE " : " AND ";
    where += fragment;
    return ++index;
  };
  if (query.modified_since) {
    add("modified_at >= ?");
    since = *query.modified_since;
  }
  const std::pair<const char*, const std::string*> filters[] = {
      {"debug_file = ?", &query.debug_file}, {"debug_id = ?", &query.debug_id},
      {"filename = ?", &query.filename},     {"code_file = ?", &query.code_file},
      {"code_id = ?", &query.code_id},
  };
  for (const auto& [fragment, value] : filters) {
    if (!value->empty()) text_params.emplace_back(add(fragment), *value);
  }
  auto bind = [&](Statement& stmt) {
    if (since) stmt.Bind(1, *since);
    for (const auto& [i, value] : text_params) stmt.Bind(i, value);
  };

  MissingSymbolPage page;
  Status status = Read(
      [&](Connection& conn) -> Status {
        page = MissingSymbolPage{};
        {
          SIGIL_ASSIGN_OR_RETURN(Statement count,
                                 conn.Prepare("SELECT COUNT(*) FROM missing_symbols" + where));
          bind(count);
          SIGIL_ASSIGN_OR_RETURN(bool row, count.Step());
          page.total = row ? count.Int(0) : 0;
        }
        SIGIL_ASSIGN_OR_RETURN(
            Statement rows,
            conn.Prepare("SELECT id, hash, debug_file, debug_id, filename, code_file, code_id, "
                         "count, created_at, modified_at FROM missing_symbols" +
                         where + order + " LIMIT ? OFFSET ?"));
        bind(rows);
        rows.Bind(index + 1, query.limit).Bind(index + 2, query.offset);
        while (true) {
          SIGIL_ASSIGN_OR_RETURN(bool row, rows.Step());
          if (!row) return Status::Ok();
          MissingSymbol m;
          m.id = rows.Int(0);
          m.hash = rows.Text(1);
          m.debug_file = rows.Text(2);
          m.debug_id = rows.Text(3);
          m.filename = rows.Text(4);
          m.code_file = rows.Text(5);
          m.code_id = rows.Text(6);
          m.count = rows.Int(7);
          m.created_at = rows.Int(8);
          m.modified_at = rows.Int(9);
          page.rows.push_back(std::move(m));
        }
      },
      /*snapshot=*/true);
  if (!status.ok()) return status;
  return page;
}

}  // namespace sigil::db::sqlite
