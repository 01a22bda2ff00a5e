// Routes of symbol downloads (spec §3): GET|HEAD /{debug_file}/{debug_id}/{symbol_file},
// GET|HEAD /try/{debug_file}/{debug_id}/{symbol_file}, and GET /api/syminfo/{file}/{id}.
//
// The download routes are inline_handler routes: a memo hit is answered on the io thread; the
// service hops to the worker pool itself when it has to look something up. Bodies are a file range
// (sendfile) for objects on local storage sent as stored, else a pulled stream (decoded gzip,
// remote storage) that the server runs on the pool. Every response carries
// `Access-Control-Allow-Origin: *`; a request with `Debug: true` gets `Debug-Time: <seconds>`.
#pragma once

#include "http/route.h"

namespace sigil::download {
class DownloadService;
}

namespace sigil::api {

// `service` must outlive the server the routes are served by.
void RegisterDownloadRoutes(http::RouteTable& routes, download::DownloadService& service);

}  // namespace sigil::api
