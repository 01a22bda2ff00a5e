// Mapping between sigil's object metadata and S3 headers: PutOptions -> request headers
// (Content-Type, Content-Encoding, x-amz-meta-<name>) and response headers -> ObjectInfo.
// Pure functions; thread-safe.
#pragma once

#include "common/status.h"
#include "storage/object_store.h"
#include "storage/s3/http_pool.h"
#include "storage/s3/sigv4_signer.h"

namespace sigil::storage::s3 {

// S3 limits user metadata (names + values of x-amz-meta-*) to 2 KiB.
inline constexpr size_t kMaxUserMetadataBytes = 2048;

// Headers that store `options` with an object. kInvalidArgument (naming the field) for metadata
// names outside [a-z0-9_-], values or content type/encoding outside printable ASCII, or more than 2
// KiB of metadata.
Result<HeaderList> ObjectHeaders(const PutOptions& options);

// ObjectInfo from a HEAD/GET response: size (Content-Length, or the total of a Content-Range),
// Content-Type, Content-Encoding, x-amz-meta-* (names lower-cased, prefix removed), Last-Modified,
// ETag.
ObjectInfo ObjectInfoFromResponse(const HttpResponse& response);

}  // namespace sigil::storage::s3
