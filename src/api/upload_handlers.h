// HTTP routes of the upload API (http-api.md §2): POST /upload/ with a multipart archive or a
// download URL. Thin: parses the request (streaming multipart over the spooled body), decides
// try/permissions, calls upload::UploadService, maps the result to the spec's 201 JSON or an error
// response.
#pragma once

#include <cstdint>
#include <string>

#include "db/database.h"
#include "http/message.h"
#include "http/route.h"
#include "upload/upload_service.h"

namespace sigil::api {

// Registers POST /upload/ (spool_body, max_body_bytes = max_upload_bytes, `authenticate` as the
// route's pre-body hook, e.g. auth::Authenticator::Hook({"upload_symbols", "upload_try_symbols"})).
// `service` must outlive the routes. Other methods get the server's 405 with Allow: POST.
void RegisterUploadRoutes(http::RouteTable& routes, upload::UploadService& service,
                          http::PreBodyHook authenticate, uint64_t max_upload_bytes);

// The handler itself (exposed for tests): blocking, runs on the worker pool.
http::Response HandleUpload(http::Request& request, upload::UploadService& service);

// {"upload": {...}} exactly as the spec's 201 body.
std::string UploadJson(const db::Upload& upload, const std::string& bucket,
                       const std::string& fallback_user);

}  // namespace sigil::api
