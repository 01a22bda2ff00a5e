// Writing an object: one signed PUT below the multipart threshold, else a multipart upload
// (CreateMultipartUpload, UploadPart x N, CompleteMultipartUpload). Either way the object appears
// atomically. A failed multipart upload is aborted best-effort (AbortMultipartUpload; its result is
// ignored, as some S3-compatible servers do not implement it). Every part is SHA-256-signed, so the
// server rejects a body that changed on the way.
// Thread-safe (uses the client only); blocks for the duration of the upload.
#pragma once

#include <string_view>

#include "common/status.h"
#include "storage/s3/s3_client.h"

namespace sigil::storage::s3 {

// Uploads `body` as `object_key` with `object_headers` (from ObjectHeaders). `display_key` names
// the object in error messages.
Status UploadObject(S3Client& client, std::string_view object_key, std::string_view display_key,
                    const BodySource& body, const HeaderList& object_headers);

// The part size used for a body of `length` bytes: `part_size`, raised (to a multiple of 1 MiB) so
// the upload needs at most 10000 parts.
uint64_t EffectivePartSize(uint64_t length, uint64_t part_size);

}  // namespace sigil::storage::s3
