// ObjectStore on any S3-compatible service (AWS S3, MinIO, Ceph RGW, Cloudflare R2, GCS interop).
//
// Keys map to "<prefix>/<key>" in the bucket. Put/PutFile use one PUT or a multipart upload (atomic
// either way); Get streams; Head/Exists use HEAD (Exists may use ListObjectsV2 instead, see
// S3Options::exists and docs/benchmarks.md); List pages through ListObjectsV2 with continuation
// tokens (no delimiter). PublicUrl: <public_url>/<prefix>/<key> when configured, else a presigned
// GET URL valid presign_expiry seconds, else (expiry 0) nullopt so sigil proxies the bytes. Name()
// is the bucket; HasLocalFiles() is false (OpenLocal refuses). All methods are thread-safe and
// blocking (see ObjectStore).
//
// Server code obtains it through MakeS3ObjectStore(url); the class is public for tests and
// benchmarks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/object_store.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_url.h"

namespace sigil::storage::s3 {

class S3ObjectStore : public ObjectStore {
 public:
  // Precondition: ValidateS3Options(options).ok() (MakeS3ObjectStore checks it).
  explicit S3ObjectStore(S3Options options);

  std::string Name() const override;
  Status Put(std::string_view key, std::string_view data, const PutOptions& options) override;
  Status PutFile(std::string_view key, const std::string& path, const PutOptions& options) override;
  Result<std::unique_ptr<ObjectReader>> Get(std::string_view key) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<bool> Exists(std::string_view key) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<ListEntry>> List(std::string_view prefix, size_t limit = 0) override;
  std::optional<std::string> PublicUrl(std::string_view key) const override;
  Status Ping() override;

  // The two ways of answering "does `key` exist, and how big is it" (nullopt = absent), benchmarked
  // in bench/s3_exists: a HEAD, or a ListObjectsV2 with the key as prefix and max-keys=1.
  Result<std::optional<uint64_t>> ExistingSizeByHead(std::string_view key);
  Result<std::optional<uint64_t>> ExistingSizeByList(std::string_view key);

  const S3Client& client() const { return client_; }

 private:
  std::string ObjectKey(std::string_view key) const;

  S3Client client_;
  std::string key_prefix_;  // "<prefix>/" or ""
};

// Builds the S3 store for a storage URL (format in s3_url.h and docs/storage-s3.md), reading
// credentials from the AWS environment variables or ~/.aws/credentials. kInvalidArgument naming the
// bad part on a bad URL or missing credentials. Does not contact the server (call Ping() for that).
Result<std::unique_ptr<ObjectStore>> MakeS3ObjectStore(const std::string& url);
// The same, with the presigned-URL lifetime to use when the URL has no presign_expiry parameter
// (pass Config::download.presign_expiry_s; 0 = no presigned URLs, sigil proxies the bytes).
Result<std::unique_ptr<ObjectStore>> MakeS3ObjectStore(const std::string& url,
                                                       int default_presign_expiry_s);

}  // namespace sigil::storage::s3
