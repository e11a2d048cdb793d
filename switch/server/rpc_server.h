#pragma once
// The daemon's control socket: a single-threaded, non-blocking AF_UNIX stream server that feeds
// complete lines to an RpcDispatcher and writes the replies back. Runs on the control thread only;
// a slow handler delays other clients, never the dataplane.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "switch/protocol/authz.h"
#include "switch/protocol/jsonrpc.h"

namespace rtvs {

class RpcServer {
 public:
  static constexpr size_t kMaxLine = 1 << 20;            // a longer request closes the client
  static constexpr size_t kMaxClients = 256;             // further connections are closed
  static constexpr size_t kMaxPendingOutput = 4u << 20;  // unread replies before closing
  static constexpr size_t kMaxPath = 107;                // sizeof(sockaddr_un::sun_path) - 1

  // Creates and listens on `path` (mode 0660; group `policy.read_gid` when set). A socket file
  // left by a dead process is removed; throws std::runtime_error naming the path if a live server
  // answers on it, if it exists and is not a socket, if it is longer than kMaxPath bytes, or on
  // any system error. `policy` decides each peer's role when it connects (authz.h); peers with
  // no role are refused.
  RpcServer(const std::string& path, const RpcDispatcher& dispatcher, AccessPolicy policy);
  // Policy: root and the daemon's uid are admin, the socket's group reads.
  RpcServer(const std::string& path, const RpcDispatcher& dispatcher);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // One round: waits up to `timeout_ms` (-1 = forever) for activity, then accepts, reads,
  // dispatches complete lines and writes replies without blocking. Returns the number of ready
  // descriptors (0: the timeout passed, or a signal interrupted the wait).
  int poll(int timeout_ms);

  // Also wakes poll() when `fd` (an eventfd or timerfd the caller owns and outlives the server)
  // becomes readable; poll() reads it to reset it. Throws std::system_error.
  void addWakeFd(int fd);

  const std::string& path() const noexcept { return path_; }
  size_t clientCountForTest() const noexcept { return clients_.size(); }

 private:
  struct Client {
    std::string in;
    size_t scanned = 0;  // bytes of `in` known to hold no '\n'
    std::string out;
    uint32_t events = 0;       // epoll interest currently registered
    bool read_closed = false;  // peer shut down its write side: close once `out` is drained
    Peer peer;
  };

  void acceptAll();
  // Reads, answers and closes as for an epoll event on `fd` (the event may not have been seen).
  void service(int fd);
  // At the client limit: services every client, so those whose peers have gone (closed or
  // reset, their events not yet handled) free their places before a newcomer is refused.
  void reapGoneClients();
  // The peer's credentials and role; empty `why` if it may talk to us, else why not.
  Peer identify(int fd, std::string& why) const;
  // Each returns false when the client must be closed.
  bool onReadable(Client& c, int fd);
  bool processLines(Client& c, bool at_eof);
  bool flush(Client& c, int fd);
  bool updateInterest(Client& c, int fd);
  // Sends what output it can without blocking, then closes.
  void closeClient(int fd);

  std::string path_;
  const RpcDispatcher& dispatcher_;
  AccessPolicy policy_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  dev_t dev_ = 0;  // identity of the socket file we created, so we unlink only our own
  ino_t ino_ = 0;
  std::unordered_map<int, Client> clients_;
  std::vector<int> wake_fds_;
};

}  // namespace rtvs
