// The Auth-Token hook and POST /upload/auth_info/ over real sockets: the server runs the hook
// before the body, answers the spec's 403 JSON, and the route answers what upload clients read.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "api/auth_handlers.h"
#include "auth/authenticator.h"
#include "auth/token_service.h"
#include "db/sqlite/sqlite_database.h"
#include "support/http_client.h"
#include "support/temp_dir.h"
#include "support/test_server.h"

namespace sigil {
namespace {

class AuthApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<db::Database>> db = db::sqlite::OpenSqliteDatabase(dir_.Join("s.db"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->Migrate().ok());
    authenticator_ = std::make_unique<auth::Authenticator>(*db_);
    http::RouteTable routes;
    api::RegisterAuthRoutes(routes, *authenticator_);
    // A route needing upload permission, to see the hook's Forbidden through the server.
    routes.Add(
        {"POST"}, "/needs-upload/",
        [](http::Request& request, http::Responder done) {
          done(http::Response::Text(200, request.principal->email));
        },
        http::RouteOptions{.authenticate = authenticator_->Hook({"upload_symbols"})});
    server_ = std::make_unique<test::TestServer>(std::move(routes));
    client_ = std::make_unique<test::HttpClient>(server_->base_url());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
  }

  std::string ErrorOf(const test::HttpResponse& r) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("error"))
      return "<not json: " + r.body + ">";
    return std::string(v.at("error").as_string());
  }

  test::TempDir dir_{"sigil-auth-it"};
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<test::TestServer> server_;
  std::unique_ptr<test::HttpClient> client_;
};

TEST_F(AuthApiTest, AuthInfoOverHttp) {
  auto token =
      auth::TokenService(*db_).CreateToken("ci@example.com", {"upload_try_symbols"}, 7, "ci");
  ASSERT_TRUE(token.ok());
  test::HttpResponse r =
      client_->Post("/upload/auth_info/", "", {{"Auth-Token", token->key + "-ci"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  boost::json::object body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body.at("email").as_string(), "ci@example.com");
  EXPECT_EQ(body.at("user_id").as_int64(), token->user.id);
  EXPECT_TRUE(body.at("try_symbols").as_bool());
  EXPECT_EQ(body.at("token_expires_at").as_int64(), token->token.expires_at / 1'000'000);
  EXPECT_EQ(body.at("upload_api_version").as_int64(), 1);

  // Wrong method: the router's 405.
  EXPECT_EQ(client_->Get("/upload/auth_info/", {{"Auth-Token", token->key}}).status, 405);
}

TEST_F(AuthApiTest, RejectionsAreSpec403Json) {
  auto token = auth::TokenService(*db_).CreateToken("t@example.com", {"upload_try_symbols"}, 7, "");
  ASSERT_TRUE(token.ok());
  test::HttpResponse r = client_->Post("/upload/auth_info/", "");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorOf(r), "This requires an Auth-Token to authenticate the request");
  r = client_->Post("/upload/auth_info/", "", {{"Auth-Token", std::string(64, '0')}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorOf(r), "API Token not matched");
  // Rejected before the body: a large body is not needed to get the answer.
  r = client_->Post("/needs-upload/", std::string(1 << 20, 'x'), {{"Auth-Token", token->key}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorOf(r), "Forbidden");
  // The connection is still usable afterwards.
  r = client_->Post("/upload/auth_info/", "", {{"Auth-Token", token->key}});
  EXPECT_EQ(r.status, 200);

  ASSERT_TRUE(db_->SetUserActive(token->user.id, false).ok());
  authenticator_->ClearCache();
  r = client_->Post("/upload/auth_info/", "", {{"Auth-Token", token->key}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorOf(r), "API Token matched but user not active");
}

TEST_F(AuthApiTest, ConcurrentClientsShareTheCache) {
  auto token = auth::TokenService(*db_).CreateToken("c@example.com", {"upload_symbols"}, 7, "");
  ASSERT_TRUE(token.ok());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      test::HttpClient client(server_->base_url());
      for (int i = 0; i < 25; ++i) {
        test::HttpResponse r = client.Post("/needs-upload/", "x", {{"Auth-Token", token->key}});
        if (r.status == 200 && r.body == "c@example.com") ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(authenticator_->cache_size(), 1u);
}

}  // namespace
}  // namespace sigil
