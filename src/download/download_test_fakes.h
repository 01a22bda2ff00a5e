// Small in-memory fakes of ObjectStore and Database for the download unit tests.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "db/database.h"
#include "storage/object_store.h"

namespace sigil::download::testing {

class FakeStore : public storage::ObjectStore {
 public:
  struct Object {
    std::string data;
    storage::ObjectInfo info;
  };

  std::string Name() const override { return "fake"; }
  Status Put(std::string_view key, std::string_view data, const storage::PutOptions& o) override {
    std::lock_guard lock(mu);
    Object obj;
    obj.data = std::string(data);
    obj.info.size = data.size();
    obj.info.content_type = o.content_type;
    obj.info.content_encoding = o.content_encoding;
    obj.info.metadata = o.metadata;
    obj.info.last_modified = 1700000000000000 + static_cast<int64_t>(objects.size()) * 1000000;
    obj.info.etag = "\"etag-" + std::to_string(++version) + "\"";
    objects[std::string(key)] = std::move(obj);
    return Status::Ok();
  }
  Status PutFile(std::string_view, const std::string&, const storage::PutOptions&) override {
    return Internal("not in fake");
  }
  Result<std::unique_ptr<storage::ObjectReader>> Get(std::string_view key) override;
  Result<storage::ObjectInfo> Head(std::string_view key) override {
    ++heads;
    std::lock_guard lock(mu);
    if (fail_head) return Unavailable("storage down");
    auto it = objects.find(std::string(key));
    if (it == objects.end()) return NotFound("no object " + std::string(key));
    return it->second.info;
  }
  Result<bool> Exists(std::string_view key) override {
    std::lock_guard lock(mu);
    return objects.count(std::string(key)) > 0;
  }
  Status Delete(std::string_view key) override {
    std::lock_guard lock(mu);
    objects.erase(std::string(key));
    return Status::Ok();
  }
  Result<std::vector<storage::ListEntry>> List(std::string_view, size_t) override {
    return Internal("not in fake");
  }
  std::optional<std::string> PublicUrl(std::string_view key) const override {
    if (public_base.empty()) return std::nullopt;
    return public_base + std::string(key);
  }
  bool HasLocalFiles() const override { return local_files; }
  // A memfd holding the object's bytes (a real descriptor the server could sendfile).
  Result<Fd> OpenLocal(std::string_view key) const override {
    if (!local_files) return InvalidArgument("fake store has no local files");
    std::lock_guard lock(mu);
    auto it = objects.find(std::string(key));
    if (it == objects.end()) return NotFound("no object " + std::string(key));
    Fd fd(::memfd_create("fake-object", MFD_CLOEXEC));
    const std::string& data = it->second.data;
    if (!fd.valid() ||
        ::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
      return Internal("memfd");
    }
    return fd;
  }
  Status Ping() override { return Status::Ok(); }

  mutable std::mutex mu;
  std::map<std::string, Object> objects;
  std::atomic<int> heads{0};
  int version = 0;
  bool fail_head = false;
  std::string public_base;
  bool local_files = false;
  size_t read_chunk = 7;  // small reads exercise the streaming code
};

class FakeReader : public storage::ObjectReader {
 public:
  FakeReader(std::string data, storage::ObjectInfo info, size_t chunk)
      : data_(std::move(data)), info_(std::move(info)), chunk_(chunk) {}
  const storage::ObjectInfo& info() const override { return info_; }
  Result<size_t> Read(char* buf, size_t size) override {
    size_t n = std::min({size, chunk_, data_.size() - pos_});
    std::copy_n(data_.data() + pos_, n, buf);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  storage::ObjectInfo info_;
  size_t chunk_;
  size_t pos_ = 0;
};

inline Result<std::unique_ptr<storage::ObjectReader>> FakeStore::Get(std::string_view key) {
  std::lock_guard lock(mu);
  auto it = objects.find(std::string(key));
  if (it == objects.end()) return NotFound("no object " + std::string(key));
  return std::unique_ptr<storage::ObjectReader>(
      new FakeReader(it->second.data, it->second.info, read_chunk));
}

// Only the methods download uses; everything else fails loudly.
class FakeDb : public db::Database {
 public:
  std::string Name() const override { return "fake"; }
  Status Migrate() override { return Status::Ok(); }
  Result<int> SchemaVersion() override { return 1; }
  Status Ping() override { return Status::Ok(); }
  Result<db::User> CreateUser(const std::string&, const std::vector<std::string>&) override {
    return No();
  }
  Result<db::User> GetUserByEmail(const std::string&) override { return No(); }
  Result<db::User> GetUser(int64_t) override { return No(); }
  Status SetUserPermissions(int64_t, const std::vector<std::string>&) override { return No(); }
  Status SetUserActive(int64_t, bool) override { return No(); }
  Result<db::Token> CreateToken(const db::Token&) override { return No(); }
  Result<db::TokenWithUser> FindTokenByHash(const std::string&) override { return No(); }
  Result<std::vector<db::TokenWithUser>> ListTokens() override { return No(); }
  Status DeleteToken(int64_t) override { return No(); }
  Result<int64_t> CreateUpload(const db::Upload&) override { return No(); }
  Status CompleteUpload(int64_t, const std::vector<std::string>&, const std::vector<std::string>&,
                        TimestampMicros) override {
    return No();
  }
  Result<db::Upload> GetUpload(int64_t) override { return No(); }
  Result<std::vector<db::Upload>> ListUploads(int64_t, int64_t) override { return No(); }
  Result<int64_t> AddFileUpload(const db::FileUpload& f) override {
    std::lock_guard lock(mu);
    files.push_back(f);
    return static_cast<int64_t>(files.size());
  }
  Result<std::vector<int64_t>> RecordStoredFiles(int64_t,
                                                 const std::vector<db::FileUpload>&) override {
    return No();
  }
  Result<std::vector<db::FileUpload>> ListFileUploads(int64_t) override { return No(); }
  Result<db::FileUpload> FindSymbolByDebugId(const std::string& df,
                                             const std::string& id) override {
    ++symbol_lookups;
    std::lock_guard lock(mu);
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      if (it->debug_filename == df && it->debug_id == id) return *it;
    }
    return NotFound("no symbol");
  }
  Result<db::FileUpload> FindSymbolByCodeId(const std::string& cf, const std::string& id) override {
    std::lock_guard lock(mu);
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
      if (it->code_file == cf && it->code_id == id) return *it;
    }
    return NotFound("no symbol");
  }
  Status RecordMissingSymbols(const std::vector<db::MissingSymbolHit>& hits) override {
    std::lock_guard lock(mu);
    ++record_calls;
    if (fail_record) return Unavailable("database down");
    for (const auto& h : hits) {
      auto& row = missing[h.hash];
      if (row.count == 0) {
        row.id = static_cast<int64_t>(missing.size());
        row.hash = h.hash;
        row.debug_file = h.debug_file;
        row.debug_id = h.debug_id;
        row.filename = h.filename;
        row.code_file = h.code_file;
        row.code_id = h.code_id;
        row.created_at = h.seen_at;
      }
      row.count += h.count;
      row.modified_at = h.seen_at;
    }
    return Status::Ok();
  }
  Result<db::MissingSymbolPage> QueryMissingSymbols(const db::MissingSymbolQuery& q) override {
    std::lock_guard lock(mu);
    db::MissingSymbolPage page;
    std::vector<db::MissingSymbol> all;
    for (const auto& [h, row] : missing) {
      if (q.modified_since && row.modified_at < *q.modified_since) continue;
      all.push_back(row);
    }
    page.total = static_cast<int64_t>(all.size());
    for (int64_t i = q.offset; i < static_cast<int64_t>(all.size()) && i < q.offset + q.limit;
         ++i) {
      page.rows.push_back(all[static_cast<size_t>(i)]);
    }
    return page;
  }

  int64_t TotalMissing() {
    std::lock_guard lock(mu);
    int64_t t = 0;
    for (const auto& [h, row] : missing) t += row.count;
    return t;
  }

  mutable std::mutex mu;
  std::vector<db::FileUpload> files;
  std::map<std::string, db::MissingSymbol> missing;
  std::atomic<int> symbol_lookups{0};
  int record_calls = 0;
  bool fail_record = false;

 private:
  static Status No() { return Internal("not in fake"); }
};

}  // namespace sigil::download::testing
