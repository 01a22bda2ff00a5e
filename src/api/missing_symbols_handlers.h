// Routes of the missing-symbols reports (spec §3):
//   GET /missingsymbols.csv      text/csv attachment "missing-symbols-YYYY-MM-DD.csv", header
//                                debug_file,debug_id,code_file,code_id; rows modified in the last
//                                24 h
//                                (`?today`: since 00:00 UTC today).
//   GET /api/missingsymbols/     paginated JSON (Tecken's shape):
//       {"records": [{"id","debug_file","debug_id","filename","code_file","code_id","count",
//                     "created_at","modified_at"}], "total_count", "page", "batch_size",
//        "order_by": {"sort", "reverse"}}
//     Query: page (>= 1, default 1), batch_size (1..1000, default 100), filters debug_file (alias
//     symbol), debug_id (alias debugid), filename, code_file, code_id (exact match), modified_at
//     (">=DATE" / ">DATE" / "DATE" / "today" / "yesterday", DATE = YYYY-MM-DD or an ISO 8601 time),
//     sort (modified_at, created_at, count, debug_file, debug_id, filename; default modified_at)
//     and reverse (true/false; default true). A bad parameter is a 400 {"error": "..."} naming it.
// Both run on the worker pool; pending coalesced counts are flushed first, so they are included.
#pragma once

#include "http/route.h"

namespace sigil::download {
class DownloadService;
}

namespace sigil::api {

// `service` must outlive the server the routes are served by.
void RegisterMissingSymbolsRoutes(http::RouteTable& routes, download::DownloadService& service);

}  // namespace sigil::api
