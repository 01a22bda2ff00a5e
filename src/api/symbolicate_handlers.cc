#include "api/symbolicate_handlers.h"

#include <cctype>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "api/error_mapping.h"
#include "symbolication/request_json.h"

namespace sigil::api {
namespace {

using symbolication::ApiVersion;

// Eliot's validation errors: 400 with both "error" and "title".
http::Response BadRequest(const std::string& message) {
  std::string q = http::JsonQuote(message);
  return http::Response::Json(400, "{\"error\": " + q + ", \"title\": " + q + "}");
}

http::Response FromStatus(const Status& status) {
  if (status.code() == StatusCode::kInvalidArgument) return BadRequest(status.message());
  return ErrorResponse(status, "symbolicate");
}

bool IsDebug(const http::Request& req) {
  auto v = req.Header("Debug");
  if (!v) return false;
  std::string s(*v);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return !(s.empty() || s == "0" || s == "false" || s == "no" || s == "off");
}

Result<std::string> Body(const http::Request& req) {
  if (req.body_file.empty()) return req.body;
  std::ifstream in(req.body_file, std::ios::binary);
  if (!in) return Internal("reading spooled body " + req.body_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

http::Handler MakeHandler(symbolication::SymbolicationService& service, ApiVersion version) {
  return [&service, version](http::Request& req, http::Responder respond) {
    auto body = Body(req);
    if (!body.ok()) return respond(FromStatus(body.status()));
    auto parsed = symbolication::ParseSymbolicateRequest(*body, version, service.config().max_jobs);
    if (!parsed.ok()) return respond(FromStatus(parsed.status()));
    const bool debug = version == ApiVersion::kV5 && IsDebug(req);
    parsed->debug = debug;
    // v4 answers knownModules from the request's memoryMap; keep it past the move.
    auto v4_request = std::make_shared<symbolication::SymbolicateRequest>();
    if (version == ApiVersion::kV4) v4_request->jobs = parsed->jobs;
    service.Symbolicate(
        std::move(parsed).value(),
        [respond, version, debug, v4_request](Result<symbolication::SymbolicateResponse> r) {
          if (!r.ok()) return respond(FromStatus(r.status()));
          if (version == ApiVersion::kV4) {
            return respond(http::Response::Json(200, symbolication::FormatV4(*v4_request, *r)));
          }
          respond(http::Response::Json(200, symbolication::FormatV5(*r, debug)));
        });
  };
}

}  // namespace

void RegisterSymbolicationRoutes(http::RouteTable& routes,
                                 symbolication::SymbolicationService& service) {
  http::RouteOptions v5;
  v5.name = "symbolicate_v5";
  routes.Add({"POST"}, "/symbolicate/v5", MakeHandler(service, ApiVersion::kV5), v5);
  http::RouteOptions v4;
  v4.name = "symbolicate_v4";
  routes.Add({"POST"}, "/symbolicate/v4", MakeHandler(service, ApiVersion::kV4), v4);
}

}  // namespace sigil::api
