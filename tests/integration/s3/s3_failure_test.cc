// Failure paths real S3 servers produce only sometimes, scripted: retries with backoff on 5xx/429,
// giving up, resuming a GET cut mid-body, aborting a failed multipart upload, errors inside a 200.
#include <gtest/gtest.h>

#include <random>

#include "integration/s3/scripted_http_server.h"
#include "storage/s3/s3_object_store.h"

namespace sigil::storage::s3 {
namespace {

using sigil::testing::ScriptedHttpServer;
using sigil::testing::ScriptedReply;
using sigil::testing::ScriptedRequest;

S3Options OptionsFor(const ScriptedHttpServer& server) {
  S3Options o;
  o.bucket = "bucket";
  o.endpoint = server.endpoint();
  o.credentials = {"AKID", "SECRET", ""};
  o.max_retries = 3;
  o.retry_base_ms = 1;
  o.retry_cap_ms = 5;
  return o;
}

std::string ErrorXml(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" +
         message + "</Message></Error>";
}

ScriptedReply ObjectHead(size_t size) {
  ScriptedReply r;
  r.headers = {{"ETag", "\"e\""}, {"Last-Modified", "Tue, 02 Jan 2024 03:04:05 GMT"}};
  r.content_length = static_cast<long>(size);
  return r;
}

TEST(S3Retries, RetriesServerErrorsThenSucceeds) {
  ScriptedHttpServer server([](const ScriptedRequest&, int i) {
    if (i == 0)
      return ScriptedReply{503, {}, ErrorXml("SlowDown", "Please reduce your request rate.")};
    if (i == 1) return ScriptedReply{429, {{"Retry-After", "0"}}, ""};
    if (i == 2) return ScriptedReply{500, {}, ErrorXml("InternalError", "oops")};
    return ObjectHead(42);
  });
  S3ObjectStore store(OptionsFor(server));
  auto info = store.Head("a/b.sym");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 42u);
  EXPECT_EQ(info->etag, "\"e\"");
  EXPECT_EQ(info->last_modified, 1704164645LL * 1000000);
  EXPECT_EQ(server.requests().size(), 4u);
  EXPECT_EQ(store.client().retries(), 3u);
  // Every attempt is signed afresh and addressed path-style.
  for (const auto& r : server.requests()) {
    EXPECT_EQ(r.target, "/bucket/a/b.sym");
    EXPECT_EQ(r.Header("authorization").rfind("AWS4-HMAC-SHA256 Credential=AKID/", 0), 0u);
    EXPECT_FALSE(r.Header("x-amz-date").empty());
  }
}

TEST(S3Retries, GivesUpAfterMaxRetries) {
  ScriptedHttpServer server([](const ScriptedRequest&, int) {
    return ScriptedReply{503, {}, ErrorXml("SlowDown", "Please reduce your request rate.")};
  });
  S3ObjectStore store(OptionsFor(server));
  Status s = store.Put("k.sym", "data", {});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("SlowDown"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("k.sym"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 4u);
  // The body was sent (and signed) on every attempt.
  for (const auto& r : server.requests()) EXPECT_EQ(r.body, "data");
}

TEST(S3Retries, ClientErrorsAreNotRetried) {
  ScriptedHttpServer server([](const ScriptedRequest&, int) {
    return ScriptedReply{400, {}, ErrorXml("InvalidArgument", "bad")};
  });
  S3ObjectStore store(OptionsFor(server));
  EXPECT_EQ(store.Put("k.sym", "data", {}).code(), StatusCode::kUpstream);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(S3Retries, RequestTimeoutIsRetried) {
  ScriptedHttpServer server([](const ScriptedRequest&, int i) {
    if (i == 0) return ScriptedReply{400, {}, ErrorXml("RequestTimeout", "slow")};
    return ScriptedReply{200, {{"ETag", "\"x\""}}, ""};
  });
  S3ObjectStore store(OptionsFor(server));
  EXPECT_TRUE(store.Put("k.sym", "data", {}).ok());
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(S3Reader, ResumesAfterTheConnectionIsCutMidBody) {
  std::string data(200000, '\0');
  std::mt19937 rng(7);
  for (char& c : data) c = static_cast<char>(rng());
  const size_t cut = 70000;
  ScriptedHttpServer server([&](const ScriptedRequest& req, int i) {
    ScriptedReply r;
    r.headers = {{"ETag", "\"v1\""}, {"Content-Type", "text/plain"}};
    if (i == 0) {
      r.body = data.substr(0, cut);
      r.content_length = static_cast<long>(data.size());  // promises more than it sends
      r.close_after = true;
      return r;
    }
    const std::string range = req.Header("range");
    const size_t from = std::stoul(range.substr(6));
    r.status = 206;
    r.headers.emplace_back("Content-Range", "bytes " + std::to_string(from) + "-" +
                                                std::to_string(data.size() - 1) + "/" +
                                                std::to_string(data.size()));
    r.body = data.substr(from);
    return r;
  });
  S3ObjectStore store(OptionsFor(server));
  auto reader = store.Get("big.sym");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->info().size, data.size());
  std::string got;
  char buf[10000];
  while (true) {
    auto n = (*reader)->Read(buf, sizeof buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_TRUE(got == data);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].Header("range"), "bytes=" + std::to_string(cut) + "-");
  EXPECT_EQ(requests[1].Header("if-match"), "\"v1\"");
}

TEST(S3Reader, FailsWhenTheObjectChangedBeforeTheResume) {
  ScriptedHttpServer server([](const ScriptedRequest&, int i) {
    if (i == 0) return ScriptedReply{200, {{"ETag", "\"v1\""}}, std::string(1000, 'a'), 5000, true};
    return ScriptedReply{412,
                         {},
                         ErrorXml("PreconditionFailed",
                                  "At least one of the pre-conditions you specified did not hold")};
  });
  S3ObjectStore store(OptionsFor(server));
  auto reader = store.Get("changing.sym");
  ASSERT_TRUE(reader.ok());
  char buf[4096];
  Status failure;
  while (true) {
    auto n = (*reader)->Read(buf, sizeof buf);
    if (!n.ok()) {
      failure = n.status();
      break;
    }
    ASSERT_NE(*n, 0u) << "a truncated object must not read as complete";
  }
  EXPECT_NE(failure.message().find("PreconditionFailed"), std::string::npos) << failure.message();
  EXPECT_NE(failure.message().find("changing.sym"), std::string::npos);
}

TEST(S3Multipart, FailedPartAbortsTheUpload) {
  ScriptedHttpServer server([](const ScriptedRequest& req, int) {
    if (req.method == "POST" && req.target.find("uploads") != std::string::npos) {
      return ScriptedReply{200,
                           {},
                           "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key>"
                           "<UploadId>UP&amp;1</UploadId></InitiateMultipartUploadResult>"};
    }
    if (req.method == "PUT" && req.target.find("partNumber=2") != std::string::npos) {
      return ScriptedReply{400, {}, ErrorXml("EntityTooSmall", "Your proposed upload is smaller")};
    }
    if (req.method == "PUT") return ScriptedReply{200, {{"ETag", "\"p\""}}, ""};
    return ScriptedReply{204, {}, ""};  // the abort
  });
  S3Options o = OptionsFor(server);
  o.multipart_threshold = 1000;
  o.part_size = 600;
  S3ObjectStore store(o);
  PutOptions opts;
  opts.content_type = "text/plain";
  opts.metadata = {{"original_size", "5"}};
  Status s = store.Put("mp.sym", std::string(1500, 'x'), opts);
  EXPECT_EQ(s.code(), StatusCode::kUpstream);
  EXPECT_NE(s.message().find("UploadPart 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("EntityTooSmall"), std::string::npos);
  EXPECT_NE(s.message().find("mp.sym"), std::string::npos);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].target, "/bucket/mp.sym?uploads=");
  EXPECT_EQ(requests[0].Header("content-type"), "text/plain");
  EXPECT_EQ(requests[0].Header("x-amz-meta-original_size"), "5");
  EXPECT_EQ(requests[1].target, "/bucket/mp.sym?partNumber=1&uploadId=UP%261");
  EXPECT_EQ(requests[1].body.size(), 600u);
  EXPECT_EQ(requests[3].method, "DELETE");
  EXPECT_EQ(requests[3].target, "/bucket/mp.sym?uploadId=UP%261");
}

TEST(S3Multipart, ErrorInsideA200CompleteIsAFailure) {
  ScriptedHttpServer server([](const ScriptedRequest& req, int) {
    if (req.target.find("uploads") != std::string::npos) {
      return ScriptedReply{
          200,
          {},
          "<InitiateMultipartUploadResult><UploadId>U</UploadId></InitiateMultipartUploadResult>"};
    }
    if (req.method == "PUT") return ScriptedReply{200, {{"ETag", "\"p\""}}, ""};
    if (req.method == "POST") {
      return ScriptedReply{
          200,
          {},
          "<?xml version=\"1.0\"?>\n" +
              ErrorXml("InvalidPart", "One or more of the specified parts could not be found.")};
    }
    return ScriptedReply{204, {}, ""};
  });
  S3Options o = OptionsFor(server);
  o.multipart_threshold = 10;
  o.part_size = 10;
  o.max_retries = 0;
  S3ObjectStore store(o);
  Status s = store.Put("c.sym", std::string(25, 'x'), {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("InvalidPart"), std::string::npos) << s.message();
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);  // create, 3 parts, complete, abort
  EXPECT_EQ(
      requests[4].body,
      "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;p&quot;</ETag></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;p&quot;</ETag></Part>"
      "<Part><PartNumber>3</PartNumber><ETag>&quot;p&quot;</ETag></Part></"
      "CompleteMultipartUpload>");
  EXPECT_EQ(requests[5].method, "DELETE");
}

TEST(S3Pool, ServerClosingKeptAliveConnectionsIsTransparent) {
  // Each connection serves one request and is then closed without notice; the next request must
  // still succeed (libcurl notices the dead connection and rewinds the body for a fresh one).
  ScriptedHttpServer server([](const ScriptedRequest&, int) {
    ScriptedReply r{200, {{"ETag", "\"x\""}}, ""};
    r.close_after = true;
    return r;
  });
  S3ObjectStore store(OptionsFor(server));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store.Put("k" + std::to_string(i), std::string(100000, 'y'), {}).ok()) << i;
  }
  EXPECT_EQ(server.connections(), 5);
  for (const auto& r : server.requests()) EXPECT_EQ(r.body.size(), 100000u);
}

TEST(S3Pool, ErrorResponsesKeepTheConnection) {
  ScriptedHttpServer server([](const ScriptedRequest& req, int) {
    if (req.method == "HEAD") return ScriptedReply{404, {}, ""};
    return ScriptedReply{404, {}, ErrorXml("NoSuchKey", "The specified key does not exist.")};
  });
  S3ObjectStore store(OptionsFor(server));
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(*store.Exists("miss"));
    EXPECT_EQ(store.Get("miss").status().code(), StatusCode::kNotFound);
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(store.client().pool_stats().connections_opened, 1u);
}

}  // namespace
}  // namespace sigil::storage::s3
