#include "auth/token_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "auth/authenticator.h"
#include "common/clock.h"
#include "common/hashing.h"
#include "common/symbol_key.h"
#include "db/sqlite/sqlite_database.h"

namespace sigil::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TokenServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<db::Database>> db = db::sqlite::OpenSqliteDatabase(":memory:");
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    ASSERT_TRUE(db_->Migrate().ok());
  }
  std::unique_ptr<db::Database> db_;
};

TEST_F(TokenServiceTest, CreateTokenMakesUserAndStoresOnlyTheHash) {
  TokenService service(*db_);
  TimestampMicros before = NowMicros();
  Result<CreatedToken> created =
      service.CreateToken("  CI@Example.com ", {"upload_try_symbols", "upload_symbols"}, 30, "ci");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->key.size(), 64u);
  EXPECT_TRUE(IsHex(created->key));
  EXPECT_EQ(created->token.key_hash, Sha256Hex(created->key));
  EXPECT_NE(created->token.key_hash, created->key);
  EXPECT_THAT(created->token.permissions, ElementsAre("upload_symbols", "upload_try_symbols"));
  EXPECT_EQ(created->token.notes, "ci");
  EXPECT_GE(created->token.expires_at, before + 30 * 86'400'000'000LL);
  EXPECT_LE(created->token.expires_at, NowMicros() + 30 * 86'400'000'000LL);
  EXPECT_EQ(created->user.email, "ci@example.com");

  Result<db::User> user = db_->GetUserByEmail("ci@example.com");
  ASSERT_TRUE(user.ok());
  EXPECT_THAT(user->permissions, ElementsAre("upload_symbols", "upload_try_symbols"));
  Result<db::TokenWithUser> stored = db_->FindTokenByHash(Sha256Hex(created->key));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->token.id, created->token.id);

  // Two tokens never share a key.
  Result<CreatedToken> again = service.CreateToken("ci@example.com", {"upload_symbols"}, 30, "");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->key, created->key);
}

TEST_F(TokenServiceTest, UserPermissionsBecomeTheUnion) {
  TokenService service(*db_);
  ASSERT_TRUE(service.CreateToken("u@example.com", {"upload_symbols"}, 1, "").ok());
  Result<CreatedToken> second = service.CreateToken("U@example.com", {"manage_tokens"}, 1, "");
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(second->token.permissions, ElementsAre("manage_tokens"));
  EXPECT_THAT(second->user.permissions, ElementsAre("manage_tokens", "upload_symbols"));
  EXPECT_THAT(db_->GetUserByEmail("u@example.com")->permissions,
              ElementsAre("manage_tokens", "upload_symbols"));
  Result<CreatedToken> admin = service.CreateToken("u@example.com", {"admin"}, 1, "");
  ASSERT_TRUE(admin.ok());
  EXPECT_THAT(admin->user.permissions, ElementsAre("admin", "manage_tokens", "upload_symbols"));
}

TEST_F(TokenServiceTest, InvalidInputIsRejectedAndNothingIsCreated) {
  TokenService service(*db_);
  Result<CreatedToken> unknown =
      service.CreateToken("x@example.com", {"upload_symbols", "delete_everything"}, 1, "");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unknown.status().message(), HasSubstr("delete_everything"));
  EXPECT_EQ(service.CreateToken("x@example.com", {}, 1, "").status().code(),
            StatusCode::kInvalidArgument);
  for (int days : {0, -1, 36501}) {
    EXPECT_EQ(service.CreateToken("x@example.com", {"upload_symbols"}, days, "").status().code(),
              StatusCode::kInvalidArgument)
        << days;
  }
  for (const char* email :
       {"", "no-at-sign", "@example.com", "a@", "a b@example.com", "a@b@example.com"}) {
    EXPECT_EQ(service.CreateToken(email, {"upload_symbols"}, 1, "").status().code(),
              StatusCode::kInvalidArgument)
        << email;
  }
  EXPECT_EQ(service.CreateToken("x@example.com", {"upload_symbols"}, 1, std::string(1001, 'n'))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(db_->GetUserByEmail("x@example.com").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(service.ListTokens()->empty());
}

TEST_F(TokenServiceTest, ListAndRevoke) {
  TokenService service(*db_);
  Result<CreatedToken> a = service.CreateToken("a@example.com", {"upload_symbols"}, 1, "first");
  Result<CreatedToken> b = service.CreateToken("b@example.com", {"view_all_uploads"}, 1, "");
  ASSERT_TRUE(a.ok() && b.ok());
  Result<std::vector<db::TokenWithUser>> listed = service.ListTokens();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].user.email, "a@example.com");
  EXPECT_EQ((*listed)[0].token.notes, "first");
  EXPECT_EQ((*listed)[1].user.email, "b@example.com");

  ASSERT_TRUE(service.RevokeToken(a->token.id).ok());
  EXPECT_EQ(service.RevokeToken(a->token.id).code(), StatusCode::kNotFound);
  listed = service.ListTokens();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].token.id, b->token.id);
}

TEST_F(TokenServiceTest, RevokeThroughAWiredAuthenticatorIsImmediate) {
  Authenticator authenticator(*db_);
  TokenService service(*db_, &authenticator);
  Result<CreatedToken> created = service.CreateToken("r@example.com", {"upload_symbols"}, 1, "");
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(authenticator.Authenticate(created->key).ok());
  EXPECT_EQ(authenticator.cache_size(), 1u);
  ASSERT_TRUE(service.RevokeToken(created->token.id).ok());
  EXPECT_EQ(authenticator.cache_size(), 0u);
  Result<http::Principal> after = authenticator.Authenticate(created->key);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().message(), kTokenNotMatchedMessage);
}

}  // namespace
}  // namespace sigil::auth
