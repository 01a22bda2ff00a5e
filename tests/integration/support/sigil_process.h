// SigilProcess: the real `sigil` binary as a child process, for end-to-end tests.
//
//   auto node = SigilProcess::Start({"--data-dir", dir.path()});
//   test::HttpClient client(node->base_url());
//
// Start() runs `sigil serve --listen 127.0.0.1:0 <args>`, waits until the log says where it listens
// and parses the address (and the admin token printed on first start). Stop() sends SIGTERM and
// returns the exit code. The destructor SIGKILLs a process still running. Not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "integration/support/services.h"

namespace sigil::testing {

// Path of the sigil binary of this build.
std::string SigilBinary();

// Runs `sigil <args>` to completion; returns exit code, stdout and stderr.
struct CommandOutput {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandOutput RunSigil(const std::vector<std::string>& args,
                       std::chrono::seconds timeout = std::chrono::seconds(60));

class SigilProcess {
 public:
  static Result<std::unique_ptr<SigilProcess>> Start(const std::vector<std::string>& serve_args);
  ~SigilProcess();

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT"
  std::string base_url() const { return "http://" + address_; }
  const std::string& admin_token() const { return admin_token_; }  // "" unless first start
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;  // everything it printed so far

  // SIGTERM, wait up to `timeout`; the exit code (-1 if it had to be killed).
  int Stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  void Signal(int sig) { process_.Signal(sig); }

 private:
  SigilProcess() = default;
  std::string dir_;
  std::string log_path_;
  std::string address_;
  std::string admin_token_;
  ChildProcess process_;
};

}  // namespace sigil::testing
