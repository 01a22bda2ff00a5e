// Download benchmark: wrk against sigil's download routes and against nginx serving the same gzip
// file as a static file, in one interleaved run (docs/benchmarks.md, "## Download").
//
//   (a) sigil GET hit of an ~88 KB .sym.gz, gzip passthrough (Accept-Encoding: gzip; sendfile)
//   (b) sigil GET miss (memoized miss, recorded in the MissingSymbolsRecorder)
//   (c) sigil HEAD hit
//   (d) nginx, the same gzip bytes as a static file (reference)
//   (e) nginx HEAD of that file (reference for (c))
// (a), (b), (d) run wrk; the HEAD targets run the built-in HeadLoad client (same closed-loop
// model), because wrk 4.1 waits for a body after a HEAD response and completes no request.
//
// Each repetition runs every target once, rotating the order; medians over repetitions are reported
// with ratios to nginx. After the run, the missing-symbol count in the database must equal the 404
// responses sigil sent for (b) (exactness under load).
//
// Usage: download_bench [--duration S] [--reps N] [--connections C] [--io-threads T] [--wrk-threads
// W] [--pause-ms P] (quiet time before each run, default 1000) Needs wrk and nginx on PATH
// (/usr/sbin for nginx). Runs from anywhere; uses a temp dir.
//
// The load generator runs on the same machine as the servers. --wrk-threads defaults to 1: on a
// 2-core machine, wrk -t2 plus two server threads are four busy threads on two cores, and the p99
// then measures the scheduler preempting the server for the generator (nginx answering HEAD, which
// does nothing, has a 4.4-5.6 ms p99 that way). Pass --wrk-threads 2 to measure that setting.
//
// download_bench --cache-backends [--duration S] [--reps N] [--connections C] [--io-threads T]
// [--wrk-threads W] [--pause-ms P] [--files F] [--missing M]: instead of the above, the download
// path with each cache backend (in-process, Redis and memcached over TCP and unix sockets), 80%
// hits / 20% misses, interleaved (cache_comparison.h). Needs redis-server and memcached on PATH.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/download_handlers.h"
#include "api/missing_symbols_handlers.h"
#include "cache/memory/memory_cache.h"
#include "cache_comparison.h"
#include "common/hashing.h"
#include "common/invalidation_bus.h"
#include "common/worker_pool.h"
#include "db/sqlite/sqlite_database.h"
#include "download/download_service.h"
#include "http/server.h"
#include "storage/fs/fs_object_store.h"

namespace fs = std::filesystem;
using namespace sigil;

namespace {

const char* kSymRel =
    "/testdata/symbols/libc-2.13.so/F4F8DFCD5A5FB5A7CE64717E9E6AE3890/libc-2.13.so.sym";
const char* kKey = "libc-2.13.so/F4F8DFCD5A5FB5A7CE64717E9E6AE3890/libc-2.13.so.sym";
const char* kMissPath =
    "/missing.so/0123456789ABCDEF0123456789ABCDEF0/"
    "missing.so.sym?code_file=missing.so&code_id=C0FFEE";

std::string g_nginx_pid_file;  // set once nginx runs, so every exit path stops it

volatile pid_t g_nginx_pid = 0;  // for the signal handler

// nginx's pid from its pid file, 0 when unreadable.
pid_t ReadNginxPid() {
  std::ifstream pid_in(g_nginx_pid_file);
  long pid = 0;
  return pid_in >> pid && pid > 0 ? static_cast<pid_t>(pid) : 0;
}

void StopNginx() {
  if (g_nginx_pid_file.empty()) return;
  pid_t pid = g_nginx_pid > 0 ? g_nginx_pid : ReadNginxPid();
  if (pid > 0) ::kill(pid, SIGQUIT);
  g_nginx_pid_file.clear();
  g_nginx_pid = 0;
}

// SIGINT/SIGTERM (Ctrl-C, or a script stopping a --serve run) must not leave nginx running.
extern "C" void OnTerminate(int sig) {
  if (g_nginx_pid > 0) ::kill(g_nginx_pid, SIGQUIT);
  ::_exit(128 + sig);
}

void RememberNginxPid() {
  g_nginx_pid = ReadNginxPid();
  std::signal(SIGINT, OnTerminate);
  std::signal(SIGTERM, OnTerminate);
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "download_bench: %s\n", msg.c_str());
  StopNginx();
  std::exit(1);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Gzip(const std::string& data, int level) {
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    Die("deflateInit2");
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) Die("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("bind");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool CanConnect(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string Run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) Die("popen " + cmd);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0) Die("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + out);
  return out;
}

double ToMs(double v, const std::string& unit) {
  if (unit == "us") return v / 1000;
  if (unit == "ms") return v;
  if (unit == "s") return v * 1000;
  return v;
}

struct WrkResult {
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  long requests = 0;
  long errors = 0;  // socket errors (connect/read/write/timeout)
  long non2xx = 0;  // responses other than 2xx/3xx
};

WrkResult ParseWrk(const std::string& out) {
  WrkResult r;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string first;
    ls >> first;
    if (first == "Requests/sec:") {
      ls >> r.rps;
    } else if (first == "50%" || first == "99%") {
      std::string v;
      ls >> v;
      size_t i = 0;
      while (i < v.size() && (std::isdigit(static_cast<unsigned char>(v[i])) || v[i] == '.')) ++i;
      double ms = ToMs(std::stod(v.substr(0, i)), v.substr(i));
      (first == "50%" ? r.p50_ms : r.p99_ms) = ms;
    } else if (line.find("requests in") != std::string::npos) {
      r.requests = std::stol(first);
    } else if (first == "Non-2xx") {
      // "Non-2xx or 3xx responses: N"
      std::string tok;
      while (ls >> tok) {
      }
      r.non2xx = std::stol(tok);
    } else if (first == "Socket") {
      // "Socket errors: connect 0, read 0, write 0, timeout 0"
      for (std::string tok; ls >> tok;) {
        if (std::isdigit(static_cast<unsigned char>(tok[0]))) r.errors += std::stol(tok);
      }
    }
  }
  if (r.rps <= 0) Die("could not parse wrk output:\n" + out);
  return r;
}

// A closed-loop keep-alive HEAD load generator (wrk 4.1 cannot measure HEAD: its parser waits for a
// body of Content-Length bytes). Like wrk: `connections` sockets over `threads` threads, each sends
// one request, waits for the whole response head, records the latency and sends the next.
WrkResult HeadLoad(int port, const std::string& path, int connections, int threads, int seconds) {
  const std::string request = "HEAD " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::vector<std::vector<double>> latencies(threads);
  std::atomic<long> errors{0};
  std::atomic<long> non2xx{0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  auto worker = [&](int t, int n) {
    int ep = ::epoll_create1(0);
    struct Conn {
      int fd;
      std::string buf;
      std::chrono::steady_clock::time_point sent;
    };
    std::vector<Conn> conns(n);
    for (int i = 0; i < n; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("HEAD load: connect");
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::fcntl(fd, F_SETFL, O_NONBLOCK);
      conns[i].fd = fd;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<uint32_t>(i);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      conns[i].sent = std::chrono::steady_clock::now();
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(request.size()))
        ++errors;
    }
    epoll_event events[256];
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
      int k = ::epoll_wait(ep, events, 256, 100);
      for (int e = 0; e < k; ++e) {
        Conn& c = conns[events[e].data.u32];
        ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got <= 0) {
          if (got < 0 && errno == EAGAIN) continue;
          Die("HEAD load: connection closed by the server");
        }
        c.buf.append(buf, static_cast<size_t>(got));
        size_t end = c.buf.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        auto now = std::chrono::steady_clock::now();
        if (!c.buf.starts_with("HTTP/1.1 200")) ++non2xx;
        c.buf.erase(0, end + 4);
        latencies[t].push_back(std::chrono::duration<double, std::milli>(now - c.sent).count());
        c.sent = now;
        if (::send(c.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
          ++errors;
        }
      }
    }
    for (auto& c : conns) ::close(c.fd);
    ::close(ep);
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back(worker, t, connections / threads + (t < connections % threads));
  for (auto& t : ts) t.join();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  WrkResult r;
  r.requests = static_cast<long>(all.size());
  r.rps = static_cast<double>(all.size()) / seconds;
  r.errors = errors.load();
  r.non2xx = non2xx.load();
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int duration = 5, reps = 5, connections = 50, io_threads = 2, wrk_threads = 1, serve_only = 0,
      pause_ms = 1000;
  bool cache_backends = false;
  bench::CacheComparisonOptions comparison;
  for (int i = 1; i < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--cache-backends") {
      cache_backends = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) Die("flag " + f + " needs a value");
    int v = std::atoi(argv[i + 1]);
    if (f == "--duration")
      duration = v;
    else if (f == "--reps")
      reps = v;
    else if (f == "--connections")
      connections = v;
    else if (f == "--io-threads")
      io_threads = v;
    else if (f == "--wrk-threads")
      wrk_threads = v;
    else if (f == "--serve")
      serve_only = v;
    else if (f == "--pause-ms")
      pause_ms = v;
    else if (f == "--files")
      comparison.files = v;
    else if (f == "--missing")
      comparison.missing = v;
    else
      Die("unknown flag " + f);
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (cache_backends) {
    if (duration < 1 || reps < 1 || connections < wrk_threads || wrk_threads < 1 ||
        io_threads < 1 || comparison.files < 1 || comparison.missing < 1)
      Die("--cache-backends needs positive values and --connections >= --wrk-threads");
    comparison.duration_s = duration;
    comparison.reps = reps;
    comparison.connections = connections;
    comparison.client_threads = wrk_threads;
    comparison.io_threads = io_threads;
    comparison.pause_ms = pause_ms;
    return bench::RunCacheComparison(comparison);
  }

  char tmpl[] = "/tmp/sigil-download-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) Die("mkdtemp");
  const std::string dir = tmpl;
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read |
                           fs::perms::others_exec);  // nginx workers drop privileges

  // Storage, database, cache, service.
  const std::string sym = ReadAll(std::string(SIGIL_SHARED_DIR) + kSymRel);
  const std::string gz = Gzip(sym, 3);
  auto store = storage::fs::MakeFsObjectStore(dir + "/symbols");
  if (!store.ok()) Die(store.status().ToString());
  storage::PutOptions put;
  put.content_type = "text/plain";
  put.content_encoding = "gzip";
  put.metadata = {{"original_size", std::to_string(sym.size())},
                  {"original_md5_hash", Md5Hex(sym)}};
  if (Status s = (*store)->Put(kKey, gz, put); !s.ok()) Die(s.ToString());
  auto db = db::sqlite::OpenSqliteDatabase(dir + "/sigil.db");
  if (!db.ok()) Die(db.status().ToString());
  if (Status s = (*db)->Migrate(); !s.ok()) Die(s.ToString());
  auto cache = cache::memory::MakeMemoryCache(256ull << 20);
  LocalInvalidationBus bus;
  WorkerPool pool(4, 1024, "bench-pool");
  DownloadConfig config;
  auto service =
      std::make_unique<download::DownloadService>(config, **store, **db, *cache, bus, pool);

  // Routes; download handlers wrapped to count the 404s sigil answers (to check exact recording).
  http::RouteTable routes;
  api::RegisterDownloadRoutes(routes, *service);
  api::RegisterMissingSymbolsRoutes(routes, *service);
  std::atomic<long> misses_answered{0};
  http::RouteTable counted;
  for (const auto& r : routes.routes()) {
    http::Handler h = r.handler;
    if (r.options.inline_handler) {
      h = [inner = r.handler, &misses_answered](http::Request& req, http::Responder done) {
        const bool get = req.method == "GET";
        inner(req, [done = std::move(done), get, &misses_answered](http::Response resp) {
          if (get && resp.status == 404) misses_answered.fetch_add(1, std::memory_order_relaxed);
          done(std::move(resp));
        });
      };
    }
    counted.Add(r.methods, r.pattern, h, r.options);
  }
  http::ServerOptions opts;
  opts.listen = "127.0.0.1:0";
  opts.io_threads = io_threads;
  opts.access_log = false;
  opts.tmp_dir = dir;
  http::Server server(opts, std::move(counted), pool, nullptr);
  if (Status s = server.Start(); !s.ok()) Die(s.ToString());
  const std::string sigil_base = "http://" + server.address();

  // nginx serving the same gzip bytes.
  fs::create_directories(dir + "/nginx/html");
  fs::create_directories(dir + "/nginx/logs");
  { std::ofstream(dir + "/nginx/html/libc-2.13.so.sym.gz", std::ios::binary) << gz; }
  const int nginx_port = FreePort();
  {
    std::ofstream conf(dir + "/nginx/nginx.conf");
    conf << "worker_processes " << io_threads << ";\npid " << dir << "/nginx/nginx.pid;\n"
         << "error_log " << dir << "/nginx/logs/error.log;\n"
         << "events { worker_connections 4096; }\n"
         << "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests "
            "100000000;\n"
         << "  default_type application/octet-stream;\n"
         << "  client_body_temp_path " << dir << "/nginx/tmp;\n"
         << "  server {\n    listen 127.0.0.1:" << nginx_port << ";\n    root " << dir
         << "/nginx/html;\n  }\n}\n";
  }
  Run("nginx -p " + dir + "/nginx -c " + dir + "/nginx/nginx.conf 2>&1");
  g_nginx_pid_file = dir + "/nginx/nginx.pid";
  for (int i = 0; i < 100 && !CanConnect(nginx_port); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!CanConnect(nginx_port)) Die("nginx did not start");
  RememberNginxPid();
  if (serve_only > 0) {  // for poking at the servers by hand
    std::printf("sigil %s nginx 127.0.0.1:%d\n", sigil_base.c_str(), nginx_port);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(serve_only));
    StopNginx();
    return 0;
  }

  struct Target {
    std::string name;
    std::string cmd_tail;  // wrk arguments; empty for HEAD targets (HeadLoad)
    int head_port = 0;
    std::string head_path;
  };
  const std::string gzip_hdr = " -H 'Accept-Encoding: gzip'";
  const std::vector<Target> targets = {
      {"a_sigil_get_hit_gzip", gzip_hdr + " '" + sigil_base + "/" + kKey + "'"},
      {"b_sigil_get_miss", " '" + sigil_base + kMissPath + "'"},
      {"c_sigil_head_hit", "", server.port(), std::string("/") + kKey},
      {"d_nginx_static_gzip",
       gzip_hdr + " 'http://127.0.0.1:" + std::to_string(nginx_port) + "/libc-2.13.so.sym.gz'"},
      {"e_nginx_head", "", nginx_port, "/libc-2.13.so.sym.gz"},
  };
  auto wrk_cmd = [&](const Target& t, int seconds) {
    return "wrk --latency -t" + std::to_string(wrk_threads) + " -c" + std::to_string(connections) +
           " -d" + std::to_string(seconds) + "s" + t.cmd_tail + " 2>&1";
  };
  auto wrk = [&](const Target& t, int seconds) {
    if (t.cmd_tail.empty())
      return HeadLoad(t.head_port, t.head_path, connections, wrk_threads, seconds);
    return ParseWrk(Run(wrk_cmd(t, seconds)));
  };

  std::printf("object: %s, %zu bytes stored gzip (level 3), %zu bytes decoded\n", kKey, gz.size(),
              sym.size());
  std::printf(
      "wrk -t%d -c%d -d%ds, %d repetitions, sigil io_threads=%d, nginx worker_processes=%d\n\n",
      wrk_threads, connections, duration, reps, io_threads, io_threads);
  for (const auto& t : targets) (void)wrk(t, 1);  // warm-up (page cache, memo, connections)

  std::map<std::string, std::vector<WrkResult>> results;
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t i = 0; i < targets.size(); ++i) {
      const Target& t = targets[(i + static_cast<size_t>(rep)) % targets.size()];
      // A quiet second between runs: the previous run's teardown (50 sockets closing, nginx's or
      // sigil's deferred work, the missing-symbol flush after the miss flood) must not land in
      // this run's latency tail.
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      WrkResult r = wrk(t, duration);
      results[t.name].push_back(r);
      std::printf(
          "rep %d %-22s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms  socket errors %ld  non-2xx %ld\n",
          rep + 1, t.name.c_str(), r.rps, r.p50_ms, r.p99_ms, r.errors, r.non2xx);
      std::fflush(stdout);
      // Only the miss target answers 404; a wrong status anywhere makes the numbers meaningless.
      const bool miss = t.name.starts_with("b_");
      if ((miss && r.non2xx < r.requests) || (!miss && r.non2xx != 0))
        Die("unexpected statuses for " + t.name);
    }
  }
  StopNginx();

  std::map<std::string, double> med_rps, med_p99, med_p50;
  for (auto& [name, rs] : results) {
    std::vector<double> rps, p99, p50;
    for (auto& r : rs) {
      rps.push_back(r.rps);
      p99.push_back(r.p99_ms);
      p50.push_back(r.p50_ms);
    }
    med_rps[name] = Median(rps);
    med_p99[name] = Median(p99);
    med_p50[name] = Median(p50);
  }
  const double nginx = med_rps["d_nginx_static_gzip"];
  std::printf(
      "\n| target | median req/s | vs nginx | median p50 ms | median p99 ms "
      "|\n|---|---|---|---|---|\n");
  for (const auto& t : targets) {
    std::printf("| %s | %.0f | %.2fx | %.3f | %.3f |\n", t.name.c_str(), med_rps[t.name],
                med_rps[t.name] / nginx, med_p50[t.name], med_p99[t.name]);
  }

  // Exactness: every 404 sigil answered for (b) is one count in the database.
  server.Shutdown(std::chrono::milliseconds(5000));
  server.Wait();
  if (Status s = service->missing_symbols().Flush(); !s.ok()) Die(s.ToString());
  db::MissingSymbolQuery q;
  q.debug_file = "missing.so";
  auto page = (*db)->QueryMissingSymbols(q);
  if (!page.ok()) Die(page.status().ToString());
  int64_t recorded = 0;
  for (const auto& row : page->rows) recorded += row.count;
  const long answered = misses_answered.load();
  std::printf("\nmissing-symbol counts: %ld 404s answered, %lld recorded in the database: %s\n",
              answered, static_cast<long long>(recorded),
              recorded == answered ? "EXACT" : "MISMATCH");
  service.reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return recorded == answered ? 0 : 2;
}
