#include "switch/server/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

namespace rtvs {
namespace {

using namespace std::chrono_literals;

int connectTo(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

void sendAll(int fd, const std::string& s) {
  ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
}

// Reads until the peer closes (or 10 s pass: a hang fails the test instead of blocking it).
std::string readUntilClosed(int fd) {
  std::string out;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 10'000) == 1) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Reads one response with a Content-Length body.
std::string readResponse(int fd) {
  std::string out;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 10'000) == 1) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    const size_t head = out.find("\r\n\r\n");
    const size_t cl = out.find("Content-Length: ");
    if (head != std::string::npos && cl != std::string::npos &&
        out.size() >= head + 4 + std::stoul(out.substr(cl + 16))) {
      break;
    }
  }
  return out;
}

std::string request(uint16_t port, const std::string& req) {
  const int fd = connectTo(port);
  sendAll(fd, req);
  std::string r = readUntilClosed(fd);
  close(fd);
  return r;
}

TEST(MetricsServer, ServesMetrics) {
  std::atomic<int> calls{0};
  MetricsServer s("127.0.0.1:0", [&] {
    ++calls;
    return std::string("rtvswitch_a_b_c 1\n");
  });
  ASSERT_NE(s.port(), 0);
  const std::string r =
      request(s.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Length: 18\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\nrtvswitch_a_b_c 1\n")) << r;
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(request(s.port(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
}

TEST(MetricsServer, NotFoundAndMethodNotAllowed) {
  MetricsServer s(":0", [] { return std::string("x\n"); });
  EXPECT_TRUE(request(s.port(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_TRUE(request(s.port(), "GET /metricsx HTTP/1.1\r\nConnection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 404"));
  const std::string r = request(s.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << r;
  EXPECT_NE(r.find("Allow: GET\r\n"), std::string::npos);
  EXPECT_TRUE(request(s.port(), "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_TRUE(request(s.port(), std::string(8'193, 'a')).starts_with("HTTP/1.1 431"));
}

TEST(MetricsServer, KeepAliveAndPipelining) {
  int n = 0;
  MetricsServer s("localhost:0", [&] { return "n " + std::to_string(++n) + "\n"; });
  const int fd = connectTo(s.port());
  sendAll(fd, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(readResponse(fd).ends_with("n 1\n"));
  sendAll(fd, "GET /metrics HTTP/1.1\r\n\r\nGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::string r = readUntilClosed(fd);
  EXPECT_NE(r.find("n 2\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("n 3\n")) << r;
  close(fd);
}

TEST(MetricsServer, RenderExceptionIs500) {
  MetricsServer s("127.0.0.1:0", []() -> std::string { throw std::runtime_error("no data"); });
  const std::string r = request(s.port(), "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 500")) << r;
  EXPECT_TRUE(r.ends_with("no data\n")) << r;
}

TEST(MetricsServer, ClosesIdleAndSlowClients) {
  MetricsServer s("127.0.0.1:0", [] { return std::string("x\n"); }, {100ms, 16});
  const int idle = connectTo(s.port());
  const int slow = connectTo(s.port());
  sendAll(slow, "GET /metr");
  EXPECT_EQ(readUntilClosed(idle), "");  // closed by the server, not by the 10 s guard
  EXPECT_EQ(readUntilClosed(slow), "");
  close(idle);
  close(slow);
  // Still serving others.
  EXPECT_TRUE(request(s.port(), "GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
}

TEST(MetricsServer, TooManyClientsAreTurnedAway) {
  MetricsServer s("127.0.0.1:0", [] { return std::string("x\n"); }, {5000ms, 1});
  const int first = connectTo(s.port());
  const int second = connectTo(s.port());
  EXPECT_EQ(readUntilClosed(second), "");
  sendAll(first, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(readUntilClosed(first).starts_with("HTTP/1.1 200"));
  close(first);
  close(second);
}

TEST(MetricsServer, StopsWithClientsConnected) {
  auto s = std::make_unique<MetricsServer>("127.0.0.1:0", [] { return std::string("x\n"); });
  const int fd = connectTo(s->port());
  sendAll(fd, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(readResponse(fd).starts_with("HTTP/1.1 200"));
  s.reset();
  EXPECT_EQ(readUntilClosed(fd), "");
  close(fd);
}

TEST(MetricsServer, BadListenAddress) {
  auto render = [] { return std::string(); };
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
                          "127.0.0.1:-1", "999.1.1.1:0", "example.com:0", "::1:0"}) {
    try {
      MetricsServer s(bad, render);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos)
          << e.what();
    }
  }
  MetricsServer taken("127.0.0.1:0", render);
  EXPECT_THROW(MetricsServer("127.0.0.1:" + std::to_string(taken.port()), render),
               std::runtime_error);
}

TEST(MetricsServer, Ipv6Loopback) {
  try {
    MetricsServer s("[::1]:0", [] { return std::string(); });
    EXPECT_NE(s.port(), 0);
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6 here: " << e.what();
  }
}

}  // namespace
}  // namespace rtvs
