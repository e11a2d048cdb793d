#include "switch/server/rpc_server.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace rtvs {

namespace {

constexpr size_t kReadChunk = size_t{64} * 1024;
constexpr int kReadChunksPerRound = 16;  // so one chatty client cannot starve the others
constexpr int kMaxEvents = 64;

std::runtime_error sysError(const std::string& what, const std::string& path, int err) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(err));
}

sockaddr_un unixAddr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

std::string errorLine(int code, const std::string& message) {
  nlohmann::json j{
      {"jsonrpc", "2.0"}, {"error", {{"code", code}, {"message", message}}}, {"id", nullptr}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void sendAll(int fd, const std::string& data) {
  // Best effort: a peer we are about to drop gets what fits into its socket buffer.
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
}

}  // namespace

RpcServer::RpcServer(const std::string& path, const RpcDispatcher& dispatcher)
    : RpcServer(path, dispatcher, AccessPolicy{::geteuid(), std::nullopt, std::nullopt}) {}

RpcServer::RpcServer(const std::string& path, const RpcDispatcher& dispatcher, AccessPolicy policy)
    : path_(path), dispatcher_(dispatcher), policy_(policy) {
  if (path.empty()) throw std::runtime_error("control socket path is empty");
  if (path.size() > kMaxPath) {
    throw std::runtime_error("control socket path " + path + " is " + std::to_string(path.size()) +
                             " bytes long, the limit is " + std::to_string(kMaxPath));
  }
  const sockaddr_un addr = unixAddr(path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::runtime_error("control socket path " + path + " exists and is not a socket");
    }
    // Non-blocking probe: a live server answers (or has a full backlog: EAGAIN), a dead one
    // leaves a file that refuses connections.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe < 0) throw sysError("cannot create a socket for", path, errno);
    int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    int err = errno;
    ::close(probe);
    if (rc == 0 || err == EAGAIN) {
      throw std::runtime_error("control socket " + path +
                               " is in use: another rtvswitch is listening on it");
    }
    if (err != ECONNREFUSED) throw sysError("cannot probe existing control socket", path, err);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      throw sysError("cannot remove stale control socket", path, errno);
    }
  }

  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw sysError("cannot create control socket", path, errno);
  auto fail = [&](const char* what, bool bound) {
    int err = errno;
    ::close(listen_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (bound) ::unlink(path.c_str());
    return sysError(what, path, err);
  };
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    throw fail("cannot bind control socket", false);
  }
  // Mode before listen(): nobody can connect while the umask's mode is still in effect.
  if (::chmod(path.c_str(), 0660) != 0) throw fail("cannot chmod control socket", true);
  // The read group must be able to connect; admins in another group too if they share it.
  if (policy_.read_gid && ::lchown(path.c_str(), static_cast<uid_t>(-1), *policy_.read_gid) != 0) {
    throw fail("cannot give the control socket to control-read-group", true);
  }
  if (::stat(path.c_str(), &st) != 0) throw fail("cannot stat control socket", true);
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  if (::listen(listen_fd_, 64) != 0) throw fail("cannot listen on control socket", true);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw fail("cannot create epoll for control socket", true);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd_;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0) {
    throw fail("cannot watch control socket", true);
  }
}

RpcServer::~RpcServer() {
  for (auto& [fd, c] : clients_) ::close(fd);
  ::close(epoll_fd_);
  ::close(listen_fd_);
  // Only our own file: another instance may have replaced it since.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
    ::unlink(path_.c_str());
  }
}

void RpcServer::addWakeFd(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    throw std::system_error(errno, std::generic_category(), "control socket: wake fd");
  }
  wake_fds_.push_back(fd);
}

int RpcServer::poll(int timeout_ms) {
  epoll_event events[kMaxEvents];
  int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw std::system_error(errno, std::generic_category(), "control socket epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listen_fd_) {
      acceptAll();
      continue;
    }
    if (std::find(wake_fds_.begin(), wake_fds_.end(), fd) != wake_fds_.end()) {
      uint64_t count;
      [[maybe_unused]] const ssize_t r = ::read(fd, &count, sizeof count);
      continue;
    }
    auto it = clients_.find(fd);
    if (it == clients_.end()) continue;
    Client& c = it->second;
    bool keep = true;
    if (!c.read_closed && (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
      keep = onReadable(c, fd);
    }
    if (keep) keep = flush(c, fd) && updateInterest(c, fd);
    if (!keep) closeClient(fd);
  }
  return n;
}

void RpcServer::acceptAll() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of fds: the pending connection waits for the next round
    }
    if (clients_.size() >= kMaxClients) reapGoneClients();
    if (clients_.size() >= kMaxClients) {
      sendAll(fd, errorLine(rpc_code::kFailed, "too many control clients (limit " +
                                                   std::to_string(kMaxClients) + ")"));
      ::close(fd);
      continue;
    }
    std::string why;
    Peer peer = identify(fd, why);
    if (!why.empty()) {
      sendAll(fd, errorLine(rpc_code::kFailed, why));
      ::close(fd);
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    Client& c = clients_[fd];
    c.events = ev.events;
    c.peer = std::move(peer);
  }
}

void RpcServer::service(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  Client& c = it->second;
  bool keep = c.read_closed || onReadable(c, fd);
  if (keep) keep = flush(c, fd) && updateInterest(c, fd);
  if (!keep) closeClient(fd);
}

void RpcServer::reapGoneClients() {
  std::vector<int> fds;
  fds.reserve(clients_.size());
  for (const auto& [fd, c] : clients_) fds.push_back(fd);
  for (int fd : fds) service(fd);
}

Peer RpcServer::identify(int fd, std::string& why) const {
  Peer peer;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    why = std::string("permission denied: cannot read peer credentials: ") + std::strerror(errno);
    return peer;
  }
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.pid = cred.pid;
  // Read now, on the control thread, while the connecting process most likely still runs.
  peer.comm = readComm(cred.pid);
  // The socket's group is read now, so a chgrp after start-up takes effect.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    why = std::string("permission denied: cannot stat the control socket: ") + std::strerror(errno);
    return peer;
  }
  // Supplementary groups count as well (as for the socket file's own permission check): the
  // peer's, as they were when it connected.
  std::vector<gid_t> groups(32);
  for (int attempt = 0; attempt < 2; ++attempt) {
    socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
      groups.resize(glen / sizeof(gid_t));
      break;
    }
    if (errno != ERANGE || attempt == 1) {
      groups.clear();
      break;
    }
    groups.resize(glen / sizeof(gid_t));  // the kernel said how many
  }
  groups.push_back(cred.gid);
  const std::optional<Role> role = peerRole(policy_, cred.uid, groups, st.st_gid);
  if (!role) {
    why = "permission denied: uid " + std::to_string(cred.uid) + " gid " +
          std::to_string(cred.gid) +
          " is not root, the daemon's user, in control-admin-group or in the read group";
    return peer;
  }
  peer.role = *role;
  return peer;
}

bool RpcServer::onReadable(Client& c, int fd) {
  char buf[kReadChunk];
  for (int chunk = 0; chunk < kReadChunksPerRound; ++chunk) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (!processLines(c, false)) return false;
      continue;
    }
    if (n == 0) {
      c.read_closed = true;
      return processLines(c, true);
    }
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

bool RpcServer::processLines(Client& c, bool at_eof) {
  size_t start = 0;
  bool keep = true;
  for (;;) {
    size_t nl = c.in.find('\n', std::max(start, c.scanned));
    if (nl == std::string::npos) {
      if (c.in.size() - start > kMaxLine) {
        c.out += errorLine(rpc_code::kInvalidRequest,
                           "request line longer than " + std::to_string(kMaxLine) + " bytes");
        keep = false;
        break;
      }
      if (!at_eof || start == c.in.size()) {
        c.scanned = c.in.size();
        break;
      }
      nl = c.in.size();  // the peer closed after a last line without '\n'
    }
    if (nl - start > kMaxLine) {
      c.out += errorLine(rpc_code::kInvalidRequest,
                         "request line longer than " + std::to_string(kMaxLine) + " bytes");
      keep = false;
      break;
    }
    // A client that sends requests but does not read the replies.
    if (c.out.size() > kMaxPendingOutput) {
      keep = false;
      break;
    }
    std::string_view line(c.in.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = std::min(nl + 1, c.in.size());
    // Blank lines (someone pressing Enter in socat) are not requests.
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    std::string reply = dispatcher_.handleLine(line, c.peer);
    if (!reply.empty()) {
      c.out += reply;
      c.out += '\n';
    }
  }
  c.in.erase(0, start);
  c.scanned = c.scanned > start ? c.scanned - start : 0;
  if (!keep) c.in.clear();
  return keep;
}

bool RpcServer::flush(Client& c, int fd) {
  size_t off = 0;
  while (off < c.out.size()) {
    ssize_t n = ::send(fd, c.out.data() + off, c.out.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return false;
    }
  }
  c.out.erase(0, off);
  return !(c.read_closed && c.out.empty());
}

bool RpcServer::updateInterest(Client& c, int fd) {
  const uint32_t in = c.read_closed ? 0u : uint32_t{EPOLLIN | EPOLLRDHUP};
  const uint32_t out = c.out.empty() ? 0u : uint32_t{EPOLLOUT};
  const uint32_t want = in | out;
  if (want == c.events) return true;
  epoll_event ev{};
  ev.events = want;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) return false;
  c.events = want;
  return true;
}

void RpcServer::closeClient(int fd) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  if (!it->second.out.empty()) sendAll(fd, it->second.out);
  ::close(fd);  // also removes it from the epoll set
  clients_.erase(it);
}

}  // namespace rtvs
