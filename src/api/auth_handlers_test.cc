#include "api/auth_handlers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "auth/token_service.h"
#include "db/sqlite/sqlite_database.h"

namespace sigil::api {
namespace {

class AuthInfoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<db::Database>> db = db::sqlite::OpenSqliteDatabase(":memory:");
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->Migrate().ok());
    authenticator_ = std::make_unique<auth::Authenticator>(*db_);
    RegisterAuthRoutes(routes_, *authenticator_);
    ASSERT_EQ(routes_.routes().size(), 1u);
  }

  // Runs the route (hook, then handler) for a request with `token` as Auth-Token.
  http::Response Call(std::optional<std::string> token) {
    const http::Route& route = routes_.routes()[0];
    http::Request request;
    request.method = "POST";
    request.path = "/upload/auth_info/";
    if (token) request.headers.Add("Auth-Token", *token);
    if (std::optional<http::Response> rejected = route.options.authenticate(request)) {
      return std::move(*rejected);
    }
    std::optional<http::Response> response;
    route.handler(request, [&](http::Response r) { response = std::move(r); });
    EXPECT_TRUE(response.has_value()) << "the handler did not respond";
    return response ? std::move(*response) : http::Response{};
  }

  auth::CreatedToken Create(const std::string& email, std::vector<std::string> permissions) {
    Result<auth::CreatedToken> created =
        auth::TokenService(*db_).CreateToken(email, permissions, 10, "");
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : auth::CreatedToken{};
  }

  std::unique_ptr<db::Database> db_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  http::RouteTable routes_;
};

TEST_F(AuthInfoTest, RouteShape) {
  const http::Route& route = routes_.routes()[0];
  EXPECT_EQ(route.pattern, "/upload/auth_info/");
  EXPECT_EQ(route.methods, std::vector<std::string>{"POST"});
  EXPECT_TRUE(route.options.authenticate != nullptr);
  ASSERT_TRUE(route.options.max_body_bytes.has_value());
  EXPECT_LE(*route.options.max_body_bytes, 1u << 20);
}

TEST_F(AuthInfoTest, DescribesTheToken) {
  auth::CreatedToken token = Create("ci@example.com", {"upload_symbols", "upload_try_symbols"});
  http::Response response = Call(token.key + "-ci-linux");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.headers.Get("Content-Type"), "application/json");
  boost::json::object body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.size(), 5u);
  EXPECT_EQ(body.at("email").as_string(), "ci@example.com");
  EXPECT_EQ(body.at("user_id").as_int64(), token.user.id);
  EXPECT_EQ(body.at("try_symbols").as_bool(), false);
  EXPECT_EQ(body.at("token_expires_at").as_int64(), token.token.expires_at / 1'000'000);
  EXPECT_EQ(body.at("upload_api_version").as_int64(), 1);
}

TEST_F(AuthInfoTest, TryOnlyTokensUploadToTry) {
  auth::CreatedToken try_only = Create("try@example.com", {"upload_try_symbols"});
  EXPECT_EQ(boost::json::parse(Call(try_only.key).body).at("try_symbols").as_bool(), true);
  auth::CreatedToken admin = Create("admin@example.com", {"admin"});
  EXPECT_EQ(boost::json::parse(Call(admin.key).body).at("try_symbols").as_bool(), false);
  // No upload permission at all: not a try uploader either.
  auth::CreatedToken viewer = Create("view@example.com", {"view_all_uploads"});
  http::Response response = Call(viewer.key);
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(boost::json::parse(response.body).at("try_symbols").as_bool(), false);
}

TEST_F(AuthInfoTest, RejectsMissingAndUnknownTokens) {
  http::Response missing = Call(std::nullopt);
  EXPECT_EQ(missing.status, 403);
  EXPECT_EQ(boost::json::parse(missing.body).at("error").as_string(),
            "This requires an Auth-Token to authenticate the request");
  http::Response unknown = Call(std::string(64, 'e'));
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(boost::json::parse(unknown.body).at("error").as_string(), "API Token not matched");
  // The handler alone refuses a request no hook authenticated.
  http::Request bare;
  EXPECT_EQ(HandleAuthInfo(bare).status, 403);
}

}  // namespace
}  // namespace sigil::api
