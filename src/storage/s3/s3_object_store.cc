#include "storage/s3/s3_object_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "storage/s3/s3_metadata.h"
#include "storage/s3/s3_reader.h"
#include "storage/s3/s3_upload.h"
#include "storage/s3/s3_xml.h"

namespace sigil::storage::s3 {
namespace {

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.size() > 1024) return InvalidArgument("list prefix longer than 1024 bytes");
  for (unsigned char c : prefix) {
    if (c < 0x20 || c == 0x7f) return InvalidArgument("list prefix contains a control character");
  }
  return Status::Ok();
}

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

S3ObjectStore::S3ObjectStore(S3Options options)
    : client_(std::move(options)),
      key_prefix_(client_.options().prefix.empty() ? "" : client_.options().prefix + "/") {}

std::string S3ObjectStore::ObjectKey(std::string_view key) const {
  return key_prefix_ + std::string(key);
}

std::string S3ObjectStore::Name() const { return client_.options().bucket; }

Status S3ObjectStore::Put(std::string_view key, std::string_view data, const PutOptions& options) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  SIGIL_ASSIGN_OR_RETURN(HeaderList headers, ObjectHeaders(options));
  return UploadObject(client_, ObjectKey(key), key, BodySource::Memory(data), headers);
}

Status S3ObjectStore::PutFile(std::string_view key, const std::string& path,
                              const PutOptions& options) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  SIGIL_ASSIGN_OR_RETURN(HeaderList headers, ObjectHeaders(options));
  Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) return Internal("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return Internal("'" + path + "' is not a regular file");
  }
  return UploadObject(client_, ObjectKey(key), key,
                      BodySource::File(file.fd, 0, static_cast<uint64_t>(st.st_size)), headers);
}

Result<std::unique_ptr<ObjectReader>> S3ObjectStore::Get(std::string_view key) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  return S3ObjectReader::Open(client_, ObjectKey(key), std::string(key));
}

Result<ObjectInfo> S3ObjectStore::Head(std::string_view key) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  S3Request req;
  req.method = "HEAD";
  req.object_key = ObjectKey(key);
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client_.Send(req));
  if (r.status != 200) return client_.ErrorFor("HeadObject", key, r);
  return ObjectInfoFromResponse(r);
}

Result<std::optional<uint64_t>> S3ObjectStore::ExistingSizeByHead(std::string_view key) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  S3Request req;
  req.method = "HEAD";
  req.object_key = ObjectKey(key);
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client_.Send(req));
  if (r.status == 404) return std::optional<uint64_t>();
  if (r.status != 200) return client_.ErrorFor("HeadObject", key, r);
  return std::optional<uint64_t>(ObjectInfoFromResponse(r).size);
}

Result<std::optional<uint64_t>> S3ObjectStore::ExistingSizeByList(std::string_view key) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  const std::string object_key = ObjectKey(key);
  S3Request req;
  req.method = "GET";
  req.query = {{"list-type", "2"}, {"prefix", object_key}, {"max-keys", "1"}};
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client_.Send(req));
  if (r.status != 200) return client_.ErrorFor("ListObjectsV2", key, r);
  SIGIL_ASSIGN_OR_RETURN(ListObjectsPage page, ParseListObjectsV2(r.body));
  // The key itself sorts first among the keys it prefixes.
  for (const ListedObject& o : page.objects) {
    if (o.key == object_key) return std::optional<uint64_t>(o.size);
  }
  return std::optional<uint64_t>();
}

Result<bool> S3ObjectStore::Exists(std::string_view key) {
  Result<std::optional<uint64_t>> size = client_.options().exists == ExistsStrategy::kList
                                             ? ExistingSizeByList(key)
                                             : ExistingSizeByHead(key);
  if (!size.ok()) return size.status();
  return size->has_value();
}

Status S3ObjectStore::Delete(std::string_view key) {
  SIGIL_RETURN_IF_ERROR(ValidateKey(key));
  S3Request req;
  req.method = "DELETE";
  req.object_key = ObjectKey(key);
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client_.Send(req));
  if (r.status / 100 == 2 || r.status == 404) return Status::Ok();  // absent is fine
  return client_.ErrorFor("DeleteObject", key, r);
}

Result<std::vector<ListEntry>> S3ObjectStore::List(std::string_view prefix, size_t limit) {
  SIGIL_RETURN_IF_ERROR(ValidatePrefix(prefix));
  const std::string full_prefix = key_prefix_ + std::string(prefix);
  std::vector<ListEntry> out;
  std::string token;
  while (true) {
    size_t page_size = client_.options().list_page_size;
    if (limit != 0) page_size = std::min(page_size, limit - out.size());
    S3Request req;
    req.method = "GET";
    req.query = {{"list-type", "2"}, {"max-keys", std::to_string(page_size)}};
    if (!full_prefix.empty()) req.query.emplace_back("prefix", full_prefix);
    if (!token.empty()) req.query.emplace_back("continuation-token", token);
    SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client_.Send(req));
    if (r.status != 200) return client_.ErrorFor("ListObjectsV2", prefix, r);
    SIGIL_ASSIGN_OR_RETURN(ListObjectsPage page, ParseListObjectsV2(r.body));
    for (ListedObject& o : page.objects) {
      if (o.key.compare(0, full_prefix.size(), full_prefix) != 0) continue;  // defensive
      out.push_back(ListEntry{o.key.substr(key_prefix_.size()), o.size, o.last_modified});
      if (limit != 0 && out.size() >= limit) break;
    }
    if (!page.truncated || (limit != 0 && out.size() >= limit)) break;
    if (page.next_continuation_token == token) {
      return UpstreamError("S3 ListObjectsV2 '" + std::string(prefix) +
                           "': the server repeated a continuation token");
    }
    token = std::move(page.next_continuation_token);
  }
  // S3 lists in UTF-8 byte order already; sorting keeps the contract with servers that do not.
  std::sort(out.begin(), out.end(),
            [](const ListEntry& a, const ListEntry& b) { return a.key < b.key; });
  return out;
}

std::optional<std::string> S3ObjectStore::PublicUrl(std::string_view key) const {
  if (!ValidateKey(key).ok()) return std::nullopt;
  const S3Options& o = client_.options();
  if (!o.public_url.empty()) return o.public_url + "/" + UriEncode(ObjectKey(key), true);
  if (o.presign_expiry_s <= 0) return std::nullopt;
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return client_.PresignGet(ObjectKey(key), o.presign_expiry_s, now);
}

Status S3ObjectStore::Ping() {
  S3Request req;
  req.method = "HEAD";
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client_.Send(req));
  if (r.status / 100 == 2) return Status::Ok();
  Status s = client_.ErrorFor("HeadBucket", "", r);
  return Unavailable(s.message());
}

Result<std::unique_ptr<ObjectStore>> MakeS3ObjectStore(const std::string& url) {
  return MakeS3ObjectStore(url, S3Options{}.presign_expiry_s);
}

Result<std::unique_ptr<ObjectStore>> MakeS3ObjectStore(const std::string& url,
                                                       int default_presign_expiry_s) {
  EnvLookup env = ProcessEnv();
  SIGIL_ASSIGN_OR_RETURN(S3Options options, ParseS3Url(url, env, default_presign_expiry_s));
  SIGIL_ASSIGN_OR_RETURN(options.credentials, LoadCredentials(env));
  return std::unique_ptr<ObjectStore>(std::make_unique<S3ObjectStore>(std::move(options)));
}

}  // namespace sigil::storage::s3
