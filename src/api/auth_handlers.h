// HTTP routes of the auth API: POST /upload/auth_info/ (http-api.md §1-2), what upload clients ask
// before uploading: who the token belongs to, whether its uploads go to try, when it expires, and
// which upload API to use.
//
// Body: {"email": "...", "user_id": 1, "try_symbols": false, "token_expires_at": 1735689600,
//        "upload_api_version": 1}
// - try_symbols: true when the token may upload try symbols but not regular ones (it has
//   upload_try_symbols without upload_symbols): POST /upload/ stores its archives under try/.
// - token_expires_at: Unix time in whole seconds, as Mozilla's upload client
//   (symbols-upload, AuthInfo) parses it.
// - upload_api_version: 1, the zip archive API of POST /upload/ that sigil implements. Mozilla's
//   client maps 1 to that API and refuses to upload on 2 ("upload client not implemented"), and
//   Tecken defaults a token's preferred version to 1.
#pragma once

#include "auth/authenticator.h"
#include "http/message.h"
#include "http/route.h"

namespace sigil::api {

inline constexpr int kUploadApiVersion = 1;

// Registers POST /upload/auth_info/: any valid token (no particular permission); failures are the
// authenticator's 403s. `authenticator` must outlive the routes.
void RegisterAuthRoutes(http::RouteTable& routes, auth::Authenticator& authenticator);

// The handler body (exposed for tests): needs request.principal, else 403 Forbidden.
http::Response HandleAuthInfo(const http::Request& request);

}  // namespace sigil::api
