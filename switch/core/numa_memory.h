#pragma once
// EAL memory per NUMA node. With hugepages the switch asks the EAL for memory-mb on each node it
// uses (the nodes of its PMD and housekeeping cores: each PMD node has its own packet pool and
// PMD statistics, the housekeeping node the control thread's tables) and none elsewhere, instead
// of one global amount that the EAL would spread by lcore count. Pure: the node numbers come from
// the daemon (libnuma).

#include <string>
#include <vector>

namespace rtvs {

// The EAL options for hugepage memory: "--socket-mem" with `memory_mb` on each node of
// `used_nodes` and 0 on the other nodes of a host with `node_count` nodes, and, when `limit_mb`
// is not 0, "--socket-limit" with max(limit_mb, memory_mb) on the used nodes (0 elsewhere: the
// EAL's "no limit", for what the vhost library places on a guest's node). Node numbers outside
// 0..node_count-1 are ignored (at least one node is always listed).
std::vector<std::string> socketMemArgs(const std::vector<int>& used_nodes, unsigned node_count,
                                       unsigned memory_mb, unsigned limit_mb);

}  // namespace rtvs
