// Minimal, safe extraction of values from S3's XML responses (errors, ListObjectsV2, multipart).
//
// This is deliberately not an XML parser: S3 response documents are flat, machine-written and
// small, and we need a handful of leaf elements from them. The rules:
//   - an element is found by its literal tags `<Name>` ... `</Name>` (or `<Name/>`, empty);
//   attributes on
//     the wanted elements, namespace prefixes, CDATA and comments are not supported (S3 sends none
//     there);
//   - the first `</Name>` after `<Name>` closes it, so an element may not contain one of its own
//   name
//     (true for every element read here);
//   - text is decoded for the five predefined entities and numeric character references (&#NN;
//   &#xNN;,
//     emitted as UTF-8); nothing else is expanded, so there is no entity-expansion attack surface;
//   - input is a bounded string_view (the HTTP layer caps response bodies); no recursion, linear
//   time.
// Malformed or unexpected documents yield kUpstream errors, never crashes. Thread-safe (pure
// functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sigil::storage::s3 {

// Raw (undecoded) inner text of every `<tag>` element in `xml`, in order.
std::vector<std::string_view> XmlElements(std::string_view xml, std::string_view tag);
// Decoded text of the first `<tag>` element, or nullopt if there is none / its entities are
// malformed.
std::optional<std::string> XmlText(std::string_view xml, std::string_view tag);
// Decodes entity and character references; nullopt if one is malformed or unknown.
std::optional<std::string> XmlDecode(std::string_view raw);
// Escapes & < > " ' for element text.
std::string XmlEscape(std::string_view text);

// "2024-01-02T03:04:05.123Z" (fraction optional) -> microseconds since the epoch.
std::optional<TimestampMicros> ParseIso8601(std::string_view s);

// <Error><Code>..</Code><Message>..</Message>...</Error>; empty fields when absent.
struct S3ErrorBody {
  std::string code;
  std::string message;
};
S3ErrorBody ParseErrorBody(std::string_view xml);
// True if the document is an <Error> document (S3 can answer 200 with one for
// CompleteMultipartUpload).
bool IsErrorDocument(std::string_view xml);

struct ListedObject {
  std::string key;
  uint64_t size = 0;
  TimestampMicros last_modified = 0;
  std::string etag;
};
struct ListObjectsPage {
  std::vector<ListedObject> objects;
  bool truncated = false;
  std::string next_continuation_token;  // set when truncated
};
// A ListObjectsV2 result (ListBucketResult).
Result<ListObjectsPage> ParseListObjectsV2(std::string_view xml);

// The UploadId of an InitiateMultipartUploadResult.
Result<std::string> ParseInitiateMultipartUpload(std::string_view xml);

}  // namespace sigil::storage::s3
