#include "api/download_handlers.h"

#include <chrono>
#include <memory>
#include <string>

#include "api/error_mapping.h"
#include "download/download_service.h"
#include "download/object_body.h"
#include "download/serve_plan.h"

namespace sigil::api {
namespace {

using download::DownloadRequest;
using download::DownloadResult;
using Clock = std::chrono::steady_clock;

bool WantsDebug(const http::Request& r) {
  auto d = r.Header("Debug");
  return d && (*d == "true" || *d == "1" || *d == "True");
}

void Finish(const http::Request& request, Clock::time_point start, http::Response response,
            const http::Responder& done) {
  response.headers.Add("Access-Control-Allow-Origin", "*");
  if (WantsDebug(request)) {
    double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    response.headers.Add("Debug-Time", std::to_string(seconds));
  }
  done(std::move(response));
}

http::Response Redirect(const std::string& location) {
  http::Response r;
  r.status = 302;
  r.headers.Add("Location", location);
  return r;
}

http::Response Serve(download::DownloadService& service, const http::Request& request,
                     DownloadResult& result, bool head) {
  if (!head && !result.location.empty())
    return Redirect(result.location);  // storage with a public URL
  download::ServeRequest sr;
  sr.accepts_gzip = request.AcceptsGzip();
  sr.if_none_match = request.Header("If-None-Match");
  sr.if_modified_since = request.Header("If-Modified-Since");
  if (request.method == "GET" || head) {
    sr.range = request.Header("Range");
    sr.if_range = request.Header("If-Range");
  }
  download::ServePlan plan = download::PlanServe(result.meta, sr);
  http::Response r;
  r.status = plan.status;
  for (auto& [name, value] : plan.headers) r.headers.Add(std::move(name), std::move(value));
  r.head_only = head;
  using Body = download::ServePlan::Body;
  if (plan.body == Body::kStored && result.local_file) {
    // The stored bytes go out with sendfile from a kept-open descriptor (none for HEAD).
    std::shared_ptr<const Fd> fd;
    if (!head) {
      auto opened = service.OpenLocal(result.storage_key);
      if (!opened.ok()) return ErrorResponse(opened.status(), "download " + request.path);
      fd = std::move(opened).value();
    }
    r.file = http::FileRange{std::move(fd), result.storage_key, plan.offset,
                             plan.length.value_or(result.meta.size)};
  } else if (plan.body != Body::kNone) {
    // Opened lazily by the first Read, which the server runs on the pool (never for HEAD).
    std::shared_ptr<download::ObjectBody> body =
        service.OpenBody(result.storage_key, plan.body == Body::kDecoded, plan.offset, plan.length);
    r.producer = [body](char* buf, size_t size) { return body->Read(buf, size); };
  }
  return r;
}

http::Response ToResponse(download::DownloadService& service, const http::Request& request,
                          DownloadResult& result, bool head) {
  using Kind = DownloadResult::Kind;
  switch (result.kind) {
    case Kind::kFound:
      return Serve(service, request, result, head);
    case Kind::kRedirect:
      return Redirect(result.location);
    case Kind::kIgnored:
      return http::Response::Text(404, "Symbol Not Found (and ignored)");
    case Kind::kNotFound:
      return http::Response::Text(404, "Symbol Not Found");
    case Kind::kInvalid:
      return http::Response::Text(400, result.message);
    case Kind::kError:
      break;
  }
  return ErrorResponse(result.status, "download " + request.path);
}

http::Handler DownloadHandler(download::DownloadService& service, bool try_prefix) {
  return [&service, try_prefix](http::Request& request, http::Responder done) {
    const Clock::time_point start = Clock::now();
    DownloadRequest dr;
    dr.debug_file = request.params["debug_file"];
    dr.debug_id = request.params["debug_id"];
    dr.filename = request.params["symbol_file"];
    dr.is_try = try_prefix || request.HasQueryParam("try");
    dr.head = request.method == "HEAD";
    dr.refresh = request.HasQueryParam("_refresh");
    dr.query = request.query;
    if (!dr.head) {
      dr.code_file = request.QueryParam("code_file").value_or("");
      dr.code_id = request.QueryParam("code_id").value_or("");
    }
    const bool head = dr.head;
    // The Request stays valid until `done` is called (http/server.h), so the callback may read it.
    service.Download(std::move(dr),
                     [&service, &request, start, head, done = std::move(done)](DownloadResult r) {
                       Finish(request, start, ToResponse(service, request, r, head), done);
                     });
  };
}

// Percent-encodes what may not appear raw in a URL path (keeps '/').
std::string EncodePath(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    bool keep =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        std::string_view("-._~/!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
    if (keep) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// Absolute URL of `path` on this server as the client addressed it (Host, X-Forwarded-Proto).
std::string AbsoluteUrl(const http::Request& request, std::string_view path) {
  auto host = request.Header("Host");
  if (!host || host->empty() || host->find_first_of(" /\\\"<>") != std::string_view::npos) {
    return EncodePath(path);
  }
  std::string scheme = "http";
  if (auto proto = request.Header("X-Forwarded-Proto"); proto && *proto == "https")
    scheme = "https";
  return scheme + "://" + std::string(*host) + EncodePath(path);
}

http::Handler SymInfoHandler(download::DownloadService& service) {
  return [&service](http::Request& request, http::Responder done) {
    const Clock::time_point start = Clock::now();
    auto rec = service.LookupSymbol(request.params["file"], request.params["id"],
                                    request.HasQueryParam("_refresh"));
    http::Response r;
    if (rec.ok()) {
      std::string json = "{\"debug_filename\":" + http::JsonQuote(rec->debug_filename) +
                         ",\"debug_id\":" + http::JsonQuote(rec->debug_id) +
                         ",\"code_file\":" + http::JsonQuote(rec->code_file) +
                         ",\"code_id\":" + http::JsonQuote(rec->code_id) +
                         ",\"generator\":" + http::JsonQuote(rec->generator) +
                         ",\"url\":" + http::JsonQuote(AbsoluteUrl(request, rec->UrlPath())) + "}";
      r = http::Response::Json(200, std::move(json));
    } else if (rec.status().code() == StatusCode::kNotFound) {
      r = http::Response::Text(404, "Code file / id Not Found");
    } else {
      r = ErrorResponse(rec.status(), "syminfo");
    }
    Finish(request, start, std::move(r), done);
  };
}

}  // namespace

void RegisterDownloadRoutes(http::RouteTable& routes, download::DownloadService& service) {
  http::RouteOptions inline_opts;
  inline_opts.inline_handler = true;
  inline_opts.max_body_bytes = 0;
  inline_opts.name = "download";
  routes.Add({"GET", "HEAD"}, "/{debug_file}/{debug_id}/{symbol_file}",
             DownloadHandler(service, false), inline_opts);
  inline_opts.name = "download_try";
  routes.Add({"GET", "HEAD"}, "/try/{debug_file}/{debug_id}/{symbol_file}",
             DownloadHandler(service, true), inline_opts);
  http::RouteOptions syminfo_opts;
  syminfo_opts.max_body_bytes = 0;
  syminfo_opts.name = "syminfo";
  routes.Add({"GET"}, "/api/syminfo/{file}/{id}", SymInfoHandler(service), syminfo_opts);
}

}  // namespace sigil::api
