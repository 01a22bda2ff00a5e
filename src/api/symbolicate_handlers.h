// POST /symbolicate/v5 and POST /symbolicate/v4 (../shared/spec/http-api.md §4; Eliot-compatible).
//
// The handler runs on the worker pool: it parses and validates the JSON body (400 with
// {"error": title, "title": title} and Eliot's messages), hands the request to the
// SymbolicationService (which resolves modules in parallel on the pool) and responds from the
// service's callback. Request header `Debug: true` adds the "debug" block to v5 responses.
#pragma once

#include "http/route.h"
#include "symbolication/symbolication_service.h"

namespace sigil::api {

// `service` is borrowed and must outlive the server.
void RegisterSymbolicationRoutes(http::RouteTable& routes,
                                 symbolication::SymbolicationService& service);

}  // namespace sigil::api
