// Missing-symbol flush benchmark on PostgreSQL: three ways to record a batch of missing-symbol hits
// (one flush), side by side in one interleaved run (docs/benchmarks.md, "## cache and database
// backends"):
//
//   batched      PostgresDatabase::RecordMissingSymbols: one INSERT ... SELECT FROM unnest(arrays)
//                ON CONFLICT (hash) DO UPDATE for the whole batch, in one transaction [reference]
//   per-hit      one prepared INSERT ... ON CONFLICT (hash) DO UPDATE per hit, one transaction
//   read-write   per hit: SELECT by hash, then UPDATE or INSERT (the seed note's "pure ORM"
//   version),
//                one transaction
//
// After the seed note "Simple or fancy UPSERT in PostgreSQL with Django" (1.5x for one statement
// instead of two), extended to batches: sigil coalesces misses per node and flushes once a second.
// Batches of 1, 20 and 200 hits over 1000 hashes, 80% of which exist. The server is a throwaway
// PostgreSQL 15 cluster on loopback TCP (fsync off; the flush latency measured is round trips and
// execution, not disk). Per-flush median and p90 over all repetitions, and the median's ratio to
// the reference.
//
// Usage: pg_upsert_bench [--reps N] [--flushes N]
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "db/postgres/postgres_database.h"
#include "integration/support/services.h"

using namespace sigil;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "pg_upsert_bench: %s\n", msg.c_str());
  std::exit(1);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void Exec(PGconn* c, const char* sql) {
  PGresult* r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    Die(std::string(sql) + ": " + PQresultErrorMessage(r));
  }
  PQclear(r);
}

PGresult* Prepared(PGconn* c, const char* name, const std::vector<std::string>& params) {
  std::vector<const char*> v;
  for (const auto& p : params) v.push_back(p.c_str());
  PGresult* r = PQexecPrepared(c, name, static_cast<int>(v.size()), v.data(), nullptr, nullptr, 0);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    Die(std::string(name) + ": " + PQresultErrorMessage(r));
  }
  return r;
}

std::vector<std::string> Row(const db::MissingSymbolHit& h) {
  return {h.hash,
          h.debug_file,
          h.debug_id,
          h.filename,
          h.code_file,
          h.code_id,
          std::to_string(h.count),
          std::to_string(h.seen_at)};
}

void PerHit(PGconn* c, const std::vector<db::MissingSymbolHit>& batch) {
  Exec(c, "BEGIN");
  for (const auto& h : batch) PQclear(Prepared(c, "upsert", Row(h)));
  Exec(c, "COMMIT");
}

void ReadWrite(PGconn* c, const std::vector<db::MissingSymbolHit>& batch) {
  Exec(c, "BEGIN");
  for (const auto& h : batch) {
    PGresult* found = Prepared(c, "find", {h.hash});
    bool exists = PQntuples(found) > 0;
    PQclear(found);
    if (exists) {
      PQclear(Prepared(c, "update", {h.hash, std::to_string(h.count), std::to_string(h.seen_at)}));
    } else {
      PQclear(Prepared(c, "insert", Row(h)));
    }
  }
  Exec(c, "COMMIT");
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 15, flushes = 40;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--flushes") == 0 && i + 1 < argc) {
      flushes = std::atoi(argv[++i]);
    } else {
      Die(std::string("unknown argument ") + argv[i]);
    }
  }
  auto server = testing::PostgresServer::Start();
  if (!server.ok()) Die(server.status().ToString());
  auto url = (*server)->CreateDatabase("bench");
  if (!url.ok()) Die(url.status().ToString());
  auto database = db::postgres::OpenPostgresDatabase(*url, 1);
  if (!database.ok()) Die(database.status().ToString());
  db::Database& pg = **database;
  if (Status s = pg.Migrate(); !s.ok()) Die(s.ToString());

  PGconn* raw = PQconnectdb(url->c_str());
  if (PQstatus(raw) != CONNECTION_OK) Die(PQerrorMessage(raw));
  auto prepare = [&](const char* name, const char* sql) {
    PGresult* r = PQprepare(raw, name, sql, 0, nullptr);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(PQresultErrorMessage(r));
    PQclear(r);
  };
  prepare("upsert",
          "INSERT INTO missing_symbols (hash, debug_file, debug_id, filename, code_file, code_id, "
          "count, "
          "created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (hash) "
          "DO UPDATE "
          "SET count = missing_symbols.count + EXCLUDED.count, "
          "created_at = LEAST(missing_symbols.created_at, EXCLUDED.created_at), "
          "modified_at = GREATEST(missing_symbols.modified_at, EXCLUDED.modified_at)");
  prepare("find", "SELECT id FROM missing_symbols WHERE hash = $1");
  prepare("update",
          "UPDATE missing_symbols SET count = count + $2, modified_at = GREATEST(modified_at, $3) "
          "WHERE hash = $1");
  prepare("insert",
          "INSERT INTO missing_symbols (hash, debug_file, debug_id, filename, code_file, code_id, "
          "count, "
          "created_at, modified_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)");

  // 1000 hashes; 800 exist before the run (the rest are inserted by the first block that sees them,
  // so later blocks see slightly more hits: every method gets the same sequences in shuffled
  // order).
  std::vector<db::MissingSymbolHit> pool;
  for (int i = 0; i < 1000; ++i) {
    db::MissingSymbolHit h;
    h.debug_file = "lib" + std::to_string(i) + ".pdb";
    h.debug_id = "0123456789ABCDEF0123456789ABCDEF" + std::to_string(i % 10);
    h.filename = "lib" + std::to_string(i) + ".sym";
    h.code_file = "lib" + std::to_string(i) + ".dll";
    h.code_id = "5D7F4C0A" + std::to_string(i);
    h.seen_at = 1'700'000'000'000'000;
    h.hash = db::MissingSymbolHash(h);
    pool.push_back(h);
  }
  {
    std::vector<db::MissingSymbolHit> existing(pool.begin(), pool.begin() + 800);
    if (Status s = pg.RecordMissingSymbols(existing); !s.ok()) Die(s.ToString());
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, 999);

  const std::vector<std::string> methods = {"batched", "per-hit", "read-write"};
  const std::vector<int> sizes = {1, 20, 200};
  std::map<std::pair<std::string, int>, std::vector<double>> samples;
  for (int rep = 0; rep < reps; ++rep) {
    for (int size : sizes) {
      // The flushes of this repetition: distinct hashes per flush (as the coalescer produces).
      std::vector<std::vector<db::MissingSymbolHit>> batches(flushes);
      for (auto& batch : batches) {
        std::vector<bool> used(pool.size());
        while (static_cast<int>(batch.size()) < size) {
          int k = pick(rng);
          if (used[k]) continue;
          used[k] = true;
          db::MissingSymbolHit h = pool[k];
          h.seen_at += rep * 1000 + static_cast<int>(batch.size());
          batch.push_back(h);
        }
      }
      std::vector<std::string> order = methods;
      std::shuffle(order.begin(), order.end(), rng);
      for (const std::string& m : order) {
        auto& out = samples[{m, size}];
        for (const auto& batch : batches) {
          auto start = Clock::now();
          if (m == "batched") {
            if (Status s = pg.RecordMissingSymbols(batch); !s.ok()) Die(s.ToString());
          } else if (m == "per-hit") {
            PerHit(raw, batch);
          } else {
            ReadWrite(raw, batch);
          }
          out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
      }
    }
  }
  PQfinish(raw);

  std::printf(
      "missing-symbol flush on PostgreSQL 15 (loopback TCP): %d reps x %d flushes per size\n\n",
      reps, flushes);
  std::printf("| hits per flush | method | median µs/flush | p90 µs/flush | median vs batched |\n");
  std::printf("|---:|---|---:|---:|---:|\n");
  for (int size : sizes) {
    double reference = Percentile(samples[{"batched", size}], 0.5);
    for (const std::string& m : methods) {
      const auto& v = samples[{m, size}];
      double median = Percentile(v, 0.5);
      std::printf("| %d | %s | %.0f | %.0f | %.2f |\n", size, m.c_str(), median, Percentile(v, 0.9),
                  median / reference);
    }
  }
  return 0;
}
