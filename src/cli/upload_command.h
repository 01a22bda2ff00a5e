// `sigil upload`: uploads symbol archives to a sigil (or Tecken) server.
//
//   sigil upload --url http://host:8000 --token KEY [--try] PATH...
//
// PATH is a .zip, or a directory in store layout (<debug_file>/<debug_id>/<file>) that is zipped on
// the fly into a temp file. Shows a progress bar (bytes/s, ETA) on a terminal and plain lines
// otherwise; retries with exponential backoff on 429, 5xx and connection errors (at most 7 tries);
// stops with a clear error and exit code 1 on other 4xx. Prints the server's JSON and a
// stored/skipped/ignored summary.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sigil::cli {

struct UploadOptions {
  std::string url;                 // server base URL
  std::string token;               // Auth-Token
  std::vector<std::string> paths;  // zips or store-layout directories
  bool try_symbols = false;
  int max_tries = 7;
  std::chrono::milliseconds first_backoff{1000};
  int timeout_s = 3600;  // per attempt
  bool progress = true;  // show progress (bar on a terminal, lines otherwise)
};

// Uploads every path in order; returns the process exit code (0 ok, 1 on any failure). Messages go
// to `out` (results) and `err` (progress, retries, errors).
int RunUpload(const UploadOptions& options, std::ostream& out, std::ostream& err);

// Zips a store-layout directory into `zip_path` (relative names, regular files only).
bool ZipDirectory(const std::string& dir, const std::string& zip_path, std::string* error);

void RegisterUploadCommand(CLI::App& app);

}  // namespace sigil::cli
