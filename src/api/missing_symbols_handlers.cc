#include "api/missing_symbols_handlers.h"

#include <charconv>
#include <optional>
#include <string>

#include "api/error_mapping.h"
#include "common/clock.h"
#include "download/download_service.h"

namespace sigil::api {
namespace {

constexpr int64_t kMicrosPerDay = 86400LL * 1000000;
constexpr int64_t kMaxPage = 1000000;

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff][Z]" (UTC) → micros.
std::optional<TimestampMicros> ParseDateTime(std::string_view s) {
  auto num = [&](size_t pos, size_t len) -> std::optional<int64_t> {
    if (pos + len > s.size()) return std::nullopt;
    for (size_t i = pos; i < pos + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
    }
    return ParseInt(s.substr(pos, len));
  };
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2);
  if (!y || !mo || !d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
  int64_t t = DaysFromCivil(*y, *mo, *d) * kMicrosPerDay;
  if (s.size() == 10) return t;
  if (s[10] != 'T' && s[10] != ' ') return std::nullopt;
  auto h = num(11, 2), mi = num(14, 2), sec = num(17, 2);
  if (!h || !mi || !sec || s[13] != ':' || s[16] != ':' || *h > 23 || *mi > 59 || *sec > 60)
    return std::nullopt;
  t += ((*h * 60 + *mi) * 60 + *sec) * 1000000;
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    int64_t frac = 0, scale = 1000000;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (scale > 1) {
        scale /= 10;
        frac += (rest[i] - '0') * scale;
      }
      ++i;
    }
    if (i == 1) return std::nullopt;
    t += frac;
    rest.remove_prefix(i);
  }
  if (rest == "Z" || rest.empty() || rest == "+00:00") return t;
  return std::nullopt;
}

http::Response BadParam(std::string_view name, std::string_view why) {
  return ErrorResponse(InvalidArgument("invalid '" + std::string(name) + "': " + std::string(why)));
}

void HandleCsv(download::DownloadService& service, http::Request& request, http::Responder done) {
  const TimestampMicros now = NowMicros();
  const TimestampMicros since =
      request.HasQueryParam("today") ? StartOfUtcDay(now) : now - kMicrosPerDay;
  auto csv = service.MissingSymbolsCsv(since);
  if (!csv.ok()) {
    done(ErrorResponse(csv.status(), "missingsymbols.csv"));
    return;
  }
  http::Response r = http::Response::Text(200, std::move(*csv), "text/csv");
  r.headers.Add("Content-Disposition",
                "attachment; filename=\"missing-symbols-" + FormatDate(since) + ".csv\"");
  done(std::move(r));
}

void HandleQuery(download::DownloadService& service, http::Request& request, http::Responder done) {
  db::MissingSymbolQuery q;
  int64_t page = 1;
  int64_t batch = 100;
  if (auto v = request.QueryParam("page")) {
    auto n = ParseInt(*v);
    if (!n || *n < 1 || *n > kMaxPage)
      return done(BadParam("page", "must be an integer from 1 to 1000000"));
    page = *n;
  }
  if (auto v = request.QueryParam("batch_size")) {
    auto n = ParseInt(*v);
    if (!n || *n < 1 || *n > 1000)
      return done(BadParam("batch_size", "must be an integer from 1 to 1000"));
    batch = *n;
  }
  struct Filter {
    const char* name;
    const char* alias;
    std::string* field;
  } filters[] = {{"debug_file", "symbol", &q.debug_file},
                 {"debug_id", "debugid", &q.debug_id},
                 {"filename", nullptr, &q.filename},
                 {"code_file", nullptr, &q.code_file},
                 {"code_id", nullptr, &q.code_id}};
  for (const auto& f : filters) {
    auto v = request.QueryParam(f.name);
    if (!v && f.alias) v = request.QueryParam(f.alias);
    if (!v) continue;
    if (v->size() > 300) return done(BadParam(f.name, "longer than 300 characters"));
    *f.field = *v;
  }
  if (auto v = request.QueryParam("modified_at"); v && !v->empty()) {
    std::string_view s = *v;
    bool strict = false;
    if (s.starts_with(">=")) {
      s.remove_prefix(2);
    } else if (s.starts_with(">")) {
      s.remove_prefix(1);
      strict = true;
    }
    const TimestampMicros today = StartOfUtcDay(NowMicros());
    std::optional<TimestampMicros> t;
    if (s == "today") {
      t = today;
    } else if (s == "yesterday") {
      t = today - kMicrosPerDay;
    } else {
      t = ParseDateTime(s);
    }
    if (!t)
      return done(BadParam("modified_at",
                           "expected [>|>=]YYYY-MM-DD, an ISO 8601 time, today or yesterday"));
    q.modified_since = strict ? *t + 1 : *t;
  }
  std::string sort = request.QueryParam("sort").value_or("modified_at");
  if (sort.empty()) sort = "modified_at";
  static const char* kSorts[] = {"modified_at", "created_at", "count",
                                 "debug_file",  "debug_id",   "filename"};
  bool known = false;
  for (const char* s : kSorts) known = known || sort == s;
  if (!known) {
    return done(BadParam(
        "sort", "must be one of modified_at, created_at, count, debug_file, debug_id, filename"));
  }
  bool reverse = true;
  if (auto v = request.QueryParam("reverse"); v && !v->empty()) {
    if (*v != "true" && *v != "false") return done(BadParam("reverse", "must be true or false"));
    reverse = *v == "true";
  }
  q.order_by = (reverse ? "-" : "") + sort;
  q.limit = batch;
  q.offset = (page - 1) * batch;

  auto result = service.QueryMissingSymbols(q);
  if (!result.ok()) return done(ErrorResponse(result.status(), "api/missingsymbols"));
  std::string json = "{\"records\":[";
  bool first = true;
  for (const auto& row : result->rows) {
    if (!first) json += ',';
    first = false;
    json +=
        "{\"id\":" + std::to_string(row.id) + ",\"debug_file\":" + http::JsonQuote(row.debug_file) +
        ",\"debug_id\":" + http::JsonQuote(row.debug_id) +
        ",\"filename\":" + http::JsonQuote(row.filename) +
        ",\"code_file\":" + http::JsonQuote(row.code_file) +
        ",\"code_id\":" + http::JsonQuote(row.code_id) + ",\"count\":" + std::to_string(row.count) +
        ",\"created_at\":" + http::JsonQuote(FormatIso8601(row.created_at)) +
        ",\"modified_at\":" + http::JsonQuote(FormatIso8601(row.modified_at)) + "}";
  }
  json += "],\"total_count\":" + std::to_string(result->total) +
          ",\"page\":" + std::to_string(page) + ",\"batch_size\":" + std::to_string(batch) +
          ",\"order_by\":{\"sort\":" + http::JsonQuote(sort) +
          ",\"reverse\":" + (reverse ? "true" : "false") + "}}";
  done(http::Response::Json(200, std::move(json)));
}

}  // namespace

void RegisterMissingSymbolsRoutes(http::RouteTable& routes, download::DownloadService& service) {
  http::RouteOptions opts;
  opts.max_body_bytes = 0;
  opts.name = "missingsymbols_csv";
  routes.Add(
      {"GET"}, "/missingsymbols.csv",
      [&service](http::Request& r, http::Responder done) {
        HandleCsv(service, r, std::move(done));
      },
      opts);
  opts.name = "missingsymbols_api";
  routes.Add(
      {"GET"}, "/api/missingsymbols/",
      [&service](http::Request& r, http::Responder done) {
        HandleQuery(service, r, std::move(done));
      },
      opts);
}

}  // namespace sigil::api
