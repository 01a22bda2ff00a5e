#include "storage/s3/s3_reader.h"

#include "storage/s3/s3_metadata.h"

namespace sigil::storage::s3 {

Result<std::unique_ptr<ObjectReader>> S3ObjectReader::Open(S3Client& client, std::string object_key,
                                                           std::string display_key) {
  std::unique_ptr<S3ObjectReader> reader(
      new S3ObjectReader(client, std::move(object_key), std::move(display_key)));
  S3Request req;
  req.method = "GET";
  req.object_key = reader->object_key_;
  req.large_body = true;
  SIGIL_ASSIGN_OR_RETURN(reader->stream_, client.Open(req, "GetObject", reader->display_key_));
  reader->info_ = ObjectInfoFromResponse(reader->stream_->response());
  return std::unique_ptr<ObjectReader>(std::move(reader));
}

Status S3ObjectReader::Resume(const Status& cause) {
  stream_.reset();
  if (resumes_ >= client_.options().max_retries || info_.etag.empty()) {
    return cause.WithContext("S3 GetObject '" + display_key_ + "' at byte " +
                             std::to_string(offset_));
  }
  ++resumes_;
  S3Request req;
  req.method = "GET";
  req.object_key = object_key_;
  req.headers = {{"Range", "bytes=" + std::to_string(offset_) + "-"}, {"If-Match", info_.etag}};
  req.large_body = true;
  SIGIL_ASSIGN_OR_RETURN(stream_, client_.Open(req, "GetObject (resume)", display_key_));
  const HttpResponse& r = stream_->response();
  const std::string* range = r.FindHeader("content-range");
  const std::string expected = "bytes " + std::to_string(offset_) + "-";
  if (r.status != 206 || range == nullptr || range->compare(0, expected.size(), expected) != 0) {
    stream_.reset();
    return UpstreamError("S3 GetObject '" + display_key_ + "': resuming at byte " +
                         std::to_string(offset_) + " got HTTP " + std::to_string(r.status) +
                         " without the requested range");
  }
  return Status::Ok();
}

Result<size_t> S3ObjectReader::Read(char* buf, size_t size) {
  if (size == 0) return size_t{0};
  while (true) {
    if (stream_ == nullptr) {
      return Internal("S3 GetObject '" + display_key_ + "': read after a failed read");
    }
    Result<size_t> n = stream_->Read(buf, size);
    Status failure;
    if (n.ok() && *n > 0) {
      offset_ += *n;
      return n;
    }
    if (n.ok()) {
      if (offset_ >= info_.size) return size_t{0};  // the end
      failure = Unavailable("the connection ended after " + std::to_string(offset_) + " of " +
                            std::to_string(info_.size) + " bytes");
    } else {
      failure = n.status();
    }
    if (failure.code() != StatusCode::kUnavailable &&
        failure.code() != StatusCode::kDeadlineExceeded) {
      stream_.reset();
      return failure;
    }
    SIGIL_RETURN_IF_ERROR(Resume(failure));
  }
}

}  // namespace sigil::storage::s3
