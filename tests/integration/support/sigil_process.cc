#include "integration/support/sigil_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace sigil::testing {
namespace {

std::string MakeTempDir() {
  char tmpl[] = "/tmp/sigil-proc-XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

// The 64-hex-digit key printed on the line after "created admin token", "" when there is none.
std::string AdminToken(const std::string& log) {
  size_t at = log.find("created admin token");
  if (at == std::string::npos) return "";
  size_t line_end = log.find('\n', at);
  if (line_end == std::string::npos) return "";
  size_t begin = log.find_first_not_of(" \t", line_end + 1);
  if (begin == std::string::npos || begin + 64 > log.size()) return "";
  std::string token = log.substr(begin, 64);
  return token.find_first_not_of("0123456789abcdef") == std::string::npos ? token : "";
}

}  // namespace

std::string SigilBinary() { return std::string(SIGIL_BINARY_DIR) + "/src/server/sigil"; }

CommandOutput RunSigil(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::string dir = MakeTempDir();
  std::string out_path = dir + "/out", err_path = dir + "/err";
  CommandOutput result;
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<std::string> argv_s = {SigilBinary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.err = "timed out";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = ReadLog(out_path);
  result.err += ReadLog(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  rmdir(dir.c_str());
  return result;
}

Result<std::unique_ptr<SigilProcess>> SigilProcess::Start(
    const std::vector<std::string>& serve_args) {
  std::unique_ptr<SigilProcess> p(new SigilProcess());
  p->dir_ = MakeTempDir();
  p->log_path_ = p->dir_ + "/sigil.log";
  std::vector<std::string> argv = {SigilBinary(), "serve", "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), serve_args.begin(), serve_args.end());
  SIGIL_RETURN_IF_ERROR(p->process_.Spawn(argv, p->log_path_));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string log = ReadLog(p->log_path_);
    if (std::string address = AddressAfter(log, "sigil listening on http://"); !address.empty()) {
      p->address_ = address;
      p->admin_token_ = AdminToken(log);
      return p;
    }
    if (!p->process_.Running()) return Internal("sigil exited before listening:\n" + log);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return DeadlineExceeded("sigil did not start listening within 30 s:\n" + ReadLog(p->log_path_));
}

SigilProcess::~SigilProcess() {
  process_.Stop(SIGKILL, 1000);
  std::remove(log_path_.c_str());
  rmdir(dir_.c_str());
}

std::string SigilProcess::Log() const { return ReadLog(log_path_); }

int SigilProcess::Stop(std::chrono::milliseconds timeout) {
  process_.Signal(SIGTERM);
  auto code = process_.WaitExit(timeout);
  if (!code.ok()) {
    process_.Stop(SIGKILL, 1000);
    return -1;
  }
  return *code;
}

}  // namespace sigil::testing
