#pragma once
// JSON-RPC 2.0 dispatch, one JSON message per line. Transport-free: the daemon's socket server
// feeds it lines and writes back what it returns. Shared by the daemon and its clients.

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rtvs {

class ControlAccess;
struct Peer;

namespace rpc_code {
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kFailed = -32000;            // a valid request that could not be carried out
inline constexpr int kNotFound = -32001;          // the named port/entry does not exist
inline constexpr int kExists = -32002;            // the name or socket path is taken
inline constexpr int kPermissionDenied = -32003;  // the caller's role may not call this method
inline constexpr int kRateLimited = -32004;       // too many state-changing calls: retry later
}  // namespace rpc_code

// Handlers throw RpcError for a clear, one-line failure; anything else becomes kInternalError.
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

class RpcDispatcher {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& params)>;

  // `params_help` documents the parameters, e.g. "name [port options]". Throws
  // std::invalid_argument for an empty name, a missing handler or a name registered twice.
  void add(std::string method, std::string params_help, std::string help, Handler handler);

  // Handles one line (a request or a batch). Returns the response line without '\n', or an empty
  // string when nothing is to be sent back (notifications only).
  std::string handleLine(std::string_view line) const;
  // The same for a request from a control-socket peer: with an access object set, each call is
  // checked (role, rate limit) and every call of an admin method is audited once.
  std::string handleLine(std::string_view line, const Peer& peer) const;
  void setAccess(ControlAccess* access) noexcept { access_ = access; }
  // Run after every method call, before its reply is built (the daemon drains DPDK's log ring
  // here, so what a call made DPDK log is in the log when the caller reads the reply).
  void setAfterCall(std::function<void()> after_call) { after_call_ = std::move(after_call); }
  ControlAccess* access() const noexcept { return access_; }
  // The peer whose request is being handled (nullptr outside handleLine(line, peer)).
  const Peer* caller() const noexcept { return caller_; }

  struct MethodInfo {
    std::string method, params_help, help;
    std::string role;  // "read" or "admin" (methodRole)
  };
  std::vector<MethodInfo> methods() const;

 private:
  struct Entry {
    std::string params_help, help;
    Handler handler;
  };
  // The reply to one request object; nothing for a notification.
  std::optional<nlohmann::json> handleOne(const nlohmann::json& req) const;
  std::string handleAny(std::string_view line) const;

  std::map<std::string, Entry, std::less<>> methods_;
  ControlAccess* access_ = nullptr;
  std::function<void()> after_call_;
  mutable const Peer* caller_ = nullptr;
};

// Client side: builds a request line (params omitted when null) and unpacks a response: throws
// RpcError on an error reply, std::runtime_error on a malformed one.
std::string makeRequest(const std::string& method, const nlohmann::json& params, int id);
nlohmann::json parseResponse(std::string_view line, int expected_id);

}  // namespace rtvs
