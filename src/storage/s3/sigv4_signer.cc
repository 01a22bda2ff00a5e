#include "storage/s3/sigv4_signer.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/hashing.h"

namespace sigil::storage::s3 {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of spaces/tabs to one space ("Trimall").
std::string TrimAll(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  bool pending_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;  // "name:value\n" lines
  std::string signed_headers;
};

CanonicalHeaders Canonicalize(const HeaderList& headers) {
  // Stable sort by lower-case name keeps duplicate headers in their order of appearance.
  std::vector<std::pair<std::string, std::string>> lowered;
  lowered.reserve(headers.size());
  for (const auto& [name, value] : headers) lowered.emplace_back(Lower(name), TrimAll(value));
  std::stable_sort(lowered.begin(), lowered.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  CanonicalHeaders out;
  for (size_t i = 0; i < lowered.size();) {
    size_t j = i;
    std::string value;
    while (j < lowered.size() && lowered[j].first == lowered[i].first) {
      if (j > i) value.push_back(',');
      value += lowered[j].second;
      ++j;
    }
    out.block += lowered[i].first + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += lowered[i].first;
    i = j;
  }
  return out;
}

std::string SignedHeaderNames(const HeaderList& headers) {
  return Canonicalize(headers).signed_headers;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string AmzDate(int64_t unix_time) {
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalQuery(const HeaderList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

SigV4Signer::SigV4Signer(Credentials credentials, std::string region, std::string service)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)) {}

SignatureDetails SigV4Signer::Sign(const SigningRequest& request, std::string_view canonical_query,
                                   std::string_view payload_hash,
                                   const std::string& amz_date) const {
  const std::string date = amz_date.substr(0, 8);
  SignatureDetails d;
  d.credential_scope = date + "/" + region_ + "/" + service_ + "/aws4_request";
  CanonicalHeaders headers = Canonicalize(request.headers);
  d.signed_headers = headers.signed_headers;
  d.canonical_request = request.method + "\n" + request.canonical_uri + "\n" +
                        std::string(canonical_query) + "\n" + headers.block + "\n" +
                        headers.signed_headers + "\n" + std::string(payload_hash);
  d.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + d.credential_scope + "\n" +
                     Sha256Hex(d.canonical_request);
  std::string key = HmacSha256Raw("AWS4" + credentials_.secret_access_key, date);
  key = HmacSha256Raw(key, region_);
  key = HmacSha256Raw(key, service_);
  key = HmacSha256Raw(key, "aws4_request");
  d.signature = HexEncode(HmacSha256Raw(key, d.string_to_sign));
  return d;
}

SignatureDetails SigV4Signer::SignHeaders(SigningRequest& request, std::string_view payload_hash,
                                          int64_t unix_time) const {
  const std::string amz_date = AmzDate(unix_time);
  request.headers.emplace_back("X-Amz-Date", amz_date);
  if (!credentials_.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  }
  SignatureDetails d = Sign(request, CanonicalQuery(request.query), payload_hash, amz_date);
  request.headers.emplace_back(
      "Authorization", std::string(kAlgorithm) + " Credential=" + credentials_.access_key_id + "/" +
                           d.credential_scope + ",SignedHeaders=" + d.signed_headers +
                           ",Signature=" + d.signature);
  return d;
}

std::string SigV4Signer::Presign(const SigningRequest& request, std::string_view payload_hash,
                                 int64_t unix_time, int64_t expires_s,
                                 SignatureDetails* details) const {
  const std::string amz_date = AmzDate(unix_time);
  HeaderList query = request.query;
  query.emplace_back("X-Amz-Algorithm", std::string(kAlgorithm));
  query.emplace_back("X-Amz-Credential", credentials_.access_key_id + "/" + amz_date.substr(0, 8) +
                                             "/" + region_ + "/" + service_ + "/aws4_request");
  query.emplace_back("X-Amz-Date", amz_date);
  query.emplace_back("X-Amz-Expires", std::to_string(expires_s));
  if (!credentials_.session_token.empty()) {
    query.emplace_back("X-Amz-Security-Token", credentials_.session_token);
  }
  query.emplace_back("X-Amz-SignedHeaders", SignedHeaderNames(request.headers));
  const std::string canonical_query = CanonicalQuery(query);
  SignatureDetails d = Sign(request, canonical_query, payload_hash, amz_date);
  std::string out = canonical_query + "&X-Amz-Signature=" + d.signature;
  if (details != nullptr) *details = std::move(d);
  return out;
}

}  // namespace sigil::storage::s3
