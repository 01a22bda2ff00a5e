// Operations endpoints: GET /__lbheartbeat__, /__heartbeat__, /__version__, /metrics.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/route.h"

namespace sigil {
class Metrics;
}

namespace sigil::api {

struct HealthCheck {
  std::string name;               // "database", "storage", "cache"
  std::function<Status()> check;  // blocking; runs on the worker pool
  bool critical = true;  // a failing critical check → "error" + 500; else "warning" + 200
};

struct VersionInfo {
  std::string version;
  std::string commit;
  std::string build_time;
  std::string source = "https://github.com/sigil-symbols/sigil";
};

// Runs every check and builds {"status": "ok|warning|error", "checks": {name: "ok|warning|error"},
// "details": {name: message}}. Returns the HTTP status (200 or 500) in *http_status.
std::string RunHealthChecks(const std::vector<HealthCheck>& checks, int* http_status);

// `metrics` may be null (then /metrics is not registered). Borrowed; must outlive the server.
void RegisterOpsRoutes(http::RouteTable& routes, std::vector<HealthCheck> checks,
                       VersionInfo version, Metrics* metrics);

// The version of this build (from CMake: project version, git commit, build time).
VersionInfo BuildVersionInfo();

}  // namespace sigil::api
