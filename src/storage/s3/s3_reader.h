// Streaming GET of one S3 object as an ObjectReader. Bytes are pulled from the connection as the
// caller reads (at most ~64 KiB buffered), so memory stays bounded whatever the object's size. When
// the connection fails mid-body the reader resumes where it stopped with a ranged GET pinned to the
// ETag (If-Match), up to max_retries times; if the object changed meanwhile the read fails instead
// of splicing two versions. Not thread-safe (one reader, one thread at a time); must not outlive
// the client.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/object_store.h"
#include "storage/s3/s3_client.h"

namespace sigil::storage::s3 {

class S3ObjectReader : public ObjectReader {
 public:
  // Sends the GET and waits for the response head. kNotFound if the object does not exist.
  static Result<std::unique_ptr<ObjectReader>> Open(S3Client& client, std::string object_key,
                                                    std::string display_key);

  const ObjectInfo& info() const override { return info_; }
  Result<size_t> Read(char* buf, size_t size) override;

 private:
  S3ObjectReader(S3Client& client, std::string object_key, std::string display_key)
      : client_(client), object_key_(std::move(object_key)), display_key_(std::move(display_key)) {}
  // Re-opens the body at offset_ (Range + If-Match).
  Status Resume(const Status& cause);

  S3Client& client_;
  std::string object_key_;
  std::string display_key_;
  ObjectInfo info_;
  std::unique_ptr<HttpStream> stream_;
  uint64_t offset_ = 0;  // body bytes delivered so far
  int resumes_ = 0;
};

}  // namespace sigil::storage::s3
