// Config: every setting of sigil in one struct, with its default beside it.
//
// Sources, highest priority first: command-line flags (--name), environment (SIGIL_NAME, upper
// case,
// '-' -> '_'), a TOML file (--config / SIGIL_CONFIG; keys are the setting names, `a.b` or [a] b),
// then the defaults below. Every setting is declared once in config.cc's table, which drives all
// three sources, validation and docs/configuration.md. Invalid values stop startup with a one-line
// error naming the setting. Plain data: copy it freely; read-only after startup.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sigil {

struct ServerConfig {
  std::string listen =
      "127.0.0.1:8000";         // host:port; port 0 picks a free port (printed at startup)
  int io_threads = 0;           // 0 = one per core
  int worker_threads = 0;       // 0 = 2 per core (blocking work: disk, db, compression)
  int worker_queue = 1024;      // tasks that may wait; beyond that 503 + Retry-After
  int max_connections = 10000;  // beyond that new connections are closed at once
  uint64_t max_header_bytes = 16 * 1024;        // request line + headers; over -> 431
  uint64_t max_body_bytes = 10ull << 20;        // default per-route body limit; over -> 413
  uint64_t max_upload_bytes = 2ull << 30;       // body limit of the upload routes
  uint64_t spool_threshold_bytes = 1ull << 20;  // bodies over this are spooled to a temp file
  int read_timeout_ms = 30000;      // a request (headers + body) must progress within this
  int idle_timeout_ms = 60000;      // keep-alive connections idle longer are closed
  int shutdown_timeout_ms = 20000;  // in-flight requests get this long on SIGTERM
  bool access_log = true;           // one JSON line per request on stderr
  std::string log_level = "info";   // trace, debug, info, warn, error
};

struct StorageConfig {
  std::string data_dir =
      "./sigil-data";        // symbols/, sigil.db, index-cache/, tmp/ live here by default
  std::string storage_url;   // "" = file://<data_dir>/symbols; s3://bucket/prefix?endpoint=...
  std::string database_url;  // "" = sqlite://<data_dir>/sigil.db; postgresql://...
  std::string cache_url =
      "memory://";  // memory://, redis://host:port/db, memcached://host:port, ...
  uint64_t memory_cache_bytes = 256ull << 20;  // byte budget of the in-process cache
  std::string tmp_dir;                         // "" = <data_dir>/tmp (spooled bodies, downloads)
  // file:// store: write uploaded objects with O_DIRECT where the filesystem accepts it (no page-
  // cache copy of bytes written once and read rarely; buffered where it does not).
  bool fs_direct_writes = true;
};

struct UploadConfig {
  std::vector<std::string> compress_extensions = {"sym"};
  std::vector<std::string> disallowed_snippets = {"qcom/proprietary"};
  std::vector<std::string> allowed_url_hosts;  // hosts upload-by-URL may download from
  bool allow_http_urls = false;                // tests only: permit http:// download URLs
  int compression_level = 1;                   // ISA-L level 0..3 (gzip-compatible output)
  uint64_t max_archive_bytes = 2ull << 30;
  uint64_t max_members = 50000;
  uint64_t max_total_uncompressed_bytes = 16ull << 30;
  uint64_t max_member_bytes = 4ull << 30;
  double max_compression_ratio = 200.0;  // a member inflating more than this is a zip bomb
  int url_timeout_ms = 300000;
  int url_max_redirects = 5;
  int url_retries = 3;
};

struct DownloadConfig {
  std::vector<std::string> allowed_extensions = {".sym", ".dl_",    ".ex_",
                                                 ".pd_", ".dbg.gz", ".tar.bz2"};
  int exists_ttl_s = 6 * 3600;  // memoized existence hits
  int miss_ttl_s = 600;         // memoized existence misses
  int codeid_ttl_s = 600;       // code-id / syminfo lookups, hits and misses
  int missing_flush_ms = 1000;  // coalesced missing-symbol counts are flushed at least this often
  int presign_expiry_s = 300;   // S3 without public URL: presigned GET lifetime (0 = proxy)
  int open_files = 256;         // local storage: descriptors of served objects kept open (0 = off)
  int open_file_ttl_s = 60;     // a kept descriptor is reopened after this long
};

struct SymbolicationConfig {
  std::vector<std::string> upstream_urls;  // other symbol servers, tried in order after own storage
  std::string index_dir;                   // "" = <data_dir>/index-cache
  uint64_t index_disk_bytes = 8ull << 30;  // on-disk index cache budget (LRU)
  uint64_t index_memory_bytes = 2ull << 30;  // mapped indexes kept open (LRU)
  int max_jobs = 10;
  int max_frames = 10000;
  uint64_t max_sym_bytes = 4ull << 30;
  int negative_ttl_s = 600;  // remember missing modules this long (uploads invalidate)
  int upstream_timeout_ms = 30000;
  int upstream_retries = 3;
};

struct AuthConfig {
  int default_token_days = 365;
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  UploadConfig upload;
  DownloadConfig download;
  SymbolicationConfig symbolication;
  AuthConfig auth;

  // Derived paths (data_dir-relative defaults resolved).
  std::string EffectiveStorageUrl() const;
  std::string EffectiveDatabaseUrl() const;
  std::string EffectiveTmpDir() const;
  std::string EffectiveIndexDir() const;

  // Checks ranges and formats; the error names the setting ("server.listen: ...").
  Status Validate() const;
};

// One setting as the table in config.cc declares it.
struct SettingInfo {
  std::string name;  // "server.listen"
  std::string flag;  // "--listen"
  std::string env;   // "SIGIL_LISTEN"
  std::string help;
  std::string default_value;
};
std::vector<SettingInfo> ListSettings();
// Every setting's current value in `config` (name, string form), in table order.
std::vector<std::pair<std::string, std::string>> DescribeConfig(const Config& config);

// `url` with its userinfo (user:password@) replaced by "***@", for messages and logs.
std::string RedactUrl(const std::string& url);

// Applies one setting by name from its string form (lists are comma-separated). Error names the
// setting.
Status ApplySetting(Config& config, const std::string& name, const std::string& value);

// Loads the config: defaults, then the TOML file (if config_file non-empty), then SIGIL_*
// environment variables from `env` (a NULL-terminated environ array, may be null), then `flags`
// (name -> value, the flags actually given). Validates the result.
Result<Config> LoadConfig(const std::string& config_file, char** env,
                          const std::vector<std::pair<std::string, std::string>>& flags);

}  // namespace sigil
