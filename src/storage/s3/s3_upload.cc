#include "storage/s3/s3_upload.h"

#include <vector>

#include "storage/s3/s3_xml.h"

namespace sigil::storage::s3 {
namespace {

constexpr uint64_t kMaxParts = 10000;

Status PutSingle(S3Client& client, std::string_view object_key, std::string_view display_key,
                 const BodySource& body, const HeaderList& object_headers) {
  S3Request req;
  req.method = "PUT";
  req.object_key = std::string(object_key);
  req.headers = object_headers;
  req.body = body;
  req.large_body = body.length > (1u << 20);  // no total timeout; the stall timeout still applies
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client.Send(req));
  if (r.status / 100 != 2) return client.ErrorFor("PutObject", display_key, r);
  return Status::Ok();
}

void AbortBestEffort(S3Client& client, std::string_view object_key, const std::string& upload_id) {
  S3Request req;
  req.method = "DELETE";
  req.object_key = std::string(object_key);
  req.query = {{"uploadId", upload_id}};
  (void)client.Send(req);  // best effort: the error being reported is the original one
}

Status UploadParts(S3Client& client, std::string_view object_key, std::string_view display_key,
                   const BodySource& body, const std::string& upload_id) {
  const uint64_t part_size = EffectivePartSize(body.length, client.options().part_size);
  std::vector<std::string> etags;
  for (uint64_t offset = 0; offset < body.length; offset += part_size) {
    const std::string part_number = std::to_string(etags.size() + 1);
    S3Request req;
    req.method = "PUT";
    req.object_key = std::string(object_key);
    req.query = {{"partNumber", part_number}, {"uploadId", upload_id}};
    req.body = body.Slice(offset, std::min(part_size, body.length - offset));
    req.large_body = true;
    SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client.Send(req));
    if (r.status / 100 != 2) {
      return client.ErrorFor("UploadPart " + part_number, display_key, r);
    }
    const std::string* etag = r.FindHeader("etag");
    if (etag == nullptr || etag->empty()) {
      return UpstreamError("S3 UploadPart " + part_number + " '" + std::string(display_key) +
                           "': the response has no ETag");
    }
    etags.push_back(*etag);
  }

  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           XmlEscape(etags[i]) + "</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  S3Request req;
  req.method = "POST";
  req.object_key = std::string(object_key);
  req.query = {{"uploadId", upload_id}};
  req.headers = {{"Content-Type", "application/xml"}};
  req.body = BodySource::Memory(xml);
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client.Send(req));
  // S3 may answer 200 and report the failure in the body.
  if (r.status / 100 != 2 || IsErrorDocument(r.body)) {
    if (r.status / 100 == 2) r.status = 500;
    return client.ErrorFor("CompleteMultipartUpload", display_key, r);
  }
  return Status::Ok();
}

}  // namespace

uint64_t EffectivePartSize(uint64_t length, uint64_t part_size) {
  if (part_size == 0) part_size = 1;
  if ((length + part_size - 1) / part_size <= kMaxParts) return part_size;
  constexpr uint64_t kMiB = 1 << 20;
  uint64_t min_size = (length + kMaxParts - 1) / kMaxParts;
  return (min_size + kMiB - 1) / kMiB * kMiB;
}

Status UploadObject(S3Client& client, std::string_view object_key, std::string_view display_key,
                    const BodySource& body, const HeaderList& object_headers) {
  if (body.length < client.options().multipart_threshold) {
    return PutSingle(client, object_key, display_key, body, object_headers);
  }
  S3Request create;
  create.method = "POST";
  create.object_key = std::string(object_key);
  create.query = {{"uploads", ""}};
  create.headers = object_headers;
  SIGIL_ASSIGN_OR_RETURN(HttpResponse r, client.Send(create));
  if (r.status / 100 != 2) return client.ErrorFor("CreateMultipartUpload", display_key, r);
  SIGIL_ASSIGN_OR_RETURN(std::string upload_id, ParseInitiateMultipartUpload(r.body));

  Status s = UploadParts(client, object_key, display_key, body, upload_id);
  if (!s.ok()) AbortBestEffort(client, object_key, upload_id);
  return s;
}

}  // namespace sigil::storage::s3
