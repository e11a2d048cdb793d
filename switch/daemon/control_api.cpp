#include "switch/daemon/control_api.h"

#include "switch/core/socket_policy.h"
#include "switch/protocol/authz.h"

namespace rtvs {

using nlohmann::json;

void registerControlMethods(RpcDispatcher& d, const Config& cfg) {
  d.add("control.show", "", "your role, the rate limit, refusal counters, device and socket policy",
        [&d, &cfg](const json&) {
          json you = nullptr;
          if (const Peer* p = d.caller()) {
            you = {{"uid", p->uid},
                   {"gid", p->gid},
                   {"pid", p->pid},
                   {"comm", p->comm},
                   {"role", roleName(p->role)}};
          }
          json counters = json::object();
          json limits = {{"mutation_rate", cfg.control_mutation_rate},
                         {"mutation_burst", cfg.control_mutation_burst}};
          if (const ControlAccess* a = d.access()) {
            counters = {{"admin_calls", a->counters().admin_calls},
                        {"permission_denied", a->counters().permission_denied},
                        {"rate_limited", a->counters().rate_limited}};
          }
          std::vector<std::string> dirs{cfg.socket_dir};
          dirs.insert(dirs.end(), cfg.allowed_socket_dirs.begin(), cfg.allowed_socket_dirs.end());
          return json{{"you", you},
                      {"limits", limits},
                      {"counters", counters},
                      {"admin_group", cfg.control_admin_group},
                      {"read_group", cfg.control_read_group},
                      {"allowed_socket_dirs", realDirs(dirs)},
                      {"dpdk_allow", cfg.dpdk_allow}};
        });
}

}  // namespace rtvs
