#include "storage/s3/s3_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>

#include "storage/object_store.h"

namespace sigil::storage::s3 {
namespace {

Status Bad(std::string_view what) { return InvalidArgument("s3 URL: " + std::string(what)); }

template <typename T>
Status ParseNumber(std::string_view name, std::string_view text, int64_t min, int64_t max, T& out) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) {
    return Bad("parameter '" + std::string(name) + "' must be an integer in [" +
               std::to_string(min) + ", " + std::to_string(max) + "], got '" + std::string(text) +
               "'");
  }
  out = static_cast<T>(v);
  return Status::Ok();
}

Status ParseBool(std::string_view name, std::string_view text, bool& out) {
  if (text == "true" || text == "1") {
    out = true;
  } else if (text == "false" || text == "0") {
    out = false;
  } else {
    return Bad("parameter '" + std::string(name) + "' must be true or false, got '" +
               std::string(text) + "'");
  }
  return Status::Ok();
}

// scheme://host[:port] with an optional trailing '/'; returns it without the '/'.
Result<std::string> NormalizeBaseUrl(std::string_view name, std::string_view text,
                                     bool allow_path) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed)
    return Bad("parameter '" + std::string(name) + "' is not a URL: '" + std::string(text) + "'");
  const boost::urls::url_view& u = *parsed;
  if (u.scheme() != "http" && u.scheme() != "https") {
    return Bad("parameter '" + std::string(name) + "' must be an http:// or https:// URL");
  }
  if (u.encoded_host().empty() || u.has_userinfo() || u.has_query() || u.has_fragment()) {
    return Bad("parameter '" + std::string(name) +
               "' must be scheme://host[:port] without user, query or fragment");
  }
  std::string out(text);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (!allow_path && !u.encoded_path().empty() && u.encoded_path() != "/") {
    return Bad("parameter '" + std::string(name) + "' must not have a path");
  }
  return out;
}

bool IsDnsCompatibleBucket(std::string_view b) {
  for (char c : b) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status ValidateS3Options(const S3Options& o) {
  if (o.bucket.size() < 3 || o.bucket.size() > 63) {
    return Bad("bucket name '" + o.bucket + "' must be 3 to 63 characters");
  }
  for (char c : o.bucket) {
    auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_')) {
      return Bad("bucket name '" + o.bucket +
                 "' may only contain letters, digits, '-', '.' and '_'");
    }
  }
  if (!std::isalnum(static_cast<unsigned char>(o.bucket.front())) ||
      !std::isalnum(static_cast<unsigned char>(o.bucket.back()))) {
    return Bad("bucket name '" + o.bucket + "' must start and end with a letter or digit");
  }
  if (o.addressing == Addressing::kVirtual && !IsDnsCompatibleBucket(o.bucket)) {
    return Bad("bucket name '" + o.bucket +
               "' is not a DNS name (lower-case letters, digits, '-', '.'): use addressing=path");
  }
  if (!o.prefix.empty()) {
    Status s = ValidateKey(o.prefix);
    if (!s.ok()) return Bad("prefix: " + s.message());
  }
  if (o.region.empty()) return Bad("region is empty");
  for (char c : o.region) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return Bad("region '" + o.region + "' may only contain letters, digits, '-' and '_'");
    }
  }
  if (o.endpoint.empty()) return Bad("endpoint is empty");
  SIGIL_RETURN_IF_ERROR(NormalizeBaseUrl("endpoint", o.endpoint, false).status());
  if (!o.public_url.empty()) {
    SIGIL_RETURN_IF_ERROR(NormalizeBaseUrl("public_url", o.public_url, true).status());
  }
  if (o.presign_expiry_s < 0 || o.presign_expiry_s > 604800) {
    return Bad("presign_expiry must be in [0, 604800] seconds");
  }
  if (o.list_page_size < 1 || o.list_page_size > 1000) return Bad("list page size must be 1..1000");
  if (o.part_size < 1 || o.multipart_threshold < 1)
    return Bad("part_size and multipart_threshold must be positive");
  if (o.max_retries < 0 || o.retry_base_ms < 0 || o.retry_cap_ms < 0 || o.connect_timeout_ms < 0 ||
      o.timeout_ms < 0 || o.stall_timeout_ms < 0) {
    return Bad("timeouts and retries must not be negative");
  }
  return Status::Ok();
}

Result<S3Options> ParseS3Url(std::string_view url, const EnvLookup& env,
                             int default_presign_expiry_s) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Bad("'" + std::string(url) + "' is not a URL");
  const boost::urls::url_view& u = *parsed;
  if (u.scheme() != "s3")
    return Bad("expected an s3:// URL, got scheme '" + std::string(u.scheme()) + "'");
  if (u.has_userinfo() || u.has_port() || u.has_fragment()) {
    return Bad(
        "s3:// URL must not carry user, port or fragment (credentials come from the AWS "
        "environment variables or ~/.aws/credentials)");
  }

  S3Options o;
  o.presign_expiry_s = default_presign_expiry_s;
  o.bucket = std::string(u.host());
  if (o.bucket.empty()) return Bad("missing bucket: expected s3://<bucket>/<prefix>");
  std::string path = std::string(u.path());
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  o.prefix = path;

  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto v = env(var); v && !v->empty()) {
      o.region = *v;
      break;
    }
  }

  bool addressing_set = false;
  for (const auto& p : u.params(boost::urls::encoding_opts(false, false, false))) {
    const std::string key = p.key;
    const std::string value = p.has_value ? p.value : std::string();
    if (key == "endpoint") {
      SIGIL_ASSIGN_OR_RETURN(o.endpoint, NormalizeBaseUrl(key, value, false));
    } else if (key == "region") {
      o.region = value;
    } else if (key == "addressing") {
      if (value == "path") {
        o.addressing = Addressing::kPath;
      } else if (value == "virtual") {
        o.addressing = Addressing::kVirtual;
      } else {
        return Bad("parameter 'addressing' must be path or virtual, got '" + value + "'");
      }
      addressing_set = true;
    } else if (key == "public_url") {
      SIGIL_ASSIGN_OR_RETURN(o.public_url, NormalizeBaseUrl(key, value, true));
    } else if (key == "presign_expiry") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 0, 604800, o.presign_expiry_s));
    } else if (key == "exists") {
      if (value == "head") {
        o.exists = ExistsStrategy::kHead;
      } else if (value == "list") {
        o.exists = ExistsStrategy::kList;
      } else {
        return Bad("parameter 'exists' must be head or list, got '" + value + "'");
      }
    } else if (key == "connect_timeout_ms") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 1, 600000, o.connect_timeout_ms));
    } else if (key == "timeout_ms") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 0, 3600000, o.timeout_ms));
    } else if (key == "stall_timeout_ms") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 1000, 3600000, o.stall_timeout_ms));
    } else if (key == "retries") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 0, 20, o.max_retries));
    } else if (key == "max_idle_connections") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 1, 4096, o.max_idle_connections));
    } else if (key == "multipart_threshold") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 5ll << 20, 5ll << 30, o.multipart_threshold));
    } else if (key == "part_size") {
      SIGIL_RETURN_IF_ERROR(ParseNumber(key, value, 5ll << 20, 5ll << 30, o.part_size));
    } else if (key == "verify_tls") {
      SIGIL_RETURN_IF_ERROR(ParseBool(key, value, o.verify_tls));
    } else {
      return Bad("unknown parameter '" + key +
                 "' (known: endpoint, region, addressing, public_url, presign_expiry, exists, "
                 "connect_timeout_ms, timeout_ms, stall_timeout_ms, retries, max_idle_connections, "
                 "multipart_threshold, part_size, verify_tls)");
    }
  }
  if (o.endpoint.empty()) {
    o.endpoint = "https://s3." + o.region + ".amazonaws.com";
    if (!addressing_set) {
      o.addressing = IsDnsCompatibleBucket(o.bucket) && o.bucket.find('.') == std::string::npos
                         ? Addressing::kVirtual
                         : Addressing::kPath;
    }
  }
  SIGIL_RETURN_IF_ERROR(ValidateS3Options(o));
  return o;
}

}  // namespace sigil::storage::s3
