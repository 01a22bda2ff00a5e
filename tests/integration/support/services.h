// Throwaway real servers for integration tests: PostgreSQL 15, Redis and memcached, each started in
// a fresh temp dir, listening on 127.0.0.1 (a free port) and/or a unix socket in that dir, and
// stopped with its temp dir removed by the destructor (also when the test fails).
//
// Start() blocks until the server answers (a real protocol round trip), or fails with a Status that
// includes the tail of the server's log. Kill() simulates an outage (SIGKILL, like a crash);
// Restart() brings the server back on the same port and socket, with its data (PostgreSQL keeps its
// cluster; Redis and memcached start empty, as after a real crash without persistence).
//
// Not thread-safe: create, kill, restart and destroy a server from one thread, preferably the main
// test thread (children are sent SIGKILL when that thread exits, so a crashed test leaves no
// servers behind). Binaries: /usr/lib/postgresql/15/bin (override with SIGIL_PG_BIN), redis-server
// and memcached from PATH. When the test runs as root, PostgreSQL runs as the `postgres` OS user
// (it refuses to run as root).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sigil::testing {

// A currently free TCP port on 127.0.0.1 (the OS picks it; racy, so the servers retry on bind
// failure).
int FreeLoopbackPort();

// A child's whole log file ("" when unreadable), and its last 2000 bytes for error messages.
std::string ReadLog(const std::string& path);
std::string LogTail(const std::string& path);

// The "host:port" printed right after `prefix` in a server's log ("... listening on
// 127.0.0.1:PORT"), or "" until that line is complete (the address must be followed by another
// character).
std::string AddressAfter(const std::string& log, std::string_view prefix);

// One child process with its output in a log file. Killed (SIGKILL) and reaped on destruction.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs argv[0] (an absolute path or a name found in PATH) with stdout+stderr appended to
  // log_path. When run_as_uid >= 0 the child drops to that uid/gid before exec.
  Status Spawn(const std::vector<std::string>& argv, const std::string& log_path,
               int run_as_uid = -1, int run_as_gid = -1);
  bool Running();
  // Waits for the exit; the exit code (-1 if killed by a signal), or kDeadlineExceeded.
  Result<int> WaitExit(std::chrono::milliseconds timeout);
  void Signal(int sig);  // no-op when not started
  void Freeze();         // SIGSTOP, returns once the process is stopped (SIGCONT resumes it)
  // Sends `sig`, waits up to timeout_ms for exit, then SIGKILLs. No-op if not running.
  void Stop(int sig, int timeout_ms);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// A fresh PostgreSQL 15 cluster (initdb -A trust, superuser `postgres`, fsync off) on a unix socket
// in its temp dir and 127.0.0.1:port().
class PostgresServer {
 public:
  static Result<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  int port() const { return port_; }
  const std::string& socket_dir() const { return dir_; }
  // postgresql://postgres@127.0.0.1:<port>/<db>
  std::string TcpUrl(const std::string& db) const;
  // postgresql://postgres@/<db>?host=<socket dir>&port=<port>
  std::string SocketUrl(const std::string& db) const;
  // CREATE DATABASE <name> (name: [a-z0-9_]+); returns TcpUrl(name).
  Result<std::string> CreateDatabase(const std::string& name);
  // Runs one SQL statement (simple query protocol) in `db` as the superuser.
  Status Execute(const std::string& db, const std::string& sql);

  void Kill();
  Status Restart();

 private:
  PostgresServer() = default;
  Status Launch();

  std::string dir_;  // temp dir: data/ (the cluster), the socket, postgres.log
  int port_ = 0;
  int uid_ = -1, gid_ = -1;
  ChildProcess process_;
};

// redis-server without persistence on 127.0.0.1:port() and the unix socket socket_path().
class RedisServer {
 public:
  static Result<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();

  int port() const { return port_; }
  std::string socket_path() const { return dir_ + "/redis.sock"; }
  std::string Url(int db = 0) const;  // redis://127.0.0.1:<port>/<db>
  std::string UnixUrl() const;        // redis+unix://<socket_path>

  void Kill();
  Status Restart();
  // SIGSTOP / SIGCONT: a server that accepts connections but never answers (tests read timeouts).
  void Pause();
  void Resume();

 private:
  RedisServer() = default;
  Status Launch();

  std::string dir_;
  int port_ = 0;
  ChildProcess process_;
};

// memcached on 127.0.0.1:port(), or (unix_socket = true) on socket_path() only: memcached listens
// on either TCP or a unix socket, not both.
class MemcachedServer {
 public:
  static Result<std::unique_ptr<MemcachedServer>> Start(bool unix_socket = false);
  ~MemcachedServer();

  int port() const { return port_; }  // 0 in unix-socket mode
  std::string socket_path() const { return dir_ + "/memcached.sock"; }
  // memcached://127.0.0.1:<port>, or memcached+unix://<socket_path> in unix-socket mode.
  std::string Url() const;

  void Kill();
  Status Restart();
  void Pause();  // as RedisServer::Pause
  void Resume();

 private:
  MemcachedServer() = default;
  Status Launch();

  std::string dir_;
  bool unix_socket_ = false;
  int port_ = 0;
  ChildProcess process_;
};

}  // namespace sigil::testing
