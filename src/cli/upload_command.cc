#include "cli/upload_command.h"

#include <curl/curl.h>
#include <unistd.h>
#include <zip.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

namespace sigil::cli {
namespace {

namespace fs = std::filesystem;

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

struct Progress {
  std::ostream* err = nullptr;
  bool enabled = true;
  bool terminal = false;
  std::string label;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last{};
  int last_percent = -1;
};

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t total, curl_off_t sent) {
  auto* p = static_cast<Progress*>(user);
  if (!p->enabled || total <= 0) return 0;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - p->start).count();
  double rate = elapsed > 0 ? static_cast<double>(sent) / elapsed : 0;
  int percent = static_cast<int>(100 * sent / total);
  double eta = rate > 0 ? static_cast<double>(total - sent) / rate : 0;
  char line[256];
  if (p->terminal) {
    if (now - p->last < std::chrono::milliseconds(100) && sent != total) return 0;
    p->last = now;
    constexpr int kWidth = 30;
    std::string bar(static_cast<size_t>(kWidth * percent / 100), '#');
    bar.resize(kWidth, '.');
    std::snprintf(line, sizeof line, "\r%s [%s] %3d%% %s/s ETA %ds   ", p->label.c_str(),
                  bar.c_str(), percent, HumanBytes(rate).c_str(), static_cast<int>(eta));
    *p->err << line << std::flush;
  } else if (percent / 10 != p->last_percent / 10) {
    p->last_percent = percent;
    std::snprintf(line, sizeof line, "%s: %d%% of %s sent (%s/s, ETA %ds)\n", p->label.c_str(),
                  percent, HumanBytes(static_cast<double>(total)).c_str(), HumanBytes(rate).c_str(),
                  static_cast<int>(eta));
    *p->err << line << std::flush;
  }
  return 0;
}

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct Attempt {
  long status = 0;
  std::string body;
  std::string error;  // transport error
};

Attempt PostOnce(const UploadOptions& o, const std::string& zip, const std::string& field,
                 Progress& progress) {
  Attempt a;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    a.error = "curl_easy_init failed";
    return a;
  }
  curl_mime* mime = curl_mime_init(curl);
  curl_mimepart* part = curl_mime_addpart(mime);
  curl_mime_name(part, field.c_str());
  curl_mime_filedata(part, zip.c_str());
  curl_mime_filename(part, field.c_str());
  curl_mime_type(part, "application/zip");
  if (o.try_symbols) {
    curl_mimepart* t = curl_mime_addpart(mime);
    curl_mime_name(t, "try");
    curl_mime_data(t, "1", CURL_ZERO_TERMINATED);
  }
  std::string endpoint = o.url;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  endpoint += "/upload/";
  std::string auth = "Auth-Token: " + o.token;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, endpoint.c_str());
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(o.timeout_s));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &progress);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  } else {
    a.error = curl_easy_strerror(rc);
  }
  if (progress.terminal && progress.enabled) *progress.err << "\n";
  curl_slist_free_all(headers);
  curl_mime_free(mime);
  curl_easy_cleanup(curl);
  return a;
}

// Non-directory entries of a zip (for the "stored" count); -1 if unreadable.
long CountFiles(const std::string& zip_path) {
  int err = 0;
  zip_t* z = zip_open(zip_path.c_str(), ZIP_RDONLY, &err);
  if (z == nullptr) return -1;
  long files = 0;
  zip_int64_t n = zip_get_num_entries(z, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(z, static_cast<zip_uint64_t>(i), 0);
    if (name != nullptr && *name != '\0' && name[std::strlen(name) - 1] != '/') ++files;
  }
  zip_discard(z);
  return files;
}

int UploadOne(const UploadOptions& o, const std::string& path, std::ostream& out,
              std::ostream& err) {
  std::string zip = path;
  std::string temp;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    temp = (fs::temp_directory_path() / ("sigil-upload-" + std::to_string(::getpid()) + "-" +
                                         fs::path(path).filename().string() + ".zip"))
               .string();
    std::string error;
    err << "zipping " << path << "\n";
    if (!ZipDirectory(path, temp, &error)) {
      err << "error: " << error << "\n";
      return 1;
    }
    zip = temp;
  } else if (!fs::is_regular_file(path, ec)) {
    err << "error: " << path << " is neither a zip file nor a directory\n";
    return 1;
  }
  struct Cleanup {
    std::string p;
    ~Cleanup() {
      if (!p.empty()) ::unlink(p.c_str());
    }
  } cleanup{temp};

  std::string base = fs::path(path).filename().string();
  if (base.empty()) base = fs::path(path).parent_path().filename().string();
  std::string field = temp.empty() ? base : base + ".zip";

  Progress progress;
  progress.err = &err;
  progress.enabled = o.progress;
  progress.terminal = o.progress && (&err == &std::cerr) && ::isatty(STDERR_FILENO);
  progress.label = field;
  auto backoff = o.first_backoff;
  for (int attempt = 1;; ++attempt) {
    progress.start = std::chrono::steady_clock::now();
    progress.last_percent = -1;
    Attempt a = PostOnce(o, zip, field, progress);
    bool retry = !a.error.empty() || a.status == 429 || a.status >= 500;
    if (!retry && a.status >= 200 && a.status < 300) {
      out << a.body << "\n";
      try {
        auto up = boost::json::parse(a.body).at("upload");
        long skipped = static_cast<long>(up.at("skipped_keys").as_array().size());
        long ignored = static_cast<long>(up.at("ignored_keys").as_array().size());
        long files = CountFiles(zip);
        out << field << ": stored "
            << (files >= 0 ? std::to_string(files - skipped - ignored) : "?") << ", skipped "
            << skipped << ", ignored " << ignored << "\n";
      } catch (const std::exception&) {
        out << field << ": uploaded (unexpected response format)\n";
      }
      return 0;
    }
    std::string what =
        a.error.empty() ? "HTTP " + std::to_string(a.status) + ": " + a.body : a.error;
    if (!retry) {
      err << "error: upload of " << path << " failed: " << what << "\n";
      return 1;
    }
    if (attempt >= o.max_tries) {
      err << "error: upload of " << path << " failed after " << attempt << " tries: " << what
          << "\n";
      return 1;
    }
    err << "attempt " << attempt << " failed (" << what << "); retrying in " << backoff.count()
        << " ms\n";
    std::this_thread::sleep_for(backoff);
    backoff *= 2;
  }
}

}  // namespace

bool ZipDirectory(const std::string& dir, const std::string& zip_path, std::string* error) {
  int err = 0;
  zip_t* z = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (z == nullptr) {
    *error = "cannot create " + zip_path;
    return false;
  }
  std::error_code ec;
  size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string rel = fs::relative(it->path(), dir).generic_string();
    zip_source_t* src = zip_source_file(z, it->path().c_str(), 0, -1);
    if (src == nullptr || zip_file_add(z, rel.c_str(), src, ZIP_FL_ENC_UTF_8) < 0) {
      if (src != nullptr) zip_source_free(src);
      *error = "cannot add " + rel + ": " + zip_strerror(z);
      zip_discard(z);
      return false;
    }
    ++files;
  }
  if (ec) {
    *error = "cannot read " + dir + ": " + ec.message();
    zip_discard(z);
    return false;
  }
  if (files == 0) {
    *error = dir + " contains no files";
    zip_discard(z);
    return false;
  }
  if (zip_close(z) != 0) {
    *error = std::string("writing ") + zip_path + ": " + zip_strerror(z);
    zip_discard(z);
    return false;
  }
  return true;
}

int RunUpload(const UploadOptions& options, std::ostream& out, std::ostream& err) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  for (const std::string& path : options.paths) {
    if (UploadOne(options, path, out, err) != 0) rc = 1;
  }
  return rc;
}

void RegisterUploadCommand(CLI::App& app) {
  auto options = std::make_shared<UploadOptions>();
  CLI::App* cmd = app.add_subcommand(
      "upload", "Upload symbol archives (zip files or store-layout directories)");
  cmd->add_option("--url", options->url, "Server base URL, e.g. http://host:8000")->required();
  cmd->add_option("--token", options->token, "Auth-Token with upload_symbols or upload_try_symbols")
      ->required()
      ->envname("SIGIL_TOKEN");
  cmd->add_flag("--try", options->try_symbols, "Upload as try symbols");
  cmd->add_option("--max-tries", options->max_tries,
                  "Attempts per archive (429/5xx/connection errors)")
      ->check(CLI::Range(1, 20));
  cmd->add_option("--timeout", options->timeout_s, "Seconds per attempt");
  cmd->add_flag("!--no-progress", options->progress, "Do not show progress");
  cmd->add_option("paths", options->paths, "Zip files or directories")->required();
  cmd->callback([options] {
    int rc = RunUpload(*options, std::cout, std::cerr);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sigil::cli
