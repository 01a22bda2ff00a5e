#include "api/ops_handlers.h"

#include <boost/json.hpp>

#include "common/metrics.h"

#ifndef SIGIL_VERSION
#define SIGIL_VERSION "unknown"
#endif
#ifndef SIGIL_GIT_COMMIT
#define SIGIL_GIT_COMMIT "unknown"
#endif
#ifndef SIGIL_BUILD_TIME
#define SIGIL_BUILD_TIME "unknown"
#endif

namespace sigil::api {

std::string RunHealthChecks(const std::vector<HealthCheck>& checks, int* http_status) {
  boost::json::object status_by_check;
  boost::json::object details;
  bool error = false;
  bool warning = false;
  for (const auto& c : checks) {
    Status s = c.check ? c.check() : Internal("no check function");
    if (s.ok()) {
      status_by_check[c.name] = "ok";
      continue;
    }
    const char* level = c.critical ? "error" : "warning";
    status_by_check[c.name] = level;
    details[c.name] = s.message();
    (c.critical ? error : warning) = true;
  }
  boost::json::object body;
  body["status"] = error ? "error" : warning ? "warning" : "ok";
  body["checks"] = std::move(status_by_check);
  body["details"] = std::move(details);
  *http_status = error ? 500 : 200;
  return boost::json::serialize(body);
}

VersionInfo BuildVersionInfo() {
  return VersionInfo{SIGIL_VERSION, SIGIL_GIT_COMMIT, SIGIL_BUILD_TIME};
}

void RegisterOpsRoutes(http::RouteTable& routes, std::vector<HealthCheck> checks,
                       VersionInfo version, Metrics* metrics) {
  http::RouteOptions inline_route;
  inline_route.inline_handler = true;

  inline_route.name = "lbheartbeat";
  routes.Add(
      {"GET", "HEAD"}, "/__lbheartbeat__",
      [](http::Request&, http::Responder respond) { respond(http::Response::Json(200, "{}")); },
      inline_route);

  http::RouteOptions pooled;
  pooled.name = "heartbeat";
  routes.Add(
      {"GET", "HEAD"}, "/__heartbeat__",
      [checks = std::move(checks)](http::Request&, http::Responder respond) {
        int code = 200;
        std::string body = RunHealthChecks(checks, &code);
        respond(http::Response::Json(code, std::move(body)));
      },
      pooled);

  boost::json::object v;
  v["version"] = version.version;
  v["commit"] = version.commit;
  v["build_time"] = version.build_time;
  v["source"] = version.source;
  inline_route.name = "version";
  routes.Add(
      {"GET", "HEAD"}, "/__version__",
      [body = boost::json::serialize(v)](http::Request&, http::Responder respond) {
        respond(http::Response::Json(200, body));
      },
      inline_route);

  if (metrics != nullptr) {
    inline_route.name = "metrics";
    routes.Add(
        {"GET"}, "/metrics",
        [metrics](http::Request&, http::Responder respond) {
          respond(http::Response::Text(200, metrics->RenderPrometheus(),
                                       "text/plain; version=0.0.4; charset=utf-8"));
        },
        inline_route);
  }
}

}  // namespace sigil::api
