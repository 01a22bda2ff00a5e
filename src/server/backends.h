// Backends from URLs: the only place (with app.cc) that names concrete storage, database and cache
// types.
//
//   storage   file:///abs/dir | file://rel/dir |
//   s3://bucket/prefix?endpoint=..&region=..&public_url=.. database  sqlite:///abs/file.db |
//   sqlite://rel/file.db | postgresql://user@host:port/db (libpq URI) cache     memory:// |
//   redis://host:port/db | redis+unix:///path | memcached://host:port |
//             memcached+unix:///path
#pragma once

#include <memory>
#include <string>

#include "cache/cache.h"
#include "common/config.h"
#include "common/invalidation_bus.h"
#include "common/status.h"
#include "db/database.h"
#include "storage/object_store.h"

namespace sigil::server {

struct Backends {
  std::unique_ptr<storage::ObjectStore> store;
  std::unique_ptr<db::Database> database;
  std::unique_ptr<cache::Cache> cache;
  // Every node hears every upload: Redis pub/sub with a Redis cache, an event log polled in
  // memcached with memcached; in-process otherwise.
  std::unique_ptr<InvalidationBus> bus;
};

// presign_expiry_s: default lifetime of presigned S3 GET URLs when the URL does not say;
// fs_direct_writes: FsOptions::direct_writes of a file:// store.
Result<std::unique_ptr<storage::ObjectStore>> OpenObjectStore(const std::string& url,
                                                              int presign_expiry_s,
                                                              bool fs_direct_writes = true);
// Opens the database; does not migrate.
Result<std::unique_ptr<db::Database>> OpenDatabase(const std::string& url, int pool_size);
Result<std::unique_ptr<cache::Cache>> OpenCache(const std::string& url, uint64_t memory_bytes);
Result<std::unique_ptr<InvalidationBus>> OpenInvalidationBus(const std::string& cache_url);

// All four from the config; creates data_dir for embedded backends. Errors name the setting.
Result<Backends> OpenBackends(const Config& config);

}  // namespace sigil::server
