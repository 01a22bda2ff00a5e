// In-memory fakes of storage::ObjectStore and db::Database for UploadService unit tests (the
// integration tests use the real filesystem store and SQLite). Only what the upload pipeline calls
// is implemented; the rest answers kInternal "not implemented by the fake". Thread-safe. Test-only.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "db/database.h"
#include "storage/object_store.h"

namespace sigil::upload::testing {

class FakeObjectStore : public storage::ObjectStore {
 public:
  struct Object {
    std::string data;
    storage::ObjectInfo info;
    bool content_md5_given = false;  // the put came with PutOptions::content_md5 (checked)
  };

  std::string Name() const override { return "fake-bucket"; }
  Status Put(std::string_view key, std::string_view data, const storage::PutOptions& o) override;
  Status PutFile(std::string_view key, const std::string& path,
                 const storage::PutOptions& o) override;
  Result<std::unique_ptr<storage::ObjectReader>> Get(std::string_view key) override;
  Result<storage::ObjectInfo> Head(std::string_view key) override;
  Result<bool> Exists(std::string_view key) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<storage::ListEntry>> List(std::string_view prefix, size_t limit) override;
  std::optional<std::string> PublicUrl(std::string_view) const override { return std::nullopt; }
  Status Ping() override { return Status::Ok(); }
  // Pending puts (only after EnablePendingPuts): buffered in memory; a commit stores its items in
  // order like Puts (counted in puts(), failing as FailPutsAfter says).
  bool SupportsPendingPuts() const override { return pending_puts_; }
  Result<std::unique_ptr<storage::PendingObject>> BeginPut() override;
  Status CommitPuts(std::span<storage::PendingCommit> batch) override;

  // Test controls and observations.
  void EnablePendingPuts(bool on) { pending_puts_ = on; }
  int commits() const { return commits_.load(); }
  // Pending objects not destroyed yet.
  int pending_alive() const { return pending_alive_.load(); }
  std::map<std::string, Object> Snapshot() const;
  void FailPutsAfter(int n) { puts_before_failure_ = n; }
  int puts() const { return puts_.load(); }
  int heads() const { return heads_.load(); }
  int lists() const { return lists_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Object> objects_;
  std::atomic<int> puts_{0};
  std::atomic<int> heads_{0};
  std::atomic<int> lists_{0};
  std::atomic<int> puts_before_failure_{-1};
  bool pending_puts_ = false;
  std::atomic<int> commits_{0};
  std::atomic<int> pending_alive_{0};
};

class FakeDatabase : public db::Database {
 public:
  std::string Name() const override { return "fake"; }
  Status Migrate() override { return Status::Ok(); }
  Result<int> SchemaVersion() override { return 1; }
  Status Ping() override { return Status::Ok(); }
  Result<db::User> CreateUser(const std::string&, const std::vector<std::string>&) override;
  Result<db::User> GetUserByEmail(const std::string&) override;
  Result<db::User> GetUser(int64_t) override;
  Status SetUserPermissions(int64_t, const std::vector<std::string>&) override;
  Status SetUserActive(int64_t, bool) override;
  Result<db::Token> CreateToken(const db::Token&) override;
  Result<db::TokenWithUser> FindTokenByHash(const std::string&) override;
  Result<std::vector<db::TokenWithUser>> ListTokens() override;
  Status DeleteToken(int64_t) override;
  Result<int64_t> CreateUpload(const db::Upload& upload) override;
  Status CompleteUpload(int64_t upload_id, const std::vector<std::string>& skipped_keys,
                        const std::vector<std::string>& ignored_keys,
                        TimestampMicros completed_at) override;
  Result<db::Upload> GetUpload(int64_t id) override;
  Result<std::vector<db::Upload>> ListUploads(int64_t limit, int64_t offset) override;
  Result<int64_t> AddFileUpload(const db::FileUpload& file) override;
  Result<std::vector<int64_t>> RecordStoredFiles(int64_t upload_id,
                                                 const std::vector<db::FileUpload>& files) override;
  Result<std::vector<db::FileUpload>> ListFileUploads(int64_t upload_id) override;
  Result<db::FileUpload> FindSymbolByDebugId(const std::string&, const std::string&) override;
  Result<db::FileUpload> FindSymbolByCodeId(const std::string&, const std::string&) override;
  Status RecordMissingSymbols(const std::vector<db::MissingSymbolHit>&) override;
  Result<db::MissingSymbolPage> QueryMissingSymbols(const db::MissingSymbolQuery&) override;

  size_t upload_count() const;
  size_t file_upload_count() const;

 private:
  mutable std::mutex mu_;
  std::vector<db::Upload> uploads_;
  std::vector<db::FileUpload> files_;
};

}  // namespace sigil::upload::testing
