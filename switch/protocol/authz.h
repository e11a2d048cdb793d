#pragma once
// Control-plane authorization (issue 15): who may call what on the control socket, how often
// mutating calls may come, and the audit line of each state-changing request. The role of a peer
// is decided once, when it connects, from its SO_PEERCRED/SO_PEERGROUPS credentials; each call is
// then checked against the method's role. Control thread only; no DPDK.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rtvs {

enum class Role { kRead, kAdmin };
const char* roleName(Role r) noexcept;

// The role a method needs: the read-only methods are listed; every other method (including any
// method added later and not listed) changes state and needs admin.
Role methodRole(std::string_view method) noexcept;
// The read-only methods, for docs and tests.
const std::vector<std::string_view>& readMethods() noexcept;

// A connected peer as the kernel reported it, plus its role.
struct Peer {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  std::string comm;  // /proc/<pid>/comm when it connected ("?" if unreadable)
  Role role = Role::kRead;
};

// Which peers get which role. Root and the daemon's own uid are always admin.
struct AccessPolicy {
  uid_t daemon_uid = 0;
  std::optional<gid_t> admin_gid;  // control-admin-group; none = no group is admin
  std::optional<gid_t> read_gid;   // control-read-group; none = the control socket's group
};

// The role of a peer with `uid` whose groups (primary and supplementary) are `groups`, given the
// control socket's group `socket_gid`; nothing if it may not use the socket at all. Pure.
std::optional<Role> peerRole(const AccessPolicy& policy, uid_t uid,
                             const std::vector<gid_t>& groups, gid_t socket_gid);

// Token bucket: `rate` tokens per second up to `burst`; a call takes one. Pure (time passed in).
class TokenBucket {
 public:
  TokenBucket(double rate, double burst, uint64_t now_ns);
  bool take(uint64_t now_ns);
  // Seconds until the next token (0 if one is there).
  double waitS(uint64_t now_ns) const;

 private:
  void refill(uint64_t now_ns);
  double rate_, burst_, tokens_;
  uint64_t last_ns_;
};

struct ControlLimits {
  double mutations_per_s = 50;  // control-mutation-rate: sustained admin calls per second per uid
  unsigned burst = 1000;        // control-mutation-burst: admin calls a uid may make at once
};

// Permission and rate checks and the audit log of the control socket.
class ControlAccess {
 public:
  using Sink = std::function<void(const std::string& line)>;
  // `audit` receives each audit line (the daemon logs it at info); `warn` a line when a client is
  // first rate-limited (then at most once a second per uid).
  ControlAccess(ControlLimits limits, Sink audit, Sink warn);

  // Throws RpcError kPermissionDenied when the peer lacks `needed`, kRateLimited when an admin
  // call finds the peer's uid out of tokens. Counts both.
  void admit(const Peer& peer, std::string_view method, Role needed, uint64_t now_ns);
  // One audit line for a state-changing request and its reply (a result or an error object).
  void audit(const Peer& peer, std::string_view method, const nlohmann::json& params,
             const nlohmann::json& reply);

  struct Counters {
    uint64_t admin_calls = 0;        // audited requests
    uint64_t permission_denied = 0;  // refused for their role
    uint64_t rate_limited = 0;       // refused by the rate limit
  };
  const Counters& counters() const noexcept { return counters_; }
  const ControlLimits& limits() const noexcept { return limits_; }

 private:
  struct UidState {
    TokenBucket bucket;
    uint64_t last_warn_ns = 0;
  };
  ControlLimits limits_;
  Sink audit_, warn_;
  std::map<uid_t, UidState> uids_;
  Counters counters_;
};

// The audit line (one line, JSON-escaped strings; params cut at 4 KiB). Pure.
std::string auditLine(const Peer& peer, std::string_view method, const nlohmann::json& params,
                      const nlohmann::json& reply);

// /proc/<pid>/comm without its newline; "?" if it cannot be read.
std::string readComm(pid_t pid);

}  // namespace rtvs
