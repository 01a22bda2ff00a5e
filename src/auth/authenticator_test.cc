#include "auth/authenticator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/permissions.h"
#include "auth/token_service.h"
#include "common/hashing.h"
#include "db/sqlite/sqlite_database.h"

namespace sigil::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr int64_t kDay = 86'400'000'000;

// Forwards to a real database; counts token lookups and can tamper with or fail them.
class ObservedDatabase : public db::Database {
 public:
  explicit ObservedDatabase(db::Database& inner) : inner_(inner) {}
  std::atomic<int> token_lookups{0};
  std::atomic<bool> corrupt_hash{false};  // return rows whose key_hash differs from the query
  std::atomic<bool> unavailable{false};

  Result<db::TokenWithUser> FindTokenByHash(const std::string& key_hash) override {
    ++token_lookups;
    if (unavailable) return Unavailable("database is down");
    Result<db::TokenWithUser> row = inner_.FindTokenByHash(key_hash);
    if (row.ok() && corrupt_hash)
      row->token.key_hash[0] = row->token.key_hash[0] == 'a' ? 'b' : 'a';
    return row;
  }

  std::string Name() const override { return inner_.Name(); }
  Status Migrate() override { return inner_.Migrate(); }
  Result<int> SchemaVersion() override { return inner_.SchemaVersion(); }
  Status Ping() override { return inner_.Ping(); }
  Result<db::User> CreateUser(const std::string& e, const std::vector<std::string>& p) override {
    return inner_.CreateUser(e, p);
  }
  Result<db::User> GetUserByEmail(const std::string& e) override {
    return inner_.GetUserByEmail(e);
  }
  Result<db::User> GetUser(int64_t id) override { return inner_.GetUser(id); }
  Status SetUserPermissions(int64_t id, const std::vector<std::string>& p) override {
    return inner_.SetUserPermissions(id, p);
  }
  Status SetUserActive(int64_t id, bool a) override { return inner_.SetUserActive(id, a); }
  Result<db::Token> CreateToken(const db::Token& t) override { return inner_.CreateToken(t); }
  Result<std::vector<db::TokenWithUser>> ListTokens() override { return inner_.ListTokens(); }
  Status DeleteToken(int64_t id) override { return inner_.DeleteToken(id); }
  Result<int64_t> CreateUpload(const db::Upload& u) override { return inner_.CreateUpload(u); }
  Status CompleteUpload(int64_t id, const std::vector<std::string>& s,
                        const std::vector<std::string>& i, TimestampMicros t) override {
    return inner_.CompleteUpload(id, s, i, t);
  }
  Result<db::Upload> GetUpload(int64_t id) override { return inner_.GetUpload(id); }
  Result<std::vector<db::Upload>> ListUploads(int64_t l, int64_t o) override {
    return inner_.ListUploads(l, o);
  }
  Result<int64_t> AddFileUpload(const db::FileUpload& f) override {
    return inner_.AddFileUpload(f);
  }
  Result<std::vector<int64_t>> RecordStoredFiles(int64_t id,
                                                 const std::vector<db::FileUpload>& f) override {
    return inner_.RecordStoredFiles(id, f);
  }
  Result<std::vector<db::FileUpload>> ListFileUploads(int64_t id) override {
    return inner_.ListFileUploads(id);
  }
  Result<db::FileUpload> FindSymbolByDebugId(const std::string& a, const std::string& b) override {
    return inner_.FindSymbolByDebugId(a, b);
  }
  Result<db::FileUpload> FindSymbolByCodeId(const std::string& a, const std::string& b) override {
    return inner_.FindSymbolByCodeId(a, b);
  }
  Status RecordMissingSymbols(const std::vector<db::MissingSymbolHit>& h) override {
    return inner_.RecordMissingSymbols(h);
  }
  Result<db::MissingSymbolPage> QueryMissingSymbols(const db::MissingSymbolQuery& q) override {
    return inner_.QueryMissingSymbols(q);
  }

 private:
  db::Database& inner_;
};

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "sigil-auth-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    Result<std::unique_ptr<db::Database>> db = db::sqlite::OpenSqliteDatabase(dir_ + "/auth.db");
    ASSERT_TRUE(db.ok());
    real_ = std::move(db).value();
    ASSERT_TRUE(real_->Migrate().ok());
    db_ = std::make_unique<ObservedDatabase>(*real_);
    options_.now = [this] { return now_.load(); };
  }
  void TearDown() override {
    db_.reset();
    real_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  CreatedToken Create(const std::string& email, std::vector<std::string> permissions,
                      int days = 30) {
    Result<CreatedToken> created = TokenService(*db_).CreateToken(email, permissions, days, "");
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return created.ok() ? *created : CreatedToken{};
  }

  // Runs `hook` on a request carrying `header` (none when nullopt).
  static std::pair<std::optional<http::Response>, http::Request> RunHook(
      const http::PreBodyHook& hook, std::optional<std::string> header) {
    http::Request request;
    request.method = "POST";
    request.path = "/upload/";
    if (header) request.headers.Add("Auth-Token", *header);
    std::optional<http::Response> response = hook(request);
    return {std::move(response), std::move(request)};
  }

  static void Expect403(const std::optional<http::Response>& response, std::string_view message) {
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 403);
    EXPECT_EQ(response->headers.Get("Content-Type"), "application/json");
    EXPECT_EQ(response->body, "{\"error\": " + http::JsonQuote(message) + "}");
  }

  std::string dir_;
  std::unique_ptr<db::Database> real_;
  std::unique_ptr<ObservedDatabase> db_;
  std::atomic<TimestampMicros> now_{NowMicros()};
  AuthenticatorOptions options_;
};

TEST_F(AuthenticatorTest, EveryFailureHasTheSpecMessage) {
  CreatedToken token = Create("u@example.com", {"upload_try_symbols"}, 1);
  Authenticator auth(*db_, options_);
  http::PreBodyHook hook = auth.Hook({"upload_symbols", "upload_try_symbols"});

  Expect403(RunHook(hook, std::nullopt).first, kMissingTokenMessage);
  Expect403(RunHook(hook, "").first, kMissingTokenMessage);
  Expect403(RunHook(hook, "  ").first, kMissingTokenMessage);
  Expect403(RunHook(hook, std::string(64, 'f')).first, kTokenNotMatchedMessage);
  Expect403(RunHook(hook, "-ci-linux").first, kTokenNotMatchedMessage);
  Expect403(RunHook(hook, token.key.substr(0, 63)).first, kTokenNotMatchedMessage);
  Expect403(RunHook(hook, std::string(100000, 'a')).first, kTokenNotMatchedMessage);

  // Permission: a try-only token on a route that needs upload_symbols.
  Expect403(RunHook(auth.Hook({"upload_symbols"}), token.key).first, kForbiddenMessage);
  Expect403(RunHook(auth.Hook({"manage_tokens", "admin"}), token.key).first, kForbiddenMessage);

  // Expired (one day later and a bit).
  now_ += 2 * kDay;
  Expect403(RunHook(hook, token.key).first, kTokenExpiredMessage);
  now_ -= 2 * kDay;

  // Inactive user (a fresh authenticator: nothing cached).
  ASSERT_TRUE(db_->SetUserActive(token.user.id, false).ok());
  Authenticator fresh(*db_, options_);
  Expect403(RunHook(fresh.Hook({}), token.key).first, kUserInactiveMessage);
  EXPECT_EQ(fresh.Authenticate(token.key).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(fresh.Authenticate(std::nullopt).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthenticatorTest, ValidTokenSetsThePrincipalAndLabelsAreIgnored) {
  CreatedToken token = Create("ci@example.com", {"upload_symbols", "upload_try_symbols"});
  Authenticator auth(*db_, options_);
  http::PreBodyHook hook = auth.Hook({"upload_symbols", "upload_try_symbols"});
  for (const std::string& header :
       {token.key, token.key + "-ci-linux", token.key + "-", " " + token.key + " "}) {
    auto [response, request] = RunHook(hook, header);
    EXPECT_FALSE(response.has_value()) << header << ": " << (response ? response->body : "");
    ASSERT_TRUE(request.principal.has_value());
    EXPECT_EQ(request.principal->email, "ci@example.com");
    EXPECT_EQ(request.principal->user_id, token.user.id);
    EXPECT_EQ(request.principal->token_id, token.token.id);
    EXPECT_EQ(request.principal->token_expires_at, token.token.expires_at);
    EXPECT_THAT(request.principal->permissions,
                ElementsAre("upload_symbols", "upload_try_symbols"));
    EXPECT_TRUE(request.principal->Has("upload_symbols"));
  }
  // No permission required: any valid token.
  EXPECT_FALSE(RunHook(auth.Hook({}), token.key).first.has_value());
}

TEST_F(AuthenticatorTest, AdminImpliesEveryPermissionAndUserLimitsTheToken) {
  CreatedToken admin = Create("admin@example.com", {"admin"});
  Authenticator auth(*db_, options_);
  Result<http::Principal> principal = auth.Authenticate(admin.key);
  ASSERT_TRUE(principal.ok());
  EXPECT_THAT(principal->permissions, ElementsAreArray(AllPermissions()));
  EXPECT_FALSE(RunHook(auth.Hook({"manage_tokens"}), admin.key).first.has_value());

  // A token keeps only what its user still has.
  CreatedToken both = Create("both@example.com", {"upload_symbols", "upload_try_symbols"});
  ASSERT_TRUE(db_->SetUserPermissions(both.user.id, {"upload_try_symbols"}).ok());
  principal = auth.Authenticate(both.key);
  ASSERT_TRUE(principal.ok());
  EXPECT_THAT(principal->permissions, ElementsAre("upload_try_symbols"));
  Expect403(RunHook(auth.Hook({"upload_symbols"}), both.key).first, kForbiddenMessage);
}

TEST_F(AuthenticatorTest, KeysAreNeverStoredInPlainText) {
  CreatedToken token = Create("plain@example.com", {"upload_symbols"});
  ASSERT_EQ(token.key.size(), 64u);
  std::string bytes;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::ifstream in(dir_ + "/auth.db" + suffix, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes += ss.str();
  }
  // The scan can find things: the hash is there.
  EXPECT_NE(bytes.find(Sha256Hex(token.key)), std::string::npos);
  EXPECT_EQ(bytes.find(token.key), std::string::npos);
  EXPECT_EQ(bytes.find(token.key.substr(0, 32)), std::string::npos);
}

TEST_F(AuthenticatorTest, StoredHashIsComparedAfterTheLookup) {
  // A backend returning a row for a different hash (e.g. a case-insensitive collation) must not
  // let the key in: the constant-time comparison decides.
  CreatedToken token = Create("cmp@example.com", {"upload_symbols"});
  db_->corrupt_hash = true;
  Authenticator auth(*db_, options_);
  Result<http::Principal> principal = auth.Authenticate(token.key);
  ASSERT_FALSE(principal.ok());
  EXPECT_EQ(principal.status().message(), kTokenNotMatchedMessage);
  EXPECT_EQ(auth.cache_size(), 0u);
  db_->corrupt_hash = false;
  EXPECT_TRUE(auth.Authenticate(token.key).ok());
}

TEST_F(AuthenticatorTest, PositiveLookupsAreCachedForTheTtl) {
  CreatedToken token = Create("cache@example.com", {"upload_symbols"});
  Authenticator auth(*db_, options_);
  ASSERT_TRUE(auth.Authenticate(token.key).ok());
  ASSERT_TRUE(auth.Authenticate(token.key + "-label").ok());
  EXPECT_EQ(db_->token_lookups.load(), 1);
  // Unknown keys are looked up every time (never cached).
  EXPECT_FALSE(auth.Authenticate(std::string(64, '0')).ok());
  EXPECT_FALSE(auth.Authenticate(std::string(64, '0')).ok());
  EXPECT_EQ(db_->token_lookups.load(), 3);

  // Revoked elsewhere (another process): accepted until the entry is older than the TTL.
  ASSERT_TRUE(TokenService(*db_).RevokeToken(token.token.id).ok());
  now_ += 29'000'000;
  EXPECT_TRUE(auth.Authenticate(token.key).ok());
  now_ += 2'000'000;
  Result<http::Principal> after = auth.Authenticate(token.key);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.status().message(), kTokenNotMatchedMessage);

  // Deactivation is also seen within the TTL; expiry is checked on every request, cached or not.
  CreatedToken other = Create("other@example.com", {"upload_symbols"}, 1);
  ASSERT_TRUE(auth.Authenticate(other.key).ok());
  ASSERT_TRUE(db_->SetUserActive(other.user.id, false).ok());
  now_ += 31'000'000;
  EXPECT_EQ(auth.Authenticate(other.key).status().message(), kUserInactiveMessage);
  ASSERT_TRUE(db_->SetUserActive(other.user.id, true).ok());
  auth.ClearCache();
  ASSERT_TRUE(auth.Authenticate(other.key).ok());
  now_ += kDay;
  EXPECT_EQ(auth.Authenticate(other.key).status().message(), kTokenExpiredMessage);
}

TEST_F(AuthenticatorTest, CacheIsBounded) {
  options_.cache_capacity = 2;
  Authenticator auth(*db_, options_);
  std::vector<CreatedToken> tokens;
  for (int i = 0; i < 5; ++i) {
    tokens.push_back(Create("b" + std::to_string(i) + "@example.com", {"upload_symbols"}));
    now_ += 1000;
    ASSERT_TRUE(auth.Authenticate(tokens.back().key).ok());
    EXPECT_LE(auth.cache_size(), 2u);
  }
  for (const CreatedToken& t : tokens) EXPECT_TRUE(auth.Authenticate(t.key).ok());
}

TEST_F(AuthenticatorTest, DatabaseFailuresAreNot403) {
  CreatedToken token = Create("down@example.com", {"upload_symbols"});
  db_->unavailable = true;
  Authenticator auth(*db_, options_);
  auto [response, request] = RunHook(auth.Hook({}), token.key);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->headers.Get("Retry-After"), "1");
  EXPECT_FALSE(request.principal.has_value());

  // An injected mapper is used for every failure.
  options_.error_response = [](const Status& s) {
    return http::Response::Error(599, "mapped: " + s.message());
  };
  Authenticator mapped(*db_, options_);
  EXPECT_EQ(RunHook(mapped.Hook({}), std::nullopt).first->status, 599);
}

}  // namespace
}  // namespace sigil::auth
