#include "mixed_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

namespace sigil::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  size_t next = 0;       // index of the next sequence entry to send
  size_t remaining = 0;  // one-pass mode: entries still to send
  size_t current = 0;    // entry whose response is awaited
  bool busy = false;     // a request is in flight
  bool dead = false;
  std::string head;        // response head bytes received so far
  bool in_body = false;    // head parsed, discarding body bytes
  uint64_t body_left = 0;  // body bytes still to discard
  int status = 0;          // status of the response being read
  Clock::time_point sent;
};

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// Parses a response head (without the final CRLFCRLF): status and body length; nullopt when the
// head is malformed or the body is chunked.
std::optional<std::pair<int, uint64_t>> ParseHead(std::string_view head, bool is_head) {
  if (head.size() < 12 || !head.starts_with("HTTP/1.1 ")) return std::nullopt;
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return std::nullopt;
    status = status * 10 + (head[i] - '0');
  }
  std::optional<uint64_t> length;
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    std::string_view line = head.substr(start, end == std::string_view::npos ? end : end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (IEquals(name, "content-length")) {
        uint64_t n = 0;
        for (char c : value) {
          if (c < '0' || c > '9') return std::nullopt;
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        length = n;
      } else if (IEquals(name, "transfer-encoding")) {
        return std::nullopt;
      }
    }
    pos = end;
  }
  if (is_head || status == 204 || status == 304) return std::make_pair(status, uint64_t{0});
  if (!length) return std::nullopt;
  return std::make_pair(status, *length);
}

class Worker {
 public:
  Worker(const std::vector<LoadRequest>& sequence, const LoadOptions& options, int first_conn,
         int count, Clock::time_point deadline)
      : sequence_(sequence), options_(options), deadline_(deadline) {
    const size_t n = sequence.size();
    const size_t total = static_cast<size_t>(options.connections);
    for (int i = 0; i < count; ++i) {
      const size_t c = static_cast<size_t>(first_conn + i);
      Conn conn;
      conn.next = c * n / total;
      conn.remaining = (c + 1) * n / total - c * n / total;
      conns_.push_back(std::move(conn));
    }
  }

  void Run() {
    ep_ = ::epoll_create1(0);
    for (size_t i = 0; i < conns_.size(); ++i) {
      Conn& c = conns_[i];
      c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(options_.port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        Fail(c, std::string("connect: ") + std::strerror(errno));
        continue;
      }
      int one = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::fcntl(c.fd, F_SETFL, O_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      ::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
      SendNext(c);
    }
    // After the deadline nothing new is sent; in-flight requests get up to 10 s to complete.
    const auto drain_deadline = (one_pass() ? Clock::now() + std::chrono::minutes(5) : deadline_) +
                                std::chrono::seconds(10);
    epoll_event events[256];
    static thread_local char buf[1 << 16];
    while (Busy() && Clock::now() < drain_deadline) {
      int k = ::epoll_wait(ep_, events, 256, 50);
      for (int e = 0; e < k; ++e) {
        Conn& c = conns_[events[e].data.u64];
        if (c.dead) continue;
        ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) {
          Fail(c, got == 0 ? "connection closed by the server"
                           : std::string("recv: ") + std::strerror(errno));
          continue;
        }
        Consume(c, buf, static_cast<size_t>(got));
      }
    }
    for (Conn& c : conns_) {
      if (c.busy && !c.dead) Fail(c, "no response before the drain deadline");
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(ep_);
  }

  LoadResult result;
  std::vector<double> latencies;

 private:
  bool one_pass() const { return options_.seconds <= 0; }

  bool Busy() const {
    for (const Conn& c : conns_) {
      if (c.busy && !c.dead) return true;
    }
    return false;
  }

  void Fail(Conn& c, const std::string& what) {
    ++result.errors;
    if (result.first_problem.empty()) result.first_problem = what;
    c.dead = true;
    c.busy = false;
  }

  void SendNext(Conn& c) {
    if (one_pass() ? c.remaining == 0 : Clock::now() >= deadline_) return;
    if (one_pass()) --c.remaining;
    c.current = c.next;
    c.next = (c.next + 1) % sequence_.size();
    const std::string& bytes = sequence_[c.current].bytes;
    c.sent = Clock::now();
    c.busy = true;
    if (::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(bytes.size()))
      Fail(c, std::string("send: ") + std::strerror(errno));
  }

  void Consume(Conn& c, const char* data, size_t size) {
    size_t pos = 0;
    while (pos < size && !c.dead) {
      if (!c.busy) {
        Fail(c, "bytes received with no request in flight");
        return;
      }
      if (!c.in_body) {
        const size_t old = c.head.size();
        c.head.append(data + pos, size - pos);
        const size_t end = c.head.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (end == std::string::npos) {
          if (c.head.size() > 64 * 1024) Fail(c, "response head over 64 KiB");
          return;
        }
        pos += end + 4 - old;
        auto parsed = ParseHead(std::string_view(c.head).substr(0, end), sequence_[c.current].head);
        if (!parsed) {
          Fail(c, "unparsable response head: " + c.head.substr(0, std::min<size_t>(end, 200)));
          return;
        }
        c.head.clear();
        c.status = parsed->first;
        c.body_left = parsed->second;
        c.in_body = true;
      }
      const uint64_t take = std::min<uint64_t>(c.body_left, size - pos);
      c.body_left -= take;
      pos += take;
      if (c.body_left == 0) Complete(c);
    }
  }

  void Complete(Conn& c) {
    const auto now = Clock::now();
    c.in_body = false;
    c.busy = false;
    const LoadRequest& req = sequence_[c.current];
    if (c.status == req.expected_status) {
      ++result.expected;
    } else {
      ++result.unexpected;
      if (result.first_problem.empty()) {
        result.first_problem = "status " + std::to_string(c.status) + " (expected " +
                               std::to_string(req.expected_status) + ") for " +
                               req.bytes.substr(0, req.bytes.find("\r\n"));
      }
    }
    if (c.status == 404) ++result.statuses_404;
    if (one_pass() || c.sent < deadline_) {
      if (one_pass() || now <= deadline_) {
        ++result.requests;
        latencies.push_back(std::chrono::duration<double, std::milli>(now - c.sent).count());
      }
    }
    SendNext(c);
  }

  const std::vector<LoadRequest>& sequence_;
  const LoadOptions& options_;
  const Clock::time_point deadline_;
  std::vector<Conn> conns_;
  int ep_ = -1;
};

}  // namespace

LoadResult RunMixedLoad(const std::vector<LoadRequest>& sequence, const LoadOptions& options) {
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(options.seconds > 0 ? options.seconds : 0));
  std::vector<std::unique_ptr<Worker>> workers;
  int first = 0;
  for (int t = 0; t < options.threads; ++t) {
    const int count =
        options.connections / options.threads + (t < options.connections % options.threads);
    workers.push_back(std::make_unique<Worker>(sequence, options, first, count, deadline));
    first += count;
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  for (auto& t : threads) t.join();

  LoadResult r;
  std::vector<double> all;
  for (auto& w : workers) {
    all.insert(all.end(), w->latencies.begin(), w->latencies.end());
    r.requests += w->result.requests;
    r.expected += w->result.expected;
    r.unexpected += w->result.unexpected;
    r.errors += w->result.errors;
    r.statuses_404 += w->result.statuses_404;
    if (r.first_problem.empty()) r.first_problem = w->result.first_problem;
  }
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  if (options.seconds > 0) r.rps = static_cast<double>(r.requests) / options.seconds;
  return r;
}

}  // namespace sigil::bench
