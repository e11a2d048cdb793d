#include "switch/server/metrics_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace rtvs {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxRequestHead = 8192;

struct Client {
  int fd;
  std::string in;
  std::string out;
  size_t sent = 0;
  bool close_after_write = false;
  Clock::time_point deadline;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string response(const char* status, const std::string& content_type, const std::string& body,
                     bool close, const char* extra = "") {
  std::string r = std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + content_type +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra;
  if (close) r += "Connection: close\r\n";
  return r + "\r\n" + body;
}

// Answers the request whose head is `head` (without the blank line).
void answer(Client& c, const std::string& head, const MetricsServer::Render& render) {
  const size_t eol = head.find("\r\n");
  const std::string line = head.substr(0, eol);
  const std::string headers = lower(eol == std::string::npos ? "" : head.substr(eol));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  const std::string text = "text/plain; charset=utf-8";
  if (sp2 == std::string::npos || !line.substr(sp2 + 1).starts_with("HTTP/1.")) {
    c.out = response("400 Bad Request", text, "bad request\n", true);
    c.close_after_write = true;
    return;
  }
  const std::string method = line.substr(0, sp1);
  const std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  // A body we would not read (or HTTP/1.0) ends the connection after this response.
  c.close_after_write = line.ends_with("HTTP/1.0") ||
                        headers.find("\r\nconnection: close") != std::string::npos ||
                        headers.find("\r\ntransfer-encoding:") != std::string::npos ||
                        (headers.find("\r\ncontent-length:") != std::string::npos &&
                         headers.find("\r\ncontent-length: 0\r") == std::string::npos &&
                         !headers.ends_with("\r\ncontent-length: 0"));
  if (method != "GET") {
    c.out = response("405 Method Not Allowed", text, "only GET\n", true, "Allow: GET\r\n");
    c.close_after_write = true;
  } else if (target.substr(0, target.find('?')) != "/metrics") {
    c.out = response("404 Not Found", text, "not found: try /metrics\n", c.close_after_write);
  } else {
    try {
      c.out = response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render(),
                       c.close_after_write);
    } catch (const std::exception& e) {
      c.out = response("500 Internal Server Error", text, std::string(e.what()) + "\n", true);
      c.close_after_write = true;
    }
  }
}

// Takes one complete request off c.in if there is one; answers oversized heads with 431.
void serveNext(Client& c, const MetricsServer::Render& render) {
  const size_t end = c.in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (c.in.size() > kMaxRequestHead) {
      c.out = response("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                       "request head too large\n", true);
      c.close_after_write = true;
    }
    return;
  }
  const std::string head = c.in.substr(0, end);
  c.in.erase(0, end + 4);
  answer(c, head, render);
}

[[noreturn]] void badAddress(const std::string& listen, const std::string& why) {
  throw std::invalid_argument("metrics listen address '" + listen + "': " + why);
}

}  // namespace

MetricsServer::MetricsServer(const std::string& listen, Render render, MetricsServerOptions options)
    : render_(std::move(render)), options_(options) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) badAddress(listen, "expected HOST:PORT");
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) ||
      std::stoul(port) > 65535) {
    badAddress(listen, "port must be a number from 0 to 65535");
  }
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    badAddress(listen, "an IPv6 host must be in brackets, e.g. [::1]:9470");
  }
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0 || ai == nullptr) {
    badAddress(listen, "host must be an IP address literal or localhost");
  }
  listen_fd_ = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  const bool ok =
      listen_fd_ >= 0 && setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
      bind(listen_fd_, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(listen_fd_, 16) == 0;
  const int err = errno;
  freeaddrinfo(ai);
  if (!ok) {
    if (listen_fd_ >= 0) close(listen_fd_);
    throw std::runtime_error("metrics listen address '" + listen +
                             "': cannot listen: " + std::strerror(err));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    close(listen_fd_);
    throw std::runtime_error(std::string("metrics server: eventfd: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "metrics-http");  // threads are named by role
    run();
  });
}

MetricsServer::~MetricsServer() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(wake_fd_, &one, sizeof one);
  thread_.join();
  close(wake_fd_);
  close(listen_fd_);
}

void MetricsServer::run() {
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  for (;;) {
    const auto now = Clock::now();
    int timeout_ms = -1;
    for (const auto& c : clients) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now).count();
      timeout_ms = std::max<int>(0, timeout_ms < 0 ? left : std::min<int>(timeout_ms, left));
    }
    fds.assign({{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}});
    for (const auto& c : clients) {
      fds.push_back({c.fd, static_cast<short>(c.out.empty() ? POLLIN : POLLOUT), 0});
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) return;
    if (fds[0].revents != 0) break;

    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      const short ev = fds[i + 2].revents;
      bool drop = (ev & (POLLERR | POLLNVAL)) != 0;
      if (!drop && (ev & (POLLIN | POLLHUP)) != 0 && c.out.empty()) {
        char buf[4096];
        const ssize_t n = recv(c.fd, buf, sizeof buf, 0);
        if (n > 0) {
          c.in.append(buf, static_cast<size_t>(n));
          serveNext(c, render_);
          if (!c.out.empty()) c.deadline = Clock::now() + options_.idle_timeout;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          drop = true;
        }
      }
      if (!drop && (ev & POLLOUT) != 0 && !c.out.empty()) {
        const ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n > 0) c.sent += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) drop = true;
        if (!drop && c.sent == c.out.size()) {
          c.out.clear();
          c.sent = 0;
          drop = c.close_after_write;
          c.deadline = Clock::now() + options_.idle_timeout;
          if (!drop) serveNext(c, render_);  // a pipelined request already read
        }
      }
      if (drop || Clock::now() >= c.deadline) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(clients, [](const Client& c) { return c.fd < 0; });

    if ((fds[1].revents & POLLIN) != 0) {
      for (;;) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (clients.size() >= options_.max_clients) {
          close(fd);
          continue;
        }
        clients.push_back({fd, {}, {}, 0, false, Clock::now() + options_.idle_timeout});
      }
    }
  }
  for (const auto& c : clients) close(c.fd);
}

}  // namespace rtvs
