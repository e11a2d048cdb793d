#include "switch/protocol/authz.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "switch/protocol/jsonrpc.h"

namespace rtvs {

namespace {

using nlohmann::json;

constexpr size_t kMaxAuditParams = 4096;

std::string dumpLine(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

const char* roleName(Role r) noexcept { return r == Role::kAdmin ? "admin" : "read"; }

const std::vector<std::string_view>& readMethods() noexcept {
  static const std::vector<std::string_view> kRead = {
      "version",  "list-commands", "control.show", "port.list",    "port.show",   "fdb.show",
      "pmd.show", "pmd.perf",      "stats.show",   "latency.show", "port.xstats", "log.show",
  };
  return kRead;
}

Role methodRole(std::string_view method) noexcept {
  const auto& r = readMethods();
  return std::find(r.begin(), r.end(), method) != r.end() ? Role::kRead : Role::kAdmin;
}

std::optional<Role> peerRole(const AccessPolicy& policy, uid_t uid,
                             const std::vector<gid_t>& groups, gid_t socket_gid) {
  const auto member = [&](gid_t g) {
    return std::find(groups.begin(), groups.end(), g) != groups.end();
  };
  if (uid == 0 || uid == policy.daemon_uid) return Role::kAdmin;
  if (policy.admin_gid && member(*policy.admin_gid)) return Role::kAdmin;
  if (member(policy.read_gid ? *policy.read_gid : socket_gid)) return Role::kRead;
  return std::nullopt;
}

TokenBucket::TokenBucket(double rate, double burst, uint64_t now_ns)
    : rate_(rate), burst_(burst), tokens_(burst), last_ns_(now_ns) {}

void TokenBucket::refill(uint64_t now_ns) {
  if (now_ns > last_ns_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_ns - last_ns_) * 1e-9);
    last_ns_ = now_ns;
  }
}

bool TokenBucket::take(uint64_t now_ns) {
  refill(now_ns);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

double TokenBucket::waitS(uint64_t now_ns) const {
  TokenBucket b = *this;
  b.refill(now_ns);
  if (b.tokens_ >= 1.0) return 0.0;
  return rate_ > 0 ? (1.0 - b.tokens_) / rate_ : INFINITY;
}

ControlAccess::ControlAccess(ControlLimits limits, Sink audit, Sink warn)
    : limits_(limits), audit_(std::move(audit)), warn_(std::move(warn)) {}

void ControlAccess::admit(const Peer& peer, std::string_view method, Role needed, uint64_t now_ns) {
  if (needed == Role::kAdmin && peer.role != Role::kAdmin) {
    ++counters_.permission_denied;
    throw RpcError(rpc_code::kPermissionDenied,
                   "permission denied: " + std::string(method) + " needs role admin (uid " +
                       std::to_string(peer.uid) + " has role " + roleName(peer.role) + ")");
  }
  if (needed != Role::kAdmin || limits_.mutations_per_s <= 0) return;
  auto it = uids_.find(peer.uid);
  if (it == uids_.end()) {
    it = uids_
             .emplace(peer.uid,
                      UidState{TokenBucket(limits_.mutations_per_s, limits_.burst, now_ns), 0})
             .first;
  }
  UidState& u = it->second;
  if (u.bucket.take(now_ns)) return;
  ++counters_.rate_limited;
  const double wait = u.bucket.waitS(now_ns);
  char buf[160];
  snprintf(buf, sizeof buf,
           "rate limited: uid %u made more than %u state-changing calls at %g/s; retry in %.0f ms",
           static_cast<unsigned>(peer.uid), limits_.burst, limits_.mutations_per_s,
           std::ceil(wait * 1000));
  if (warn_ && (u.last_warn_ns == 0 || now_ns - u.last_warn_ns >= 1000000000ull)) {
    u.last_warn_ns = now_ns;
    warn_(std::string("control: ") + buf + " (pid " + std::to_string(peer.pid) + " comm " +
          dumpLine(json(peer.comm)) + "; " + std::to_string(counters_.rate_limited) +
          " refused so far)");
  }
  throw RpcError(rpc_code::kRateLimited, buf);
}

void ControlAccess::audit(const Peer& peer, std::string_view method, const json& params,
                          const json& reply) {
  ++counters_.admin_calls;
  if (audit_) audit_(auditLine(peer, method, params, reply));
}

std::string auditLine(const Peer& peer, std::string_view method, const json& params,
                      const json& reply) {
  std::string p = dumpLine(params);
  if (p.size() > kMaxAuditParams) p = p.substr(0, kMaxAuditParams) + "...(cut)";
  std::string result = "ok";
  if (reply.is_object() && reply.contains("error") && reply["error"].is_object()) {
    const json& e = reply["error"];
    result = "error " + dumpLine(e.value("code", json(0))) + " " +
             dumpLine(e.value("message", json("")));
  }
  return "audit: uid=" + std::to_string(peer.uid) + " gid=" + std::to_string(peer.gid) +
         " pid=" + std::to_string(peer.pid) + " comm=" + dumpLine(json(peer.comm)) +
         " role=" + roleName(peer.role) + " method=" + dumpLine(json(std::string(method))) +
         " params=" + p + " result=" + result;
}

std::string readComm(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  if (!f || !std::getline(f, comm)) return "?";
  return comm;
}

}  // namespace rtvs
