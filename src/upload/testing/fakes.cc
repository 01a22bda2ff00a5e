#include "upload/testing/fakes.h"

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/hashing.h"
#include "upload/testing/zip_builder.h"

namespace sigil::upload::testing {
namespace {

Status NotImplemented() { return Internal("not implemented by the fake"); }

class StringReader : public storage::ObjectReader {
 public:
  StringReader(std::string data, storage::ObjectInfo info)
      : data_(std::move(data)), info_(std::move(info)) {}
  const storage::ObjectInfo& info() const override { return info_; }
  Result<size_t> Read(char* buf, size_t size) override {
    size_t n = std::min(size, data_.size() - pos_);
    std::copy_n(data_.data() + pos_, n, buf);
    pos_ += n;
    return n;
  }

 private:
  std::string data_;
  storage::ObjectInfo info_;
  size_t pos_ = 0;
};

}  // namespace

Status FakeObjectStore::Put(std::string_view key, std::string_view data,
                            const storage::PutOptions& o) {
  SIGIL_RETURN_IF_ERROR(storage::ValidateKey(key));
  int limit = puts_before_failure_.load();
  if (limit >= 0 && puts_.load() >= limit) return Unavailable("injected storage failure");
  // The contract of PutOptions::content_md5: exactly the MD5 of the bytes stored.
  if (!o.content_md5.empty() && o.content_md5 != Md5Hex(data)) {
    return InvalidArgument("content_md5 " + o.content_md5 + " is not the MD5 of the " +
                           std::to_string(data.size()) + " bytes put as " + std::string(key));
  }
  ++puts_;
  Object obj;
  obj.data = std::string(data);
  obj.content_md5_given = !o.content_md5.empty();
  obj.info.size = data.size();
  obj.info.content_type = o.content_type;
  obj.info.content_encoding = o.content_encoding;
  obj.info.metadata = o.metadata;
  obj.info.last_modified = NowMicros();
  obj.info.etag = "\"" + Md5Hex(data) + "\"";
  std::lock_guard lock(mu_);
  objects_[std::string(key)] = std::move(obj);
  return Status::Ok();
}

Status FakeObjectStore::PutFile(std::string_view key, const std::string& path,
                                const storage::PutOptions& o) {
  return Put(key, ReadFileOrDie(path), o);
}

namespace {

class FakePendingObject final : public storage::PendingObject {
 public:
  explicit FakePendingObject(std::atomic<int>& alive) : alive_(alive) { ++alive_; }
  ~FakePendingObject() override { --alive_; }
  Status Append(std::string_view data) override {
    if (finished_) return Internal("append after finish");
    data_.append(data);
    return Status::Ok();
  }
  Status Finish() override {
    finished_ = true;
    return Status::Ok();
  }
  uint64_t size() const override { return data_.size(); }
  const std::string& data() const { return data_; }
  bool finished() const { return finished_; }

 private:
  std::atomic<int>& alive_;
  std::string data_;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<storage::PendingObject>> FakeObjectStore::BeginPut() {
  if (!pending_puts_) return ObjectStore::BeginPut();
  return std::unique_ptr<storage::PendingObject>(
      std::make_unique<FakePendingObject>(pending_alive_));
}

Status FakeObjectStore::CommitPuts(std::span<storage::PendingCommit> batch) {
  if (!pending_puts_) return ObjectStore::CommitPuts(batch);
  ++commits_;
  std::set<std::string_view> keys;
  for (const storage::PendingCommit& item : batch) {
    auto* object = dynamic_cast<FakePendingObject*>(item.object);
    if (object == nullptr || !object->finished()) return InvalidArgument("bad pending object");
    if (!keys.insert(item.key).second) return InvalidArgument("key twice in one commit");
  }
  for (storage::PendingCommit& item : batch) {
    const auto& object = dynamic_cast<const FakePendingObject&>(*item.object);
    SIGIL_RETURN_IF_ERROR(Put(item.key, object.data(), item.options));
    item.committed = true;
  }
  return Status::Ok();
}

Result<std::unique_ptr<storage::ObjectReader>> FakeObjectStore::Get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(std::string(key));
  if (it == objects_.end()) return NotFound(std::string(key));
  return std::unique_ptr<storage::ObjectReader>(
      std::make_unique<StringReader>(it->second.data, it->second.info));
}

Result<storage::ObjectInfo> FakeObjectStore::Head(std::string_view key) {
  ++heads_;
  std::lock_guard lock(mu_);
  auto it = objects_.find(std::string(key));
  if (it == objects_.end()) return NotFound(std::string(key));
  return it->second.info;
}

Result<bool> FakeObjectStore::Exists(std::string_view key) {
  std::lock_guard lock(mu_);
  return objects_.count(std::string(key)) > 0;
}

Status FakeObjectStore::Delete(std::string_view key) {
  std::lock_guard lock(mu_);
  objects_.erase(std::string(key));
  return Status::Ok();
}

Result<std::vector<storage::ListEntry>> FakeObjectStore::List(std::string_view prefix,
                                                              size_t limit) {
  ++lists_;
  std::lock_guard lock(mu_);
  std::vector<storage::ListEntry> out;
  for (const auto& [k, v] : objects_) {
    if (k.compare(0, prefix.size(), prefix) != 0) continue;
    out.push_back({k, v.info.size, v.info.last_modified});
    if (limit != 0 && out.size() >= limit) break;
  }
  return out;
}

std::map<std::string, FakeObjectStore::Object> FakeObjectStore::Snapshot() const {
  std::lock_guard lock(mu_);
  return objects_;
}

Result<db::User> FakeDatabase::CreateUser(const std::string&, const std::vector<std::string>&) {
  return NotImplemented();
}
Result<db::User> FakeDatabase::GetUserByEmail(const std::string&) { return NotImplemented(); }
Result<db::User> FakeDatabase::GetUser(int64_t) { return NotImplemented(); }
Status FakeDatabase::SetUserPermissions(int64_t, const std::vector<std::string>&) {
  return NotImplemented();
}
Status FakeDatabase::SetUserActive(int64_t, bool) { return NotImplemented(); }
Result<db::Token> FakeDatabase::CreateToken(const db::Token&) { return NotImplemented(); }
Result<db::TokenWithUser> FakeDatabase::FindTokenByHash(const std::string&) {
  return NotImplemented();
}
Result<std::vector<db::TokenWithUser>> FakeDatabase::ListTokens() { return NotImplemented(); }
Status FakeDatabase::DeleteToken(int64_t) { return NotImplemented(); }

Result<int64_t> FakeDatabase::CreateUpload(const db::Upload& upload) {
  std::lock_guard lock(mu_);
  uploads_.push_back(upload);
  uploads_.back().id = static_cast<int64_t>(uploads_.size());
  return uploads_.back().id;
}

Status FakeDatabase::CompleteUpload(int64_t upload_id, const std::vector<std::string>& skipped_keys,
                                    const std::vector<std::string>& ignored_keys,
                                    TimestampMicros completed_at) {
  std::lock_guard lock(mu_);
  if (upload_id < 1 || upload_id > static_cast<int64_t>(uploads_.size())) return NotFound("upload");
  db::Upload& u = uploads_[static_cast<size_t>(upload_id - 1)];
  u.skipped_keys = skipped_keys;
  u.ignored_keys = ignored_keys;
  u.completed_at = completed_at;
  return Status::Ok();
}

Result<db::Upload> FakeDatabase::GetUpload(int64_t id) {
  std::lock_guard lock(mu_);
  if (id < 1 || id > static_cast<int64_t>(uploads_.size())) return NotFound("upload");
  return uploads_[static_cast<size_t>(id - 1)];
}

Result<std::vector<db::Upload>> FakeDatabase::ListUploads(int64_t, int64_t) {
  std::lock_guard lock(mu_);
  return uploads_;
}

Result<int64_t> FakeDatabase::AddFileUpload(const db::FileUpload& file) {
  std::lock_guard lock(mu_);
  files_.push_back(file);
  files_.back().id = static_cast<int64_t>(files_.size());
  return files_.back().id;
}

Result<std::vector<int64_t>> FakeDatabase::RecordStoredFiles(
    int64_t upload_id, const std::vector<db::FileUpload>& files) {
  std::lock_guard lock(mu_);
  if (upload_id < 1 || upload_id > static_cast<int64_t>(uploads_.size())) return NotFound("upload");
  std::vector<int64_t> ids;
  for (const db::FileUpload& file : files) {
    files_.push_back(file);
    files_.back().upload_id = upload_id;
    files_.back().id = static_cast<int64_t>(files_.size());
    ids.push_back(files_.back().id);
    uploads_[static_cast<size_t>(upload_id - 1)].stored_keys.push_back(file.key);
  }
  return ids;
}

Result<std::vector<db::FileUpload>> FakeDatabase::ListFileUploads(int64_t upload_id) {
  std::lock_guard lock(mu_);
  std::vector<db::FileUpload> out;
  for (const auto& f : files_) {
    if (f.upload_id == upload_id) out.push_back(f);
  }
  return out;
}

Result<db::FileUpload> FakeDatabase::FindSymbolByDebugId(const std::string&, const std::string&) {
  return NotImplemented();
}
Result<db::FileUpload> FakeDatabase::FindSymbolByCodeId(const std::string&, const std::string&) {
  return NotImplemented();
}
Status FakeDatabase::RecordMissingSymbols(const std::vector<db::MissingSymbolHit>&) {
  return NotImplemented();
}
Result<db::MissingSymbolPage> FakeDatabase::QueryMissingSymbols(const db::MissingSymbolQuery&) {
  return NotImplemented();
}

size_t FakeDatabase::upload_count() const {
  std::lock_guard lock(mu_);
  return uploads_.size();
}
size_t FakeDatabase::file_upload_count() const {
  std::lock_guard lock(mu_);
  return files_.size();
}

}  // namespace sigil::upload::testing
