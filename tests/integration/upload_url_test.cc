// Upload by download URL against a local plain-HTTP origin (allow_http_urls is on in the fixture).
#include <atomic>
#include <boost/json.hpp>

#include "upload/testing/http_origin.h"
#include "upload_fixture.h"

namespace sigil::upload {
namespace {

using testing::HttpOrigin;

class UploadUrlTest : public UploadIntegrationTest {
 protected:
  test::HttpResponse PostUrl(const std::string& url) {
    test::HttpClient client(server_->base_url());
    std::string body = "url=" + url;  // the test URLs need no escaping
    return client.Post(
        "/upload/", body,
        {{"Auth-Token", "upload"}, {"Content-Type", "application/x-www-form-urlencoded"}});
  }
};

TEST_F(UploadUrlTest, AllowedHostRedirectsAndFailures) {
  const std::string sample = testing::ReadFileOrDie(kUploadsDir + "sample.zip");
  std::atomic<int> flaky{0};
  HttpOrigin origin([&](const std::string& path) -> HttpOrigin::Reply {
    if (path == "/sample.zip") return {200, {}, sample};
    if (path == "/moved.zip") return {302, {{"Location", "/sample.zip"}}, ""};
    if (path == "/escape.zip") return {302, {{"Location", "http://localhost:9/sample.zip"}}, ""};
    if (path == "/flaky.zip") {
      return ++flaky == 1 ? HttpOrigin::Reply{500, {}, "busy"} : HttpOrigin::Reply{200, {}, sample};
    }
    return {404, {}, "not here"};
  });

  // Allowed host, via a redirect: stored, URL and redirects recorded.
  auto r = PostUrl(origin.Url("/moved.zip"));
  ASSERT_EQ(r.status, 201) << r.body;
  auto up = boost::json::parse(r.body).as_object().at("upload").as_object();
  EXPECT_EQ(up.at("download_url").as_string(), origin.Url("/moved.zip"));
  EXPECT_EQ(boost::json::serialize(up.at("redirect_urls")),
            "[\"" + origin.Url("/sample.zip") + "\"]");
  EXPECT_EQ(up.at("filename").as_string(), "moved.zip");
  EXPECT_EQ(StoredKeys().size(), 2u);

  // Disallowed host.
  auto bad_host = PostUrl("http://localhost:" + std::to_string(origin.port()) + "/sample.zip");
  EXPECT_EQ(bad_host.status, 400);
  EXPECT_EQ(bad_host.body, ErrorJson("Not an allowed domain ('localhost') to download from."));

  // A redirect to a disallowed host is checked too (**fix**).
  auto escape = PostUrl(origin.Url("/escape.zip"));
  EXPECT_EQ(escape.status, 400);
  EXPECT_EQ(escape.body, ErrorJson("Not an allowed domain ('localhost') to download from."));

  // Upstream 404.
  auto missing = PostUrl(origin.Url("/missing.zip"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, ErrorJson(origin.Url("/missing.zip") + " can't be found (404)"));

  // 500 then 200: retried and stored (already there, so skipped).
  auto retried = PostUrl(origin.Url("/flaky.zip"));
  ASSERT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(flaky.load(), 2);
  EXPECT_EQ(boost::json::parse(retried.body).at("upload").at("skipped_keys").as_array().size(), 2u);
}

TEST_F(UploadUrlTest, InsecureUrlRefusedWhenHttpIsNotAllowed) {
  config_.allow_http_urls = false;  // the service reads the config by reference
  auto r = PostUrl("http://127.0.0.1:1/sample.zip");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, ErrorJson("Insecure URL"));
  test::HttpClient client(server_->base_url());
  auto multipart =
      client.PostMultipart("/upload/", {{.name = "url", .data = "http://127.0.0.1:1/a.zip"}},
                           {{"Auth-Token", "upload"}});
  EXPECT_EQ(multipart.body, ErrorJson("Insecure URL"));
  EXPECT_EQ(UploadRows(), 0u);
}

}  // namespace
}  // namespace sigil::upload
