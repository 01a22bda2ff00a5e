#include "upload/url_fetcher.h"

#include <gtest/gtest.h>

#include <atomic>

#include "upload/testing/http_origin.h"
#include "upload/testing/zip_builder.h"

namespace sigil::upload {
namespace {

using testing::HttpOrigin;

UploadConfig TestConfig() {
  UploadConfig c;
  c.allow_http_urls = true;
  c.allowed_url_hosts = {"127.0.0.1"};
  c.url_retries = 2;
  c.url_timeout_ms = 5000;
  return c;
}

UrlFetcher Fetcher(const UploadConfig& c) {
  return UrlFetcher(c, ::testing::TempDir(), std::chrono::milliseconds(10));
}

TEST(UrlFetcherTest, ChecksSchemeAndHost) {
  UploadConfig c;
  c.allowed_url_hosts = {"symbols.example.com"};
  UrlFetcher f = Fetcher(c);
  EXPECT_EQ(f.CheckUrl("http://symbols.example.com/a.zip").message(), "Insecure URL");
  EXPECT_EQ(f.CheckUrl("ftp://symbols.example.com/a.zip").message(), "Insecure URL");
  EXPECT_EQ(f.CheckUrl("https://evil.example.com/a.zip").message(),
            "Not an allowed domain ('evil.example.com') to download from.");
  EXPECT_TRUE(f.CheckUrl("https://Symbols.Example.com/a.zip").ok());
}

TEST(UrlFetcherTest, DownloadsFollowingCheckedRedirects) {
  HttpOrigin origin([](const std::string& path) -> HttpOrigin::Reply {
    if (path == "/start.zip") return {302, {{"Location", "/final.zip"}}, "moved"};
    if (path == "/final.zip") return {200, {}, "ZIPBYTES"};
    return {404, {}, ""};
  });
  UploadConfig c = TestConfig();
  auto r = Fetcher(c).Fetch(origin.Url("/start.zip"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size, 8u);
  EXPECT_EQ(testing::ReadFileOrDie(r->file.path()), "ZIPBYTES");
  EXPECT_EQ(r->redirect_urls, std::vector<std::string>{origin.Url("/final.zip")});
}

TEST(UrlFetcherTest, RedirectToDisallowedHostIsRefused) {
  HttpOrigin origin([](const std::string&) -> HttpOrigin::Reply {
    return {302, {{"Location", "http://localhost:1/x.zip"}}, ""};
  });
  UploadConfig c = TestConfig();
  auto r = Fetcher(c).Fetch(origin.Url("/a.zip"));
  EXPECT_EQ(r.status().message(), "Not an allowed domain ('localhost') to download from.");
}

TEST(UrlFetcherTest, TooManyRedirects) {
  HttpOrigin origin([](const std::string& path) -> HttpOrigin::Reply {
    return {302, {{"Location", path + "x"}}, ""};
  });
  UploadConfig c = TestConfig();
  std::string url = origin.Url("/a.zip");
  auto r = Fetcher(c).Fetch(url);
  EXPECT_EQ(r.status().message(), "Too many redirects trying to open " + url);
  EXPECT_EQ(origin.requests(), c.url_max_redirects + 1);
}

TEST(UrlFetcherTest, NotFoundIs400AndServerErrorsAreRetried) {
  std::atomic<int> calls{0};
  HttpOrigin origin([&](const std::string& path) -> HttpOrigin::Reply {
    if (path == "/missing.zip") return {404, {}, "nope"};
    if (path == "/flaky.zip")
      return ++calls < 2 ? HttpOrigin::Reply{500, {}, "oops"} : HttpOrigin::Reply{200, {}, "OK"};
    return {503, {}, ""};
  });
  UploadConfig c = TestConfig();
  UrlFetcher f = Fetcher(c);
  auto missing = f.Fetch(origin.Url("/missing.zip"));
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.status().message(), origin.Url("/missing.zip") + " can't be found (404)");
  auto flaky = f.Fetch(origin.Url("/flaky.zip"));
  ASSERT_TRUE(flaky.ok()) << flaky.status().ToString();
  EXPECT_EQ(testing::ReadFileOrDie(flaky->file.path()), "OK");
  EXPECT_EQ(calls.load(), 2);
  int before = origin.requests();
  auto down = f.Fetch(origin.Url("/down.zip"));
  EXPECT_EQ(down.status().code(), StatusCode::kInternal);
  EXPECT_EQ(origin.requests() - before, c.url_retries + 1);
}

TEST(UrlFetcherTest, SizeLimitAndConnectionErrors) {
  HttpOrigin origin([](const std::string&) -> HttpOrigin::Reply {
    return {200, {}, std::string(5000, 'x')};
  });
  UploadConfig c = TestConfig();
  c.max_archive_bytes = 1000;
  EXPECT_EQ(Fetcher(c).Fetch(origin.Url("/big.zip")).status().code(), StatusCode::kTooLarge);
  c = TestConfig();
  c.url_retries = 1;
  // Nothing listens on port 1.
  EXPECT_EQ(Fetcher(c).Fetch("http://127.0.0.1:1/a.zip").status().code(), StatusCode::kInternal);
}

TEST(UrlFetcherTest, FileName) {
  EXPECT_EQ(UrlFileName("https://h/a/b/sym%20s.zip?x=1"), "sym s.zip");
  EXPECT_EQ(UrlFileName("https://h/"), "");
}

}  // namespace
}  // namespace sigil::upload
