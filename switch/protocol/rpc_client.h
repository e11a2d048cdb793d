#pragma once
// Client side of the control socket: one connection, one request and one reply line at a time,
// all under a deadline. Used by vswitchctl and by tests.

#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace rtvs {

inline constexpr const char* kDefaultControlSocket = "/run/rtvswitch/rtvswitch.ctl";

// The daemon could not be reached or stopped answering (as opposed to an RpcError reply).
class RpcTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RpcClient {
 public:
  static constexpr size_t kMaxReply = 64u << 20;  // a larger reply is refused

  // Connects to `path`; throws RpcTransportError, e.g. "cannot connect to /run/rtvswitch/
  // rtvswitch.ctl: No such file or directory (is rtvswitch running?)".
  RpcClient(const std::string& path, std::chrono::milliseconds timeout);
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Sends one request and waits for its reply within the timeout. Returns the result; throws
  // RpcError for an error reply, RpcTransportError for I/O failure, timeout or a malformed reply.
  nlohmann::json call(const std::string& method, const nlohmann::json& params = nullptr);

 private:
  std::string readLine(std::chrono::steady_clock::time_point deadline);

  std::string path_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  int next_id_ = 1;
  std::string buf_;  // bytes received after the last reply line
};

}  // namespace rtvs
