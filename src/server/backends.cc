#include "server/backends.h"

#include <filesystem>
#include <system_error>

#include "cache/memcached/memcached_cache.h"
#include "cache/memcached/memcached_invalidation_bus.h"
#include "cache/memory/memory_cache.h"
#include "cache/redis/redis_cache.h"
#include "cache/redis/redis_invalidation_bus.h"
#include "db/postgres/postgres_database.h"
#include "db/sqlite/sqlite_database.h"
#include "storage/fs/fs_object_store.h"
#include "storage/s3/s3_object_store.h"

namespace sigil::server {
namespace {

bool StartsWith(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

Status EnsureDir(const std::string& dir, std::string_view setting) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return InvalidArgument(std::string(setting) + ": cannot create directory '" + dir +
                           "': " + ec.message());
  return Status::Ok();
}

// The backend factories report what is wrong with a URL ("s3 URL: unknown parameter ...");
// startup errors must also say which setting holds it.
template <class T>
Result<T> NameSetting(Result<T> r, std::string_view setting) {
  if (r.ok()) return r;
  return r.status().WithContext(setting);
}

Result<std::unique_ptr<storage::ObjectStore>> OpenStoreUnnamed(const std::string& url,
                                                               int presign_expiry_s,
                                                               bool fs_direct_writes) {
  if (StartsWith(url, "file://")) {
    std::string root = url.substr(7);
    if (root.empty()) return InvalidArgument("file:// URL has no path");
    SIGIL_RETURN_IF_ERROR(EnsureDir(root, "storage"));
    storage::fs::FsOptions options;
    options.direct_writes = fs_direct_writes;
    return storage::fs::MakeFsObjectStore(root, options);
  }
  if (StartsWith(url, "s3://")) return storage::s3::MakeS3ObjectStore(url, presign_expiry_s);
  return InvalidArgument("unsupported URL '" + RedactUrl(url) + "' (file:// or s3://)");
}

Result<std::unique_ptr<db::Database>> OpenDatabaseUnnamed(const std::string& url, int pool_size) {
  if (StartsWith(url, "sqlite://")) {
    std::string path = url.substr(9);
    if (path.empty()) return InvalidArgument("sqlite:// URL has no path");
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) SIGIL_RETURN_IF_ERROR(EnsureDir(parent.string(), "database"));
    return db::sqlite::OpenSqliteDatabase(path);
  }
  if (StartsWith(url, "postgresql://") || StartsWith(url, "postgres://")) {
    return db::postgres::OpenPostgresDatabase(url, pool_size);
  }
  return InvalidArgument("unsupported URL '" + RedactUrl(url) + "' (sqlite:// or postgresql://)");
}

Result<std::unique_ptr<cache::Cache>> OpenCacheUnnamed(const std::string& url,
                                                       uint64_t memory_bytes) {
  if (StartsWith(url, "memory://")) return cache::memory::MakeMemoryCache(memory_bytes);
  if (StartsWith(url, "redis://") || StartsWith(url, "redis+unix://"))
    return cache::redis::MakeRedisCache(url);
  if (StartsWith(url, "memcached://") || StartsWith(url, "memcached+unix://")) {
    return cache::memcached::MakeMemcachedCache(url);
  }
  return InvalidArgument("unsupported URL '" + RedactUrl(url) + "'");
}

}  // namespace

Result<std::unique_ptr<storage::ObjectStore>> OpenObjectStore(const std::string& url,
                                                              int presign_expiry_s,
                                                              bool fs_direct_writes) {
  return NameSetting(OpenStoreUnnamed(url, presign_expiry_s, fs_direct_writes),
                     "storage.storage_url");
}

Result<std::unique_ptr<db::Database>> OpenDatabase(const std::string& url, int pool_size) {
  return NameSetting(OpenDatabaseUnnamed(url, pool_size), "storage.database_url");
}

Result<std::unique_ptr<cache::Cache>> OpenCache(const std::string& url, uint64_t memory_bytes) {
  return NameSetting(OpenCacheUnnamed(url, memory_bytes), "storage.cache_url");
}

Result<std::unique_ptr<InvalidationBus>> OpenInvalidationBus(const std::string& cache_url) {
  if (StartsWith(cache_url, "redis://") || StartsWith(cache_url, "redis+unix://")) {
    return NameSetting(cache::redis::MakeRedisInvalidationBus(cache_url), "storage.cache_url");
  }
  if (StartsWith(cache_url, "memcached://") || StartsWith(cache_url, "memcached+unix://")) {
    return NameSetting(cache::memcached::MakeMemcachedInvalidationBus(cache_url),
                       "storage.cache_url");
  }
  return std::unique_ptr<InvalidationBus>(std::make_unique<LocalInvalidationBus>());
}

Result<Backends> OpenBackends(const Config& config) {
  SIGIL_RETURN_IF_ERROR(EnsureDir(config.storage.data_dir, "storage.data_dir"));
  Backends b;
  SIGIL_ASSIGN_OR_RETURN(
      b.store, OpenObjectStore(config.EffectiveStorageUrl(), config.download.presign_expiry_s,
                               config.storage.fs_direct_writes));
  int pool = config.server.worker_threads > 0 ? config.server.worker_threads : 8;
  SIGIL_ASSIGN_OR_RETURN(b.database, OpenDatabase(config.EffectiveDatabaseUrl(), pool));
  SIGIL_ASSIGN_OR_RETURN(b.cache,
                         OpenCache(config.storage.cache_url, config.storage.memory_cache_bytes));
  SIGIL_ASSIGN_OR_RETURN(b.bus, OpenInvalidationBus(config.storage.cache_url));
  return b;
}

}  // namespace sigil::server
