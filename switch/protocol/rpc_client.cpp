#include "switch/protocol/rpc_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "switch/protocol/jsonrpc.h"

namespace rtvs {

namespace {

int remainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

}  // namespace

RpcClient::RpcClient(const std::string& path, std::chrono::milliseconds timeout)
    : path_(path), timeout_(timeout) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    throw RpcTransportError("cannot connect to " + path + ": socket path must be 1 to " +
                            std::to_string(sizeof(addr.sun_path) - 1) + " bytes long");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw RpcTransportError(std::string("cannot create socket: ") + strerror(errno));
  // AF_UNIX connect() blocks only while the server's backlog is full; SO_SNDTIMEO bounds that.
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    std::string hint;
    if (err == ENOENT || err == ECONNREFUSED) hint = " (is rtvswitch running?)";
    if (err == EACCES) hint = " (run as root or as a member of the socket's group)";
    if (err == EAGAIN || err == EINPROGRESS) {
      throw RpcTransportError("cannot connect to " + path + ": no answer within " +
                              seconds(timeout) + " (is rtvswitch busy?)");
    }
    throw RpcTransportError("cannot connect to " + path + ": " + std::strerror(err) + hint);
  }
}

RpcClient::~RpcClient() {
  if (fd_ >= 0) ::close(fd_);
}

nlohmann::json RpcClient::call(const std::string& method, const nlohmann::json& params) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  const int id = next_id_++;
  const std::string req = makeRequest(method, params, id) + "\n";
  size_t off = 0;
  std::string send_error;
  while (off < req.size() && send_error.empty()) {
    pollfd p{fd_, POLLOUT, 0};
    int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      throw RpcTransportError("rtvswitch did not accept the request within " + seconds(timeout_));
    }
    ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
      send_error = "cannot send to " + path_ + ": " + std::strerror(errno);
    }
  }
  if (!send_error.empty()) {
    // The server may have refused us with a reason (permission, too many clients) and closed.
    std::string line;
    try {
      line = readLine(deadline);
    } catch (const RpcTransportError&) {
      throw RpcTransportError(send_error);
    }
    parseResponse(line, id);  // throws the server's RpcError
    throw RpcTransportError(send_error);
  }
  const std::string line = readLine(deadline);
  try {
    return parseResponse(line, id);
  } catch (const RpcError&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw RpcTransportError(e.what());
  }
}

std::string RpcClient::readLine(std::chrono::steady_clock::time_point deadline) {
  size_t scanned = 0;
  for (;;) {
    if (auto nl = buf_.find('\n', scanned); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    scanned = buf_.size();
    if (buf_.size() > kMaxReply) {
      throw RpcTransportError("reply from rtvswitch longer than " + std::to_string(kMaxReply) +
                              " bytes");
    }
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) throw RpcTransportError("no reply from rtvswitch within " + seconds(timeout_));
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n > 0) {
      buf_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      throw RpcTransportError("rtvswitch closed the connection without replying");
    } else if (errno != EAGAIN && errno != EINTR) {
      throw RpcTransportError("cannot read from " + path_ + ": " + std::strerror(errno));
    }
  }
}

}  // namespace rtvs
