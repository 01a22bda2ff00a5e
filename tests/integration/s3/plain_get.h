// PlainGet: an unauthenticated GET (libcurl) for the S3 integration tests, to check public and
// presigned URLs the way a browser or symbol client would fetch them. Link CURL::libcurl.
#pragma once

#include <curl/curl.h>

#include <string>
#include <utility>

namespace sigil::storage::s3 {

// GET of `url` without any credentials; returns the HTTP status (0 if the transfer failed) and
// the body.
inline std::pair<long, std::string> PlainGet(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* u) {
        static_cast<std::string*>(u)->append(p, s * n);
        return s * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return {status, body};
}

}  // namespace sigil::storage::s3
