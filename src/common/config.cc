#include "common/config.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <sstream>

namespace sigil {
namespace {

// One row of the settings table: drives flags, environment, TOML, validation errors and the docs.
struct Setting {
  const char* name;  // "server.listen"
  const char* flag;  // "listen" (without --)
  const char* help;
  std::function<Status(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Status ParseInt64(const std::string& v, int64_t lo, int64_t hi, int64_t* out) {
  std::string s = Trim(v);
  if (s.empty()) return InvalidArgument("expected an integer, got an empty value");
  // Size suffixes for byte settings: k, m, g (binary).
  int64_t mult = 1;
  char last = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
  if (last == 'k' || last == 'm' || last == 'g') {
    mult = last == 'k' ? 1024 : last == 'm' ? 1024 * 1024 : 1024LL * 1024 * 1024;
    s.pop_back();
  }
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0')
    return InvalidArgument("expected an integer, got '" + v + "'");
  if (n != 0 && (n > std::numeric_limits<int64_t>::max() / mult ||
                 n < std::numeric_limits<int64_t>::min() / mult)) {
    return InvalidArgument("'" + v + "' is out of range");
  }
  n *= mult;
  if (n < lo || n > hi) {
    return InvalidArgument("'" + v + "' is out of range [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "]");
  }
  *out = n;
  return Status::Ok();
}

// Builders for the three value kinds.
template <typename Getter>
Setting Int(const char* name, const char* flag, const char* help, int64_t lo, int64_t hi,
            Getter field) {
  return Setting{name, flag, help,
                 [=](Config& c, const std::string& v) -> Status {
                   int64_t n = 0;
                   SIGIL_RETURN_IF_ERROR(ParseInt64(v, lo, hi, &n));
                   auto& f = field(c);
                   f = static_cast<std::remove_reference_t<decltype(f)>>(n);
                   return Status::Ok();
                 },
                 [=](const Config& c) { return std::to_string(field(const_cast<Config&>(c))); }};
}

template <typename Getter>
Setting Str(const char* name, const char* flag, const char* help, Getter field) {
  return Setting{name, flag, help,
                 [=](Config& c, const std::string& v) -> Status {
                   field(c) = Trim(v);
                   return Status::Ok();
                 },
                 [=](const Config& c) { return field(const_cast<Config&>(c)); }};
}

template <typename Getter>
Setting Bool(const char* name, const char* flag, const char* help, Getter field) {
  return Setting{name, flag, help,
                 [=](Config& c, const std::string& v) -> Status {
                   std::string s = Trim(v);
                   for (char& ch : s)
                     ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                   if (s == "1" || s == "true" || s == "yes" || s == "on") {
                     field(c) = true;
                   } else if (s == "0" || s == "false" || s == "no" || s == "off") {
                     field(c) = false;
                   } else {
                     return InvalidArgument("expected true or false, got '" + v + "'");
                   }
                   return Status::Ok();
                 },
                 [=](const Config& c) {
                   return std::string(field(const_cast<Config&>(c)) ? "true" : "false");
                 }};
}

template <typename Getter>
Setting List(const char* name, const char* flag, const char* help, Getter field) {
  return Setting{name, flag, help,
                 [=](Config& c, const std::string& v) -> Status {
                   std::vector<std::string> out;
                   std::stringstream ss(v);
                   std::string item;
                   while (std::getline(ss, item, ',')) {
                     item = Trim(item);
                     if (!item.empty()) out.push_back(item);
                   }
                   field(c) = std::move(out);
                   return Status::Ok();
                 },
                 [=](const Config& c) {
                   std::string s;
                   for (const auto& x : field(const_cast<Config&>(c)))
                     s += (s.empty() ? "" : ",") + x;
                   return s;
                 }};
}

Setting Double(const char* name, const char* flag, const char* help, double lo, double hi,
               std::function<double&(Config&)> field) {
  return Setting{name, flag, help,
                 [=](Config& c, const std::string& v) -> Status {
                   std::string s = Trim(v);
                   char* end = nullptr;
                   errno = 0;
                   double d = std::strtod(s.c_str(), &end);
                   if (s.empty() || errno != 0 || *end != '\0')
                     return InvalidArgument("expected a number, got '" + v + "'");
                   if (d < lo || d > hi) return InvalidArgument("'" + v + "' is out of range");
                   field(c) = d;
                   return Status::Ok();
                 },
                 [=](const Config& c) { return std::to_string(field(const_cast<Config&>(c))); }};
}

constexpr int64_t kMaxI = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxU = std::numeric_limits<int64_t>::max();

#define F(path) \
  [](Config & c) -> auto& { return c.path; }

const std::vector<Setting>& Table() {
  static const std::vector<Setting> table = {
      Str("server.listen", "listen", "host:port to listen on; port 0 picks a free port",
          F(server.listen)),
      Int("server.io_threads", "io-threads", "io threads (0 = one per core)", 0, 256,
          F(server.io_threads)),
      Int("server.worker_threads", "worker-threads",
          "worker threads for blocking work (0 = 2 per core)", 0, 1024, F(server.worker_threads)),
      Int("server.worker_queue", "worker-queue",
          "tasks that may wait for a worker; beyond that 503", 1, 1000000, F(server.worker_queue)),
      Int("server.max_connections", "max-connections", "concurrent connections", 1, 1000000,
          F(server.max_connections)),
      Int("server.max_header_bytes", "max-header-bytes",
          "request line + headers limit (431 beyond)", 1024, 1 << 20, F(server.max_header_bytes)),
      Int("server.max_body_bytes", "max-body-bytes", "default request body limit (413 beyond)", 0,
          kMaxU, F(server.max_body_bytes)),
      Int("server.max_upload_bytes", "max-upload-bytes", "upload request body limit", 0, kMaxU,
          F(server.max_upload_bytes)),
      Int("server.spool_threshold_bytes", "spool-threshold-bytes",
          "bodies over this go to a temp file", 0, kMaxU, F(server.spool_threshold_bytes)),
      Int("server.read_timeout_ms", "read-timeout-ms", "a request must be read within this", 1,
          kMaxI, F(server.read_timeout_ms)),
      Int("server.idle_timeout_ms", "idle-timeout-ms",
          "idle keep-alive connections are closed after this", 1, kMaxI, F(server.idle_timeout_ms)),
      Int("server.shutdown_timeout_ms", "shutdown-timeout-ms",
          "grace period for in-flight requests on SIGTERM", 0, kMaxI,
          F(server.shutdown_timeout_ms)),
      Bool("server.access_log", "access-log", "one JSON line per request on stderr",
           F(server.access_log)),
      Str("server.log_level", "log-level", "trace, debug, info, warn, error", F(server.log_level)),

      Str("storage.data_dir", "data-dir", "directory for embedded storage, database and caches",
          F(storage.data_dir)),
      Str("storage.storage_url", "storage",
          "object store URL (default file://<data_dir>/symbols; s3://bucket/prefix?...)",
          F(storage.storage_url)),
      Str("storage.database_url", "database",
          "database URL (default sqlite://<data_dir>/sigil.db; postgresql://...)",
          F(storage.database_url)),
      Str("storage.cache_url", "cache",
          "cache URL: memory://, redis://host:port/db, memcached://host:port, "
          "redis+unix:///path, memcached+unix:///path",
          F(storage.cache_url)),
      Int("storage.memory_cache_bytes", "memory-cache-bytes", "byte budget of the in-process cache",
          0, kMaxU, F(storage.memory_cache_bytes)),
      Str("storage.tmp_dir", "tmp-dir", "temp files (default <data_dir>/tmp)", F(storage.tmp_dir)),
      Bool("storage.fs_direct_writes", "fs-direct-writes",
           "file:// store: write uploaded objects with O_DIRECT where the filesystem accepts it "
           "(false: buffered writes)",
           F(storage.fs_direct_writes)),

      List("upload.compress_extensions", "compress-extensions",
           "file extensions stored gzip-compressed", F(upload.compress_extensions)),
      List("upload.disallowed_snippets", "disallowed-snippets",
           "member name snippets that reject an archive", F(upload.disallowed_snippets)),
      List("upload.allowed_url_hosts", "allowed-url-hosts", "hosts upload-by-URL may download from",
           F(upload.allowed_url_hosts)),
      Bool("upload.allow_http_urls", "allow-http-urls",
           "permit http:// download URLs (testing only)", F(upload.allow_http_urls)),
      Int("upload.compression_level", "compression-level", "ISA-L gzip level 0..3", 0, 3,
          F(upload.compression_level)),
      Int("upload.max_archive_bytes", "max-archive-bytes", "largest accepted archive", 1, kMaxU,
          F(upload.max_archive_bytes)),
      Int("upload.max_members", "max-members", "most members in one archive", 1, kMaxU,
          F(upload.max_members)),
      Int("upload.max_total_uncompressed_bytes", "max-total-uncompressed-bytes",
          "sum of member sizes limit", 1, kMaxU, F(upload.max_total_uncompressed_bytes)),
      Int("upload.max_member_bytes", "max-member-bytes", "largest accepted member (uncompressed)",
          1, kMaxU, F(upload.max_member_bytes)),
      Double("upload.max_compression_ratio", "max-compression-ratio",
             "members inflating more are zip bombs", 1.0, 1e9, F(upload.max_compression_ratio)),
      Int("upload.url_timeout_ms", "url-timeout-ms", "upload-by-URL download timeout", 1, kMaxI,
          F(upload.url_timeout_ms)),
      Int("upload.url_max_redirects", "url-max-redirects", "redirects followed by upload-by-URL", 0,
          50, F(upload.url_max_redirects)),
      Int("upload.url_retries", "url-retries", "retries of upload-by-URL on 429/5xx", 0, 20,
          F(upload.url_retries)),

      List("download.allowed_extensions", "allowed-extensions",
           "symbol file suffixes served; others are ignored", F(download.allowed_extensions)),
      Int("download.exists_ttl_s", "exists-ttl-s", "memoized existence hits live this long", 1,
          kMaxI, F(download.exists_ttl_s)),
      Int("download.miss_ttl_s", "miss-ttl-s", "memoized existence misses live this long", 1, kMaxI,
          F(download.miss_ttl_s)),
      Int("download.codeid_ttl_s", "codeid-ttl-s", "memoized code-id lookups live this long", 1,
          kMaxI, F(download.codeid_ttl_s)),
      Int("download.missing_flush_ms", "missing-flush-ms",
          "flush interval of coalesced missing-symbol counts", 10, 60000,
          F(download.missing_flush_ms)),
      Int("download.presign_expiry_s", "presign-expiry-s",
          "presigned S3 URL lifetime (0 = proxy the bytes)", 0, 7 * 86400,
          F(download.presign_expiry_s)),
      Int("download.open_files", "open-files",
          "local storage: descriptors of served objects kept open (0 = off)", 0, 65536,
          F(download.open_files)),
      Int("download.open_file_ttl_s", "open-file-ttl-s",
          "a kept-open descriptor is reopened after this long", 1, 86400,
          F(download.open_file_ttl_s)),

      List("symbolication.upstream_urls", "upstream-urls", "symbol servers tried after own storage",
           F(symbolication.upstream_urls)),
      Str("symbolication.index_dir", "index-dir",
          "on-disk symbol index cache (default <data_dir>/index-cache)",
          F(symbolication.index_dir)),
      Int("symbolication.index_disk_bytes", "index-disk-bytes", "on-disk index cache budget", 0,
          kMaxU, F(symbolication.index_disk_bytes)),
      Int("symbolication.index_memory_bytes", "index-memory-bytes", "mapped index budget", 0, kMaxU,
          F(symbolication.index_memory_bytes)),
      Int("symbolication.max_jobs", "max-jobs", "jobs per symbolication request", 1, 1000,
          F(symbolication.max_jobs)),
      Int("symbolication.max_frames", "max-frames", "frames per symbolication request", 1, 10000000,
          F(symbolication.max_frames)),
      Int("symbolication.max_sym_bytes", "max-sym-bytes", "largest .sym file symbolication reads",
          1, kMaxU, F(symbolication.max_sym_bytes)),
      Int("symbolication.negative_ttl_s", "negative-ttl-s", "remember missing modules this long", 0,
          kMaxI, F(symbolication.negative_ttl_s)),
      Int("symbolication.upstream_timeout_ms", "upstream-timeout-ms",
          "upstream symbol server timeout", 1, kMaxI, F(symbolication.upstream_timeout_ms)),
      Int("symbolication.upstream_retries", "upstream-retries", "retries on upstream 429/5xx", 0,
          20, F(symbolication.upstream_retries)),

      Int("auth.default_token_days", "default-token-days", "lifetime of new tokens", 1, 36500,
          F(auth.default_token_days)),
  };
  return table;
}

#undef F

const Setting* Find(const std::string& name) {
  for (const auto& s : Table()) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

std::string EnvName(const Setting& s) {
  std::string e = "SIGIL_";
  for (const char* p = s.flag; *p; ++p) e += *p == '-' ? '_' : static_cast<char>(std::toupper(*p));
  return e;
}

std::string TomlValueToString(const toml::node& node) {
  if (auto v = node.as_string()) return v->get();
  if (auto v = node.as_integer()) return std::to_string(v->get());
  if (auto v = node.as_floating_point()) return std::to_string(v->get());
  if (auto v = node.as_boolean()) return v->get() ? "true" : "false";
  if (auto arr = node.as_array()) {
    std::string out;
    for (const auto& el : *arr) out += (out.empty() ? "" : ",") + TomlValueToString(el);
    return out;
  }
  return {};
}

Status ApplyToml(Config& config, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config file " << path << ": " << e.description() << " (line " << e.source().begin.line
        << ")";
    return InvalidArgument(msg.str());
  }
  Status result;
  // Flatten to dotted keys: [server] listen = .. → server.listen; also accepts top-level flag
  // names.
  std::function<void(const toml::table&, const std::string&)> walk =
      [&](const toml::table& t, const std::string& prefix) {
        for (const auto& [k, v] : t) {
          if (!result.ok()) return;
          std::string key =
              prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
          if (v.is_table()) {
            walk(*v.as_table(), key);
            continue;
          }
          const Setting* s = Find(key);
          if (s == nullptr) {
            for (const auto& cand : Table()) {
              if (key == cand.flag) s = &cand;
            }
          }
          if (s == nullptr) {
            result = InvalidArgument("config file " + path + ": unknown setting '" + key + "'");
            return;
          }
          if (v.is_array_of_tables() || (!v.is_value() && !v.is_array())) {
            result = InvalidArgument(std::string(s->name) + ": unsupported value type in " + path);
            return;
          }
          Status st = s->set(config, TomlValueToString(v));
          if (!st.ok()) result = InvalidArgument(std::string(s->name) + ": " + st.message());
        }
      };
  walk(root, "");
  return result;
}

bool ParseHostPort(const std::string& s, std::string* host, int* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  std::string h = s.substr(0, colon);
  if (h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string p = s.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos)
    return false;
  int n = std::atoi(p.c_str());
  if (n > 65535) return false;
  *host = h;
  *port = n;
  return true;
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos || at < scheme) return url;
  size_t slash = url.find('/', scheme + 3);
  if (slash != std::string::npos && slash < at) return url;
  return url.substr(0, scheme + 3) + "***@" + url.substr(at + 1);
}

std::string Config::EffectiveStorageUrl() const {
  return storage.storage_url.empty() ? "file://" + storage.data_dir + "/symbols"
                                     : storage.storage_url;
}
std::string Config::EffectiveDatabaseUrl() const {
  return storage.database_url.empty() ? "sqlite://" + storage.data_dir + "/sigil.db"
                                      : storage.database_url;
}
std::string Config::EffectiveTmpDir() const {
  return storage.tmp_dir.empty() ? storage.data_dir + "/tmp" : storage.tmp_dir;
}
std::string Config::EffectiveIndexDir() const {
  return symbolication.index_dir.empty() ? storage.data_dir + "/index-cache"
                                         : symbolication.index_dir;
}

Status Config::Validate() const {
  std::string host;
  int port = 0;
  if (!ParseHostPort(server.listen, &host, &port)) {
    return InvalidArgument("server.listen: '" + server.listen +
                           "' is not host:port (e.g. 127.0.0.1:8000)");
  }
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || server.log_level == l;
  if (!level_ok)
    return InvalidArgument("server.log_level: '" + server.log_level +
                           "' is not one of trace, debug, info, warn, error");
  if (storage.data_dir.empty()) return InvalidArgument("storage.data_dir: must not be empty");
  auto scheme_ok = [](const std::string& url, std::initializer_list<const char*> schemes) {
    for (const char* s : schemes) {
      if (url.rfind(s, 0) == 0) return true;
    }
    return false;
  };
  if (!scheme_ok(EffectiveStorageUrl(), {"file://", "s3://"})) {
    return InvalidArgument("storage.storage_url: '" + RedactUrl(storage.storage_url) +
                           "' must start with file:// or s3://");
  }
  if (!scheme_ok(EffectiveDatabaseUrl(), {"sqlite://", "postgresql://", "postgres://"})) {
    return InvalidArgument("storage.database_url: '" + RedactUrl(storage.database_url) +
                           "' must start with sqlite://, postgresql:// or postgres://");
  }
  if (!scheme_ok(storage.cache_url,
                 {"memory://", "redis://", "redis+unix://", "memcached://", "memcached+unix://"})) {
    return InvalidArgument(
        "storage.cache_url: '" + RedactUrl(storage.cache_url) +
        "' must start with memory://, redis://, redis+unix://, memcached:// or memcached+unix://");
  }
  if (server.spool_threshold_bytes > server.max_upload_bytes) {
    return InvalidArgument("server.spool_threshold_bytes: larger than server.max_upload_bytes");
  }
  for (const auto& ext : download.allowed_extensions) {
    if (ext.empty() || ext[0] != '.') {
      return InvalidArgument("download.allowed_extensions: '" + ext + "' must start with '.'");
    }
  }
  for (const auto& u : symbolication.upstream_urls) {
    if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) {
      return InvalidArgument("symbolication.upstream_urls: '" + u + "' must be an http(s) URL");
    }
  }
  return Status::Ok();
}

std::vector<SettingInfo> ListSettings() {
  Config defaults;
  std::vector<SettingInfo> out;
  for (const auto& s : Table()) {
    out.push_back(
        SettingInfo{s.name, std::string("--") + s.flag, EnvName(s), s.help, s.get(defaults)});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> DescribeConfig(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : Table()) out.emplace_back(s.name, s.get(config));
  return out;
}

Status ApplySetting(Config& config, const std::string& name, const std::string& value) {
  const Setting* s = Find(name);
  if (s == nullptr) {
    for (const auto& cand : Table()) {
      if (name == cand.flag) s = &cand;
    }
  }
  if (s == nullptr) return InvalidArgument("unknown setting '" + name + "'");
  Status st = s->set(config, value);
  if (!st.ok()) return InvalidArgument(std::string(s->name) + ": " + st.message());
  return Status::Ok();
}

Result<Config> LoadConfig(const std::string& config_file, char** env,
                          const std::vector<std::pair<std::string, std::string>>& flags) {
  Config config;
  if (!config_file.empty()) SIGIL_RETURN_IF_ERROR(ApplyToml(config, config_file));
  if (env != nullptr) {
    std::map<std::string, std::string> vars;
    for (char** e = env; *e != nullptr; ++e) {
      const char* eq = std::strchr(*e, '=');
      if (eq == nullptr || std::strncmp(*e, "SIGIL_", 6) != 0) continue;
      vars.emplace(std::string(*e, static_cast<size_t>(eq - *e)), std::string(eq + 1));
    }
    for (const auto& s : Table()) {
      auto it = vars.find(EnvName(s));
      if (it == vars.end()) continue;
      Status st = s.set(config, it->second);
      if (!st.ok())
        return InvalidArgument(std::string(s.name) + " (" + it->first + "): " + st.message());
    }
  }
  for (const auto& [name, value] : flags) SIGIL_RETURN_IF_ERROR(ApplySetting(config, name, value));
  SIGIL_RETURN_IF_ERROR(config.Validate());
  return config;
}

}  // namespace sigil
