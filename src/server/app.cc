#include "server/app.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <thread>

#include "api/auth_handlers.h"
#include "api/download_handlers.h"
#include "api/error_mapping.h"
#include "api/missing_symbols_handlers.h"
#include "api/ops_handlers.h"
#include "api/symbolicate_handlers.h"
#include "api/upload_handlers.h"
#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "common/metrics.h"
#include "common/worker_pool.h"
#include "download/download_service.h"
#include "http/server.h"
#include "server/backends.h"
#include "symbolication/symbolication_service.h"
#include "upload/upload_service.h"

namespace sigil::server {

// Declaration order is destruction order in reverse: the server goes first, then services, then the
// pool, then backends.
struct App::Parts {
  Config config;
  Backends backends;
  Metrics metrics;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<upload::UploadService> upload;
  std::unique_ptr<download::DownloadService> download;
  std::unique_ptr<symbolication::SymbolicationService> symbolication;
  std::unique_ptr<http::Server> server;
  bool stopped = false;
};

App::App(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

App::~App() { Shutdown(); }

Result<std::unique_ptr<App>> App::Create(const Config& config) {
  auto p = std::make_unique<Parts>();
  p->config = config;
  const Config& c = p->config;

  std::error_code ec;
  for (const std::string& dir : {c.EffectiveTmpDir(), c.EffectiveIndexDir()}) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return InvalidArgument("cannot create directory '" + dir + "': " + ec.message());
  }

  SIGIL_ASSIGN_OR_RETURN(p->backends, OpenBackends(c));
  Status migrated = p->backends.database->Migrate();
  if (!migrated.ok()) return migrated.WithContext("migrating the database");

  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  size_t workers =
      c.server.worker_threads > 0 ? static_cast<size_t>(c.server.worker_threads) : 2 * cores;
  p->pool = std::make_unique<WorkerPool>(workers, static_cast<size_t>(c.server.worker_queue),
                                         "sigil-work");

  storage::ObjectStore& store = *p->backends.store;
  db::Database& database = *p->backends.database;
  cache::Cache& cache = *p->backends.cache;
  InvalidationBus& bus = *p->backends.bus;

  auth::AuthenticatorOptions auth_options;
  auth_options.error_response = [](const Status& s) { return api::ErrorResponse(s, "auth"); };
  p->authenticator = std::make_unique<auth::Authenticator>(database, auth_options);
  p->upload = std::make_unique<upload::UploadService>(c.upload, store, database, *p->pool, bus,
                                                      c.EffectiveTmpDir());
  p->download = std::make_unique<download::DownloadService>(c.download, store, database, cache, bus,
                                                            *p->pool);
  p->symbolication = std::make_unique<symbolication::SymbolicationService>(
      c.symbolication, store, *p->pool, bus, c.EffectiveIndexDir());

  http::RouteTable routes;
  std::vector<api::HealthCheck> checks = {
      {"database", [&database] { return database.Ping(); }, true},
      {"storage", [&store] { return store.Ping(); }, true},
      // A cache outage degrades to no caching: a warning, not an error.
      {"cache", [&cache] { return cache.Ping(); }, false},
  };
  api::RegisterOpsRoutes(routes, std::move(checks), api::BuildVersionInfo(), &p->metrics);
  api::RegisterAuthRoutes(routes, *p->authenticator);
  api::RegisterUploadRoutes(routes, *p->upload,
                            p->authenticator->Hook({"upload_symbols", "upload_try_symbols"}),
                            c.server.max_upload_bytes);
  api::RegisterSymbolicationRoutes(routes, *p->symbolication);
  api::RegisterMissingSymbolsRoutes(routes, *p->download);
  api::RegisterDownloadRoutes(routes, *p->download);

  p->server =
      std::make_unique<http::Server>(http::ServerOptionsFromConfig(c.server, c.EffectiveTmpDir()),
                                     std::move(routes), *p->pool, &p->metrics);
  return std::unique_ptr<App>(new App(std::move(p)));
}

namespace {

// Every connection, kept-open symbol file, index mapping and spool file is a descriptor; the usual
// soft limit (1024) is far below max_connections. Like nginx's worker_rlimit_nofile, raise the soft
// limit to the hard one, and say so when even that cannot hold the configured load.
void RaiseOpenFileLimit(const Config& config) {
  struct rlimit lim {};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) lim.rlim_cur = before;
  }
  const uint64_t wanted = static_cast<uint64_t>(std::max(config.server.max_connections, 0)) +
                          static_cast<uint64_t>(std::max(config.download.open_files, 0)) + 256;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
    spdlog::warn(
        "open file limit is {} but server.max_connections + download.open_files need about {}; "
        "raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower max_connections",
        static_cast<uint64_t>(lim.rlim_cur), wanted);
  }
}

}  // namespace

Status App::Start() {
  RaiseOpenFileLimit(parts_->config);
  return parts_->server->Start();
}

std::string App::address() const { return parts_->server->address(); }

Result<std::string> App::EnsureAdminToken() {
  SIGIL_ASSIGN_OR_RETURN(auto tokens, parts_->backends.database->ListTokens());
  if (!tokens.empty()) return std::string();
  auth::TokenService service(*parts_->backends.database, parts_->authenticator.get());
  SIGIL_ASSIGN_OR_RETURN(auto created, service.CreateToken("admin@localhost", {"admin"},
                                                           parts_->config.auth.default_token_days,
                                                           "created on first start"));
  return created.key;
}

void App::Shutdown() {
  if (!parts_ || parts_->stopped) return;
  parts_->stopped = true;
  auto grace = std::chrono::milliseconds(parts_->config.server.shutdown_timeout_ms);
  parts_->server->Shutdown(grace);
  parts_->server->Wait();
  // No request is in flight any more: finish queued work, then flush buffered missing-symbol
  // counts.
  parts_->pool->Shutdown();
  Status flushed = parts_->download->missing_symbols().Flush();
  if (!flushed.ok())
    spdlog::error("flushing missing-symbol counts on shutdown: {}", flushed.ToString());
}

}  // namespace sigil::server
