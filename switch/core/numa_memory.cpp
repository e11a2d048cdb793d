#include "switch/core/numa_memory.h"

#include <algorithm>

namespace rtvs {

std::vector<std::string> socketMemArgs(const std::vector<int>& used_nodes, unsigned node_count,
                                       unsigned memory_mb, unsigned limit_mb) {
  node_count = std::max(node_count, 1u);
  std::vector<bool> used(node_count, false);
  bool any = false;
  for (const int n : used_nodes) {
    if (n >= 0 && static_cast<unsigned>(n) < node_count) used[n] = any = true;
  }
  if (!any) used[0] = true;
  // Trailing nodes the switch does not use are left out (the EAL reads them as 0).
  unsigned last = 0;
  for (unsigned n = 0; n < node_count; ++n) {
    if (used[n]) last = n;
  }
  const auto list = [&](unsigned mb) {
    std::string s;
    for (unsigned n = 0; n <= last; ++n) {
      if (n) s += ',';
      s += std::to_string(used[n] ? mb : 0);
    }
    return s;
  };
  std::vector<std::string> args{"--socket-mem", list(memory_mb)};
  if (limit_mb != 0)
    args.insert(args.end(), {"--socket-limit", list(std::max(limit_mb, memory_mb))});
  return args;
}

}  // namespace rtvs
