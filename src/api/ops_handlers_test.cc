#include "api/ops_handlers.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace sigil::api {
namespace {

TEST(HealthChecksTest, AllOk) {
  int code = 0;
  auto body = boost::json::parse(RunHealthChecks({{"database", [] { return Status::Ok(); }, true},
                                                  {"cache", [] { return Status::Ok(); }, false}},
                                                 &code));
  EXPECT_EQ(code, 200);
  EXPECT_EQ(body.at("status"), "ok");
  EXPECT_EQ(body.at("checks").at("database"), "ok");
  EXPECT_TRUE(body.at("details").as_object().empty());
}

TEST(HealthChecksTest, NonCriticalFailureIsAWarning) {
  int code = 0;
  auto body = boost::json::parse(RunHealthChecks(
      {{"database", [] { return Status::Ok(); }, true},
       {"cache", [] { return Unavailable("redis at 127.0.0.1:1 refused the connection"); }, false}},
      &code));
  EXPECT_EQ(code, 200);
  EXPECT_EQ(body.at("status"), "warning");
  EXPECT_EQ(body.at("checks").at("cache"), "warning");
  EXPECT_EQ(body.at("details").at("cache"), "redis at 127.0.0.1:1 refused the connection");
}

TEST(HealthChecksTest, CriticalFailureIsAnError) {
  int code = 0;
  auto body = boost::json::parse(
      RunHealthChecks({{"storage", [] { return Unavailable("not writable"); }, true},
                       {"cache", [] { return Unavailable("down"); }, false}},
                      &code));
  EXPECT_EQ(code, 500);
  EXPECT_EQ(body.at("status"), "error");
  EXPECT_EQ(body.at("checks").at("storage"), "error");
}

TEST(OpsRoutesTest, RegistersTheOperationsEndpoints) {
  http::RouteTable routes;
  RegisterOpsRoutes(routes, {}, BuildVersionInfo(), nullptr);
  std::vector<std::string> patterns;
  for (const auto& r : routes.routes()) patterns.push_back(r.pattern);
  EXPECT_EQ(patterns,
            (std::vector<std::string>{"/__lbheartbeat__", "/__heartbeat__", "/__version__"}));
  http::Request req;
  http::Response got;
  routes.routes()[2].handler(req, [&](http::Response r) { got = std::move(r); });
  auto v = boost::json::parse(got.body);
  EXPECT_EQ(v.at("version"), "0.1.0");
  EXPECT_FALSE(v.at("commit").as_string().empty());
}

}  // namespace
}  // namespace sigil::api
