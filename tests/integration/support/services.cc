#include "integration/support/services.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace sigil::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kLaunchAttempts = 4;  // a "free" port may be taken before the server binds it

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

void RemoveTree(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Removes the temp dirs of test processes that died without running destructors (killed by a
// timeout, crashed): their servers died with them (PDEATHSIG), their dirs did not. A dir belongs to
// the process in its owner.pid; dirs of live processes and dirs without the file are left alone.
void SweepOrphanedDirs() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("sigil-pg-", 0) != 0 && name.rfind("sigil-redis-", 0) != 0 &&
        name.rfind("sigil-memcached-", 0) != 0) {
      continue;
    }
    std::ifstream in(entry.path() / "owner.pid");
    long pid = 0;
    if (!(in >> pid) || pid <= 0) continue;
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) RemoveTree(entry.path().string());
  }
}

Result<std::string> MakeTempDir(const std::string& kind) {
  SweepOrphanedDirs();
  // /tmp rather than $TMPDIR: unix socket paths must stay under 108 bytes.
  std::string pattern = "/tmp/sigil-" + kind + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return Internal(ErrnoText("mkdtemp " + pattern));
  std::ofstream(pattern + "/owner.pid") << getpid() << "\n";
  return pattern;
}

// One request/response exchange; true if the response starts with `expect`.
bool Probe(const sockaddr* addr, socklen_t addr_len, std::string_view request,
           std::string_view expect) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{0, 500 * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  bool ok = false;
  if (connect(fd, addr, addr_len) == 0 && send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                                              static_cast<ssize_t>(request.size())) {
    std::string got;
    char buf[256];
    while (got.size() < expect.size()) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    ok = got.compare(0, expect.size(), expect) == 0;
  }
  close(fd);
  return ok;
}

bool ProbeTcp(int port, std::string_view request, std::string_view expect) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return Probe(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, request, expect);
}

bool ProbeUnix(const std::string& path, std::string_view request, std::string_view expect) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return Probe(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, request, expect);
}

enum class Wait { kReady, kExited, kTimeout };

// Polls `ready` until it holds, the process exits, or the timeout passes.
template <typename Ready>
Wait WaitUntilReady(ChildProcess& process, std::chrono::milliseconds timeout, Ready ready) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (ready()) return Wait::kReady;
    if (!process.Running()) return Wait::kExited;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Wait::kTimeout;
}

// Runs a short-lived tool to completion.
Status RunToCompletion(const std::vector<std::string>& argv, const std::string& log, int uid,
                       int gid, std::chrono::milliseconds timeout) {
  ChildProcess tool;
  SIGIL_RETURN_IF_ERROR(tool.Spawn(argv, log, uid, gid));
  Result<int> code = tool.WaitExit(timeout);
  if (!code.ok()) return Internal(argv[0] + " timed out; log:\n" + LogTail(log));
  if (*code != 0) return Internal(argv[0] + " failed; log:\n" + LogTail(log));
  return Status::Ok();
}

std::string PgBin(const std::string& tool) {
  const char* env = std::getenv("SIGIL_PG_BIN");
  return std::string(env != nullptr && *env != '\0' ? env : "/usr/lib/postgresql/15/bin") + "/" +
         tool;
}

}  // namespace

std::string ReadLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LogTail(const std::string& path) {
  std::string all = ReadLog(path);
  constexpr size_t kTail = 2000;
  return all.size() > kTail ? all.substr(all.size() - kTail) : all;
}

std::string AddressAfter(const std::string& log, std::string_view prefix) {
  size_t at = log.find(prefix);
  if (at == std::string::npos) return "";
  size_t begin = at + prefix.size();
  size_t end = log.find_first_not_of("0123456789.:", begin);
  if (end == std::string::npos) return "";  // the line is not complete yet
  std::string address = log.substr(begin, end - begin);
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return "";
  return address;
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// ---------------------------------------------------------------------------------------------------
// ChildProcess

ChildProcess::~ChildProcess() { Stop(SIGKILL, 5000); }

Status ChildProcess::Spawn(const std::vector<std::string>& argv, const std::string& log_path,
                           int run_as_uid, int run_as_gid) {
  if (argv.empty()) return InvalidArgument("empty argv");
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Internal(ErrnoText("open " + log_path));
  if (run_as_uid >= 0 &&
      fchown(log_fd, static_cast<uid_t>(run_as_uid), static_cast<gid_t>(run_as_gid)) != 0) {
    close(log_fd);
    return Internal(ErrnoText("chown " + log_path));
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return Internal(ErrnoText("fork"));
  }
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    close_range(3, ~0U, 0);
    setpgid(0, 0);  // own process group: a terminal's ^C goes to the test, which then cleans up
    if (run_as_uid >= 0) {
      if (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(run_as_gid)) != 0 ||
          setuid(static_cast<uid_t>(run_as_uid)) != 0) {
        _exit(126);
      }
    }
    // After the credential change (which clears it): die with the thread that spawned us.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(log_fd);
  pid_ = pid;
  return Status::Ok();
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int wstatus = 0;
  pid_t r = waitpid(pid_, &wstatus, WNOHANG);
  if (r == 0) return true;
  pid_ = -1;  // exited (reaped now) or not our child any more
  exit_code_ = r > 0 && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  return false;
}

Result<int> ChildProcess::WaitExit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Running()) {
    if (Clock::now() > deadline) return DeadlineExceeded("process did not exit");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

void ChildProcess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);  // never kill(-1, ...)
}

// SIGSTOP takes effect asynchronously: a request sent right after kill() may still be answered.
// Waits (up to 2 s) until /proc says the process is stopped.
void ChildProcess::Freeze() {
  if (pid_ <= 0) return;
  kill(pid_, SIGSTOP);
  const std::string stat_path = "/proc/" + std::to_string(pid_) + "/stat";
  for (int i = 0; i < 2000; ++i) {
    std::ifstream in(stat_path);
    std::string line;
    std::getline(in, line);
    // The state is the field after the parenthesised command name.
    size_t close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() &&
        (line[close + 2] == 'T' || line[close + 2] == 't'))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void ChildProcess::Stop(int sig, int timeout_ms) {
  if (!Running()) return;
  kill(pid_, sig);
  kill(pid_, SIGCONT);    // a paused process must run to handle `sig`
  auto exited = [this] {  // without reaping: an unreaped leader keeps its process group id ours
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  };
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!exited() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // The leader if it ignored `sig`, and whatever it left behind in its process group (nginx
  // workers outlive a SIGKILLed master, keeping its listening socket).
  kill(-pid_, SIGKILL);
  int wstatus = 0;
  pid_t r = waitpid(pid_, &wstatus, 0);
  exit_code_ = r > 0 && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  pid_ = -1;
}

// ---------------------------------------------------------------------------------------------------
// PostgresServer

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  SIGIL_ASSIGN_OR_RETURN(server->dir_, MakeTempDir("pg"));
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr) return Internal("running as root but there is no `postgres` OS user");
    server->uid_ = static_cast<int>(pw->pw_uid);
    server->gid_ = static_cast<int>(pw->pw_gid);
    if (chown(server->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return Internal(ErrnoText("chown " + server->dir_));
    }
  }
  const std::string& dir = server->dir_;
  SIGIL_RETURN_IF_ERROR(
      RunToCompletion({PgBin("initdb"), "-D", dir + "/data", "-U", "postgres", "-A", "trust", "-E",
                       "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                      dir + "/initdb.log", server->uid_, server->gid_, std::chrono::minutes(2)));
  SIGIL_RETURN_IF_ERROR(server->Launch());
  return server;
}

PostgresServer::~PostgresServer() {
  // Immediate shutdown: the cluster is thrown away, so no checkpoint is needed.
  process_.Stop(SIGQUIT, 10000);
  RemoveTree(dir_);
}

Status PostgresServer::Launch() {
  bool keep_port = port_ != 0;  // a restart must come back where clients expect it
  std::string log = dir_ + "/postgres.log";
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    if (!keep_port) port_ = FreeLoopbackPort();
    SIGIL_RETURN_IF_ERROR(process_.Spawn(
        {PgBin("postgres"), "-D", dir_ + "/data", "-k", dir_, "-h", "127.0.0.1", "-p",
         std::to_string(port_), "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
         "max_connections=200", "-c", "logging_collector=off"},
        log, uid_, gid_));
    std::string conninfo = "host=" + dir_ + " port=" + std::to_string(port_) +
                           " user=postgres dbname=postgres connect_timeout=2";
    Wait w = WaitUntilReady(process_, std::chrono::seconds(60),
                            [&] { return PQping(conninfo.c_str()) == PQPING_OK; });
    if (w == Wait::kReady) return Status::Ok();
    process_.Stop(SIGQUIT, 10000);
    if (w == Wait::kTimeout || keep_port) break;
  }
  return Internal("postgres did not start on port " + std::to_string(port_) + "; log:\n" +
                  LogTail(log));
}

std::string PostgresServer::TcpUrl(const std::string& db) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

std::string PostgresServer::SocketUrl(const std::string& db) const {
  return "postgresql://postgres@/" + db + "?host=" + dir_ + "&port=" + std::to_string(port_);
}

Status PostgresServer::Execute(const std::string& db, const std::string& sql) {
  std::string conninfo =
      "host=" + dir_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + db;
  PGconn* conn = PQconnectdb(conninfo.c_str());
  Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = Unavailable(std::string("connect: ") + PQerrorMessage(conn));
  } else {
    PGresult* res = PQexec(conn, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      status = Internal(sql + ": " + PQresultErrorMessage(res));
    }
    PQclear(res);
  }
  PQfinish(conn);
  return status;
}

Result<std::string> PostgresServer::CreateDatabase(const std::string& name) {
  if (name.empty() ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return InvalidArgument("database name must be [a-z0-9_]+: " + name);
  }
  SIGIL_RETURN_IF_ERROR(Execute("postgres", "CREATE DATABASE " + name));
  return TcpUrl(name);
}

void PostgresServer::Kill() { process_.Stop(SIGQUIT, 10000); }  // immediate shutdown: like a crash

Status PostgresServer::Restart() {
  if (process_.Running()) return Status::Ok();
  return Launch();
}

// ---------------------------------------------------------------------------------------------------
// RedisServer

Result<std::unique_ptr<RedisServer>> RedisServer::Start() {
  std::unique_ptr<RedisServer> server(new RedisServer());
  SIGIL_ASSIGN_OR_RETURN(server->dir_, MakeTempDir("redis"));
  SIGIL_RETURN_IF_ERROR(server->Launch());
  return server;
}

RedisServer::~RedisServer() {
  process_.Stop(SIGKILL, 5000);
  RemoveTree(dir_);
}

Status RedisServer::Launch() {
  bool keep_port = port_ != 0;
  std::string log = dir_ + "/redis.log";
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    if (!keep_port) port_ = FreeLoopbackPort();
    unlink(socket_path().c_str());
    SIGIL_RETURN_IF_ERROR(process_.Spawn({"redis-server",
                                          "--port",
                                          std::to_string(port_),
                                          "--bind",
                                          "127.0.0.1",
                                          "--save",
                                          "",
                                          "--appendonly",
                                          "no",
                                          "--unixsocket",
                                          socket_path(),
                                          "--unixsocketperm",
                                          "700",
                                          "--dir",
                                          dir_,
                                          "--daemonize",
                                          "no",
                                          "--protected-mode",
                                          "no",
                                          "--logfile",
                                          ""},
                                         log));
    Wait w = WaitUntilReady(process_, std::chrono::seconds(15), [&] {
      return ProbeTcp(port_, "PING\r\n", "+PONG") && ProbeUnix(socket_path(), "PING\r\n", "+PONG");
    });
    if (w == Wait::kReady) return Status::Ok();
    process_.Stop(SIGKILL, 5000);
    if (w == Wait::kTimeout || keep_port) break;
  }
  return Internal("redis-server did not start on port " + std::to_string(port_) + "; log:\n" +
                  LogTail(log));
}

std::string RedisServer::Url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
}

std::string RedisServer::UnixUrl() const { return "redis+unix://" + socket_path(); }

void RedisServer::Kill() { process_.Stop(SIGKILL, 5000); }

void RedisServer::Pause() { process_.Freeze(); }

void RedisServer::Resume() { process_.Signal(SIGCONT); }

Status RedisServer::Restart() {
  if (process_.Running()) return Status::Ok();
  return Launch();
}

// ---------------------------------------------------------------------------------------------------
// MemcachedServer

Result<std::unique_ptr<MemcachedServer>> MemcachedServer::Start(bool unix_socket) {
  std::unique_ptr<MemcachedServer> server(new MemcachedServer());
  server->unix_socket_ = unix_socket;
  SIGIL_ASSIGN_OR_RETURN(server->dir_, MakeTempDir("memcached"));
  SIGIL_RETURN_IF_ERROR(server->Launch());
  return server;
}

MemcachedServer::~MemcachedServer() {
  process_.Stop(SIGKILL, 5000);
  RemoveTree(dir_);
}

Status MemcachedServer::Launch() {
  bool keep_port = port_ != 0;
  std::string log = dir_ + "/memcached.log";
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    std::vector<std::string> argv = {"memcached", "-m", "64", "-t", "2", "-c", "1024"};
    if (geteuid() == 0)
      argv.insert(argv.end(), {"-u", "root"});  // memcached refuses root without -u
    if (unix_socket_) {
      unlink(socket_path().c_str());
      argv.insert(argv.end(), {"-s", socket_path(), "-a", "0700"});
    } else {
      if (!keep_port) port_ = FreeLoopbackPort();
      argv.insert(argv.end(), {"-l", "127.0.0.1", "-p", std::to_string(port_), "-U", "0"});
    }
    SIGIL_RETURN_IF_ERROR(process_.Spawn(argv, log));
    Wait w = WaitUntilReady(process_, std::chrono::seconds(15), [&] {
      return unix_socket_ ? ProbeUnix(socket_path(), "version\r\n", "VERSION ")
                          : ProbeTcp(port_, "version\r\n", "VERSION ");
    });
    if (w == Wait::kReady) return Status::Ok();
    process_.Stop(SIGKILL, 5000);
    if (w == Wait::kTimeout || keep_port || unix_socket_) break;
  }
  return Internal("memcached did not start; log:\n" + LogTail(log));
}

std::string MemcachedServer::Url() const {
  if (unix_socket_) return "memcached+unix://" + socket_path();
  return "memcached://127.0.0.1:" + std::to_string(port_);
}

void MemcachedServer::Kill() { process_.Stop(SIGKILL, 5000); }

void MemcachedServer::Pause() { process_.Freeze(); }

void MemcachedServer::Resume() { process_.Signal(SIGCONT); }

Status MemcachedServer::Restart() {
  if (process_.Running()) return Status::Ok();
  return Launch();
}

}  // namespace sigil::testing
