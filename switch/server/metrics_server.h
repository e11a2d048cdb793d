#pragma once
// A minimal HTTP/1.1 server for Prometheus scrapes: GET /metrics on its own thread (never a PMD
// thread). One poll() loop, non-blocking sockets, keep-alive; a client that does not send a full
// request (or read its response) within the idle timeout is closed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace rtvs {

struct MetricsServerOptions {
  std::chrono::milliseconds idle_timeout{5000};
  size_t max_clients = 16;  // more are accepted and closed at once
};

class MetricsServer {
 public:
  // Returns the exposition text; runs on the server thread, once per GET /metrics. An exception
  // becomes a 500 response.
  using Render = std::function<std::string()>;

  // listen: "HOST:PORT"; HOST is an IPv4 literal, a bracketed IPv6 literal, "localhost" or empty
  // (127.0.0.1); PORT 0 picks a free port (see port()). Throws std::invalid_argument for a bad
  // address and std::runtime_error if it cannot listen. Returns once listening.
  MetricsServer(const std::string& listen, Render render, MetricsServerOptions options = {});
  ~MetricsServer();  // stops the thread and closes every socket
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const noexcept { return port_; }

 private:
  void run();

  Render render_;
  MetricsServerOptions options_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace rtvs
