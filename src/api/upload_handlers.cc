#include "api/upload_handlers.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "api/error_mapping.h"
#include "common/clock.h"
#include "upload/multipart_delimiters.h"
#include "upload/multipart_parser.h"
#include "upload/temp_file.h"

namespace sigil::api {
namespace {

constexpr std::string_view kNeedFile = "Must be multipart form data with at least one file";

// Learns where a multipart body's parts end while the body is spooled (http::BodyObserver), so
// the handler need not read a large upload back to find them.
class MultipartObserver final : public http::BodyObserver {
 public:
  explicit MultipartObserver(std::string_view boundary) : delimiters_(boundary) {}
  void Observe(std::string_view bytes) override { delimiters_.Feed(bytes); }
  const upload::MultipartDelimiters& delimiters() const { return delimiters_; }

 private:
  upload::MultipartDelimiters delimiters_;
};

// RouteOptions::body_observer of the upload route: one for multipart/form-data bodies.
std::shared_ptr<http::BodyObserver> ObserveMultipart(const http::Request& request) {
  auto boundary = upload::MultipartBoundary(request.Header("Content-Type").value_or(""));
  if (!boundary.ok()) return nullptr;
  return std::make_shared<MultipartObserver>(*boundary);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// **fix**: "0", "false" and "" mean not try.
bool Truthy(std::string_view v) {
  std::string l = Lower(v);
  return !(l.empty() || l == "0" || l == "false");
}

bool HasExtension(std::string_view name) {
  size_t dot = name.rfind('.');
  return dot != std::string_view::npos && dot + 1 < name.size() &&
         name.find('/', dot) == std::string_view::npos;
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += http::JsonQuote(items[i]);
  }
  return out + "]";
}

// What the request asks for, whatever its encoding.
struct UploadForm {
  std::optional<upload::MultipartPart> file;
  std::optional<std::string> url;
  std::optional<std::string> try_field;
};

Result<UploadForm> ParseUrlEncoded(std::string_view body) {
  UploadForm form;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body.remove_prefix(amp == std::string_view::npos ? body.size() : amp + 1);
    size_t eq = pair.find('=');
    auto key = http::PercentDecode(pair.substr(0, eq), true);
    auto value = http::PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return InvalidArgument("Malformed form data");
    if (*key == "url" && !form.url) form.url = *value;
    if (*key == "try" && !form.try_field) form.try_field = *value;
  }
  return form;
}

Result<UploadForm> ParseForm(const http::Request& request, const upload::BodySource& body) {
  std::string content_type(request.Header("Content-Type").value_or(""));
  std::string media = Lower(content_type.substr(0, content_type.find(';')));
  media.erase(std::remove(media.begin(), media.end(), ' '), media.end());
  if (media == "application/x-www-form-urlencoded") {
    if (body.size() > 64 * 1024) return InvalidArgument(std::string(kNeedFile));
    std::string text(static_cast<size_t>(body.size()), '\0');
    SIGIL_ASSIGN_OR_RETURN(size_t n, body.ReadAt(0, text.data(), text.size()));
    text.resize(n);
    return ParseUrlEncoded(text);
  }
  if (media != "multipart/form-data") return InvalidArgument(std::string(kNeedFile));
  SIGIL_ASSIGN_OR_RETURN(std::string boundary, upload::MultipartBoundary(content_type));
  const auto* observer = dynamic_cast<const MultipartObserver*>(request.body_observer.get());
  SIGIL_ASSIGN_OR_RETURN(
      auto parts,
      upload::ParseMultipart(body, boundary, {}, observer ? &observer->delimiters() : nullptr));
  UploadForm form;
  for (auto& part : parts) {
    if (part.filename) {
      if (!form.file) form.file = std::move(part);
    } else if (part.name == "url" && !form.url) {
      form.url = part.value;
    } else if (part.name == "try" && !form.try_field) {
      form.try_field = part.value;
    }
  }
  return form;
}

}  // namespace

std::string UploadJson(const db::Upload& u, const std::string& bucket,
                       const std::string& fallback_user) {
  std::string j = "{\"upload\": {";
  j += "\"id\": " + std::to_string(u.id);
  j += ", \"size\": " + std::to_string(u.size);
  j += ", \"filename\": " + http::JsonQuote(u.filename);
  j += ", \"bucket\": " + http::JsonQuote(u.bucket_name.empty() ? bucket : u.bucket_name);
  j += ", \"download_url\": " + (u.download_url ? http::JsonQuote(*u.download_url) : "null");
  j += ", \"try_symbols\": " + std::string(u.try_symbols ? "true" : "false");
  j += ", \"redirect_urls\": " + JsonList(u.redirect_urls);
  j += ", \"completed_at\": " +
       (u.completed_at ? http::JsonQuote(FormatIso8601(*u.completed_at)) : "null");
  j += ", \"created_at\": " + http::JsonQuote(FormatIso8601(u.created_at));
  j += ", \"user\": " + http::JsonQuote(u.user_email.empty() ? fallback_user : u.user_email);
  j += ", \"skipped_keys\": " + JsonList(u.skipped_keys);
  j += ", \"ignored_keys\": " + JsonList(u.ignored_keys);
  j += "}}";
  return j;
}

http::Response HandleUpload(http::Request& request, upload::UploadService& service) {
  if (!request.principal) return http::Response::Error(403, "Forbidden");
  const http::Principal& who = *request.principal;
  if (!who.Has("upload_symbols") && !who.Has("upload_try_symbols")) {
    return http::Response::Error(403, "Forbidden");
  }

  std::unique_ptr<upload::BodySource> body;
  if (!request.body_file.empty()) {
    auto file = upload::FileBodySource(request.body_file);
    if (!file.ok()) return ErrorResponse(file.status(), "upload body");
    body = std::move(file).value();
  } else {
    body = upload::MemoryBodySource(request.body);
  }
  auto form = ParseForm(request, *body);
  if (!form.ok()) return ErrorResponse(form.status(), "upload form");
  // A try-only token always uploads to try.
  bool is_try = (form->try_field && Truthy(*form->try_field)) || !who.Has("upload_symbols");

  Result<db::Upload> result = InvalidArgument(std::string(kNeedFile));
  if (form->file) {
    const upload::MultipartPart& part = *form->file;
    upload::UploadRequest up;
    up.user_id = who.user_id;
    up.user_email = who.email;
    up.filename = HasExtension(part.name) || !part.filename ? part.name : *part.filename;
    up.try_symbols = is_try;
    upload::TempFile copy;  // an in-memory body is written out so libzip can read it in place
    if (!request.body_file.empty()) {
      up.archive = upload::ArchiveFile{request.body_file, part.offset, part.length};
    } else {
      auto tmp = upload::TempFile::Create(service.tmp_dir(), "body-");
      if (!tmp.ok()) return ErrorResponse(tmp.status(), "upload body");
      copy = std::move(tmp).value();
      Status w = copy.Append(std::string_view(request.body).substr(part.offset, part.length));
      if (!w.ok()) return ErrorResponse(w, "upload body");
      up.archive = upload::ArchiveFile{copy.path(), 0, part.length};
    }
    result = service.Upload(up);
  } else if (form->url && !form->url->empty()) {
    upload::UrlUploadRequest up;
    up.user_id = who.user_id;
    up.user_email = who.email;
    up.url = *form->url;
    up.try_symbols = is_try;
    result = service.UploadFromUrl(up);
  }
  if (!result.ok()) return ErrorResponse(result.status(), "upload");
  return http::Response::Json(201, UploadJson(*result, service.BucketName(), who.email));
}

void RegisterUploadRoutes(http::RouteTable& routes, upload::UploadService& service,
                          http::PreBodyHook authenticate, uint64_t max_upload_bytes) {
  http::RouteOptions options;
  options.max_body_bytes = max_upload_bytes;
  options.spool_body = true;
  options.body_observer = ObserveMultipart;
  options.authenticate = std::move(authenticate);
  options.name = "upload";
  routes.Add(
      {"POST"}, "/upload/",
      [&service](http::Request& request, http::Responder respond) {
        respond(HandleUpload(request, service));
      },
      std::move(options));
}

}  // namespace sigil::api
