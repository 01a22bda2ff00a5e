#include "db/postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "db/postgres/pg_array.h"

namespace sigil::db::postgres {
namespace {

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...\n", one
// line per host tried); sigil's errors and log entries are one line each.
std::string OneLine(const std::string& s) {
  std::string out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    size_t b = s.find_first_not_of(" \t\r", pos);
    size_t e = s.find_last_not_of(" \t\r", end == 0 ? 0 : end - 1);
    if (b != std::string::npos && b < end && e != std::string::npos && e >= b) {
      if (!out.empty()) out += ' ';
      out.append(s, b, e - b + 1);
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace

// ---- Params ----

Params& Params::Add(int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}

Params& Params::Add(bool v) {
  values_.emplace_back(v ? "t" : "f");
  return *this;
}

Params& Params::Add(std::string_view v) {
  values_.emplace_back(std::string(v));
  return *this;
}

Params& Params::Add(const std::optional<std::string>& v) {
  values_.push_back(v);
  return *this;
}

Params& Params::Add(const std::optional<int64_t>& v) {
  if (v) return Add(*v);
  values_.emplace_back(std::nullopt);
  return *this;
}

Params& Params::AddTextArray(const std::vector<std::string>& v) {
  values_.emplace_back(EncodeTextArray(v));
  return *this;
}

Params& Params::AddInt64Array(const std::vector<int64_t>& v) {
  values_.emplace_back(EncodeInt64Array(v));
  return *this;
}

// ---- PgResult ----

void PgResult::Deleter::operator()(pg_result* r) const { PQclear(r); }

int PgResult::rows() const { return PQntuples(res_.get()); }

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(res_.get());
  int64_t v = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

bool PgResult::IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(res_.get(), row, col),
                     static_cast<size_t>(PQgetlength(res_.get(), row, col)));
}

int64_t PgResult::Int(int row, int col) const {
  const char* s = PQgetvalue(res_.get(), row, col);
  int64_t v = 0;
  std::from_chars(s, s + PQgetlength(res_.get(), row, col), v);
  return v;
}

bool PgResult::Bool(int row, int col) const { return PQgetvalue(res_.get(), row, col)[0] == 't'; }

std::optional<int64_t> PgResult::OptionalInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

std::optional<std::string> PgResult::OptionalText(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Text(row, col);
}

Result<std::vector<std::string>> PgResult::TextArray(int row, int col) const {
  if (IsNull(row, col)) return std::vector<std::string>();
  return DecodeTextArray(PQgetvalue(res_.get(), row, col));
}

// ---- errors ----

std::string SqlState(const pg_result* res) {
  if (res == nullptr) return "";
  const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  return s != nullptr ? s : "";
}

Status PgStatus(pg_conn* conn, const pg_result* res, std::string_view context) {
  std::string prefix = "postgresql: " + std::string(context) + ": ";
  if (PQstatus(conn) == CONNECTION_BAD) {
    return Unavailable(prefix + "connection lost: " + OneLine(PQerrorMessage(conn)));
  }
  std::string state = SqlState(res);
  const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string message = prefix + (primary != nullptr ? primary : OneLine(PQerrorMessage(conn)));
  if (!state.empty()) message += " (SQLSTATE " + state + ")";
  auto cls = state.substr(0, 2);
  if (state == "23505") return AlreadyExists(message);
  if (state == "23503") return NotFound(message);
  if (state == "57014") return DeadlineExceeded(message);
  if (state == "40001" || state == "40P01" || cls == "08" || cls == "53" || state == "57P01" ||
      state == "57P02" || state == "57P03") {
    return Unavailable(message);
  }
  if (cls == "22") return InvalidArgument(message);
  return Internal(message);
}

// ---- PgConnection ----

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url) {
  // Entries before the expanded dbname (the URL) are defaults the URL may override.
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "sigil", url.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Unavailable("postgresql: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Unavailable("postgresql: cannot connect: " + OneLine(PQerrorMessage(conn)));
    PQfinish(conn);
    return s;
  }
  // Server notices (WARNING: terminating connection ..., etc.) go to the log, not to stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char* message) { spdlog::info("postgresql: {}", OneLine(message)); },
      nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

bool PgConnection::LooksAlive() {
  if (broken()) return false;
  pollfd p{PQsocket(conn_), POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return true;  // nothing pending: as alive as we can tell without a query
  // Something arrived while idle: usually the close (EOF, or a FATAL notice before it).
  if (PQconsumeInput(conn_) == 0 || broken()) return false;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
}

Result<PgResult> PgConnection::Query(const std::string& sql, const Params& params) {
  if (broken()) return Unavailable("postgresql: connection lost");
  const auto& values = params.values();
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) {
    if (v && v->find('\0') != std::string::npos) {
      return InvalidArgument("text contains a NUL byte, which PostgreSQL cannot store");
    }
    ptrs.push_back(v ? v->c_str() : nullptr);
  }
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "sigil_" + std::to_string(prepared_.size() + 1);
    ++commands_;
    pg_result* prep = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
      last_sqlstate_ = SqlState(prep);
      Status s = PgStatus(conn_, prep, "prepare");
      PQclear(prep);
      return s;
    }
    PQclear(prep);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  ++commands_;
  pg_result* res = PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(ptrs.size()),
                                  ptrs.data(), nullptr, nullptr, 0);
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) return PgResult(res);
  last_sqlstate_ = SqlState(res);
  Status s = PgStatus(conn_, res, "query");
  PQclear(res);
  return s;
}

Status PgConnection::Exec(const std::string& sql) {
  ++commands_;
  pg_result* res = PQexec(conn_, sql.c_str());
  ExecStatusType st = PQresultStatus(res);
  Status s = Status::Ok();
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    last_sqlstate_ = SqlState(res);
    s = PgStatus(conn_, res, sql.substr(0, sql.find_first_of("\n(")));
  }
  PQclear(res);
  return s;
}

}  // namespace sigil::db::postgres
