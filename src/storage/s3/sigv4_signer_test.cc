// The SigV4 signer against the official aws-c-auth suite (38 cases, header and query modes) and the
// S3 API Reference worked examples (../shared/testdata/sigv4).
#include "storage/s3/sigv4_signer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/hashing.h"
#include "storage/s3/s3_client.h"
#include "storage/s3/s3_xml.h"

namespace sigil::storage::s3 {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

const fs::path kSigV4Dir = fs::path(SIGIL_SHARED_DIR) / "testdata" / "sigv4";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

HeaderList ParseQuery(std::string_view q) {
  HeaderList out;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(PercentDecode(part), "");
    } else {
      out.emplace_back(PercentDecode(part.substr(0, eq)), PercentDecode(part.substr(eq + 1)));
    }
  }
  return out;
}

// Removes dot segments and empty segments, as aws-c-auth does when `normalize` is set (S3 never
// does).
std::string NormalizePath(const std::string& path) {
  std::vector<std::string> segs;
  std::stringstream ss(path);
  std::string seg;
  while (std::getline(ss, seg, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string out;
  for (const auto& s : segs) out += "/" + s;
  if (out.empty()) return "/";
  if (path.back() == '/') out += "/";
  return out;
}

struct SuiteCase {
  SigningRequest request;
  std::string body;
};

// request.txt: request line, headers (continuation lines start with whitespace), blank line, body.
SuiteCase ParseRequestFile(const std::string& text) {
  SuiteCase c;
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  const std::string& first = lines[0];
  size_t sp = first.find(' ');
  size_t proto = first.rfind(" HTTP/");
  c.request.method = first.substr(0, sp);
  std::string target = first.substr(sp + 1, proto - sp - 1);
  size_t q = target.find('?');
  c.request.canonical_uri = target.substr(0, q);
  if (q != std::string::npos) c.request.query = ParseQuery(target.substr(q + 1));
  size_t i = 1;
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    if (lines[i][0] == ' ' || lines[i][0] == '\t') {
      c.request.headers.back().second += "\n" + lines[i];
      continue;
    }
    size_t colon = lines[i].find(':');
    c.request.headers.emplace_back(lines[i].substr(0, colon), lines[i].substr(colon + 1));
  }
  for (++i; i < lines.size(); ++i) {
    c.body += lines[i];
    if (i + 1 < lines.size()) c.body += "\n";
  }
  return c;
}

std::vector<std::string> SuiteCases() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kSigV4Dir / "aws-c-auth" / "v4")) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class AwsSuiteTest : public ::testing::TestWithParam<std::string> {};

TEST(AwsSuite, AllCasesPresent) { EXPECT_EQ(SuiteCases().size(), 38u); }

TEST_P(AwsSuiteTest, HeaderAndQueryModes) {
  const fs::path dir = kSigV4Dir / "aws-c-auth" / "v4" / GetParam();
  json::object ctx = json::parse(ReadFile(dir / "context.json")).as_object();
  const json::object& cj = ctx.at("credentials").as_object();
  Credentials creds{std::string(cj.at("access_key_id").as_string()),
                    std::string(cj.at("secret_access_key").as_string()), ""};
  const bool omit_token =
      ctx.contains("omit_session_token") && ctx.at("omit_session_token").as_bool();
  if (cj.contains("token") && !omit_token)
    creds.session_token = std::string(cj.at("token").as_string());
  auto time = ParseIso8601(std::string(ctx.at("timestamp").as_string()));
  ASSERT_TRUE(time.has_value());
  const int64_t unix_time = *time / 1000000;
  SigV4Signer signer(creds, std::string(ctx.at("region").as_string()),
                     std::string(ctx.at("service").as_string()));

  SuiteCase c = ParseRequestFile(ReadFile(dir / "request.txt"));
  std::string path = c.request.canonical_uri;
  if (ctx.at("normalize").as_bool()) path = NormalizePath(path);
  c.request.canonical_uri = UriEncode(path, /*keep_slash=*/true);
  const bool sign_body = ctx.at("sign_body").as_bool();
  const std::string payload_hash = Sha256Hex(sign_body ? c.body : "");

  // Header mode.
  SigningRequest header_req = c.request;
  if (sign_body) header_req.headers.emplace_back("x-amz-content-sha256", payload_hash);
  SignatureDetails h = signer.SignHeaders(header_req, payload_hash, unix_time);
  EXPECT_EQ(h.canonical_request, ReadFile(dir / "header-canonical-request.txt"));
  EXPECT_EQ(h.string_to_sign, ReadFile(dir / "header-string-to-sign.txt"));
  EXPECT_EQ(h.signature, ReadFile(dir / "header-signature.txt"));
  const std::string signed_request = ReadFile(dir / "header-signed-request.txt");
  EXPECT_NE(signed_request.find("SignedHeaders=" + h.signed_headers + ", Signature=" + h.signature),
            std::string::npos);
  ASSERT_EQ(header_req.headers.back().first, "Authorization");
  EXPECT_EQ(header_req.headers.back().second,
            "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + h.credential_scope +
                ",SignedHeaders=" + h.signed_headers + ",Signature=" + h.signature);

  // Query (presigned) mode.
  SignatureDetails q;
  std::string query = signer.Presign(c.request, payload_hash, unix_time,
                                     ctx.at("expiration_in_seconds").as_int64(), &q);
  EXPECT_EQ(q.canonical_request, ReadFile(dir / "query-canonical-request.txt"));
  EXPECT_EQ(q.string_to_sign, ReadFile(dir / "query-string-to-sign.txt"));
  EXPECT_EQ(q.signature, ReadFile(dir / "query-signature.txt"));
  // Same parameters as the reference signed request line (whose order is not canonical).
  std::string line = ReadFile(dir / "query-signed-request.txt");
  line = line.substr(0, line.find('\n'));
  std::string target = line.substr(line.find(' ') + 1);
  target = target.substr(0, target.rfind(" HTTP/"));
  HeaderList expected = ParseQuery(target.substr(target.find('?') + 1));
  HeaderList got = ParseQuery(query);
  if (omit_token) {
    // aws-c-auth adds the token after signing; we were given credentials without it.
    std::erase_if(expected, [](const auto& p) { return p.first == "X-Amz-Security-Token"; });
  }
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(ParseQuery(query).back(),
            (std::pair<std::string, std::string>("X-Amz-Signature", q.signature)));
}

INSTANTIATE_TEST_SUITE_P(AwsCAuthV4, AwsSuiteTest, ::testing::ValuesIn(SuiteCases()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

class S3DocExamples : public ::testing::Test {
 protected:
  void SetUp() override {
    doc_ = json::parse(ReadFile(kSigV4Dir / "s3-doc-examples.json")).as_object();
    const json::object& common = doc_.at("common").as_object();
    creds_ = {std::string(common.at("access_key_id").as_string()),
              std::string(common.at("secret_access_key").as_string()), ""};
    auto t = ParseIso8601("2013-05-24T00:00:00Z");
    ASSERT_TRUE(t.has_value());
    unix_time_ = *t / 1000000;
  }
  const json::object& Example(std::string_view id) {
    for (const auto& e : doc_.at("examples").as_array()) {
      if (e.as_object().at("id").as_string() == id) return e.as_object();
    }
    ADD_FAILURE() << "no example " << id;
    static json::object empty;
    return empty;
  }

  json::object doc_;
  Credentials creds_;
  int64_t unix_time_ = 0;
};

TEST_F(S3DocExamples, HeaderExamples) {
  SigV4Signer signer(creds_, "us-east-1", "s3");
  for (const char* id :
       {"get-object-range", "put-object", "get-bucket-lifecycle", "list-objects"}) {
    SCOPED_TRACE(id);
    const json::object& ex = Example(id);
    const json::object& in = ex.at("input").as_object();
    const json::object& want = ex.at("expected").as_object();
    SigningRequest req;
    req.method = std::string(in.at("method").as_string());
    req.canonical_uri = UriEncode(std::string(in.at("path").as_string()), true);
    req.query = ParseQuery(std::string(in.at("query").as_string()));
    std::string payload_hash;
    for (const auto& h : in.at("headers").as_array()) {
      std::string name(h.as_array()[0].as_string());
      std::string value(h.as_array()[1].as_string());
      if (name == "x-amz-date") continue;  // the signer adds it
      if (name == "x-amz-content-sha256") payload_hash = value;
      req.headers.emplace_back(name, value);
    }
    EXPECT_EQ(payload_hash, Sha256Hex(std::string(in.at("body").as_string())));
    SignatureDetails d = signer.SignHeaders(req, payload_hash, unix_time_);
    EXPECT_EQ(d.canonical_request, want.at("canonical_request").as_string());
    EXPECT_EQ(d.string_to_sign, want.at("string_to_sign").as_string());
    EXPECT_EQ(d.signature, want.at("signature").as_string());
    EXPECT_EQ(req.headers.back().second, want.at("authorization").as_string());
  }
}

TEST_F(S3DocExamples, PresignedGet) {
  const json::object& ex = Example("presigned-get-object");
  const json::object& want = ex.at("expected").as_object();
  SigV4Signer signer(creds_, "us-east-1", "s3");
  SigningRequest req{"GET", "/test.txt", {}, {{"host", "examplebucket.s3.amazonaws.com"}}};
  SignatureDetails d;
  std::string query = signer.Presign(req, kUnsignedPayload, unix_time_, 86400, &d);
  EXPECT_EQ(d.canonical_request, want.at("canonical_request").as_string());
  EXPECT_EQ(d.string_to_sign, want.at("string_to_sign").as_string());
  EXPECT_EQ(d.signature, want.at("signature").as_string());
  EXPECT_EQ("https://examplebucket.s3.amazonaws.com/test.txt?" + query,
            want.at("presigned_url").as_string());
}

TEST_F(S3DocExamples, ClientPresignsVirtualHostUrl) {
  // The whole client path: addressing, key encoding, signing.
  S3Options o;
  o.bucket = "examplebucket";
  o.endpoint = "https://s3.amazonaws.com";
  o.addressing = Addressing::kVirtual;
  o.credentials = creds_;
  S3Client client(o);
  EXPECT_EQ(
      client.PresignGet("test.txt", 86400, unix_time_),
      Example("presigned-get-object").at("expected").as_object().at("presigned_url").as_string());
}

TEST(SigV4, UriEncode) {
  EXPECT_EQ(UriEncode("a b/c~d_e-f.g", true), "a%20b/c~d_e-f.g");
  EXPECT_EQ(UriEncode("a b/c", false), "a%20b%2Fc");
  EXPECT_EQ(UriEncode("$+=&?%\xe1\x88\xb4", false), "%24%2B%3D%26%3F%25%E1%88%B4");
}

TEST(SigV4, SessionTokenIsSignedInHeaderMode) {
  SigV4Signer signer({"AKID", "SECRET", "TOKEN"}, "eu-west-1");
  SigningRequest req{"GET", "/b/k", {}, {{"Host", "h"}}};
  SignatureDetails d = signer.SignHeaders(req, Sha256Hex(""), 0);
  EXPECT_EQ(d.signed_headers, "host;x-amz-date;x-amz-security-token");
  EXPECT_EQ(d.credential_scope, "19700101/eu-west-1/s3/aws4_request");
}

}  // namespace
}  // namespace sigil::storage::s3
