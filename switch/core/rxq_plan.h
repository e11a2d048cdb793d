#pragma once
// Which PMD polls which rx queue. Pure logic, so that the control thread's plan is unit-tested.
// A queue that moves between PMDs must first disappear from its old PMD (one RCU grace period)
// before the new one polls it; the daemon publishes the plan in those two steps.
//
// Pinned queues (a port's rxq-affinity option, as OVS's pmd-rxq-affinity) always go to their PMD,
// and a PMD with a pinned queue is isolated: it polls its pinned queues and nothing else (as OVS
// with pmd-rxq-isolate=true), so that a best-effort port's queues, floods or reconfigurations
// never share an RT port's PMD. Every other queue goes to the non-isolated PMDs.

#include <cstdint>
#include <map>
#include <vector>

namespace rtvs {

struct RxqSlot {
  uint32_t port;  // switch port index
  uint16_t queue;
  unsigned pmd;  // the PMD polling it
  bool operator==(const RxqSlot&) const = default;
};

// A queue pinned to a PMD (by PMD id, not core).
struct RxqPin {
  uint32_t port;
  uint16_t queue;
  unsigned pmd;
  bool operator==(const RxqPin&) const = default;
};

// NUMA nodes for placement. Empty: no node information (a single-node host behaves the same).
struct RxqNodes {
  std::vector<int> pmd;          // node of each PMD, by PMD id: empty or one entry per PMD
  std::map<uint32_t, int> port;  // node of a port by switch port index; absent or < 0: unknown
  int portNode(uint32_t port_index) const;
};

// The PMDs that are isolated by `pins` (a vector of n_pmds flags).
std::vector<bool> isolatedPmds(const std::vector<RxqPin>& pins, unsigned n_pmds);

// The PMDs an unpinned queue of `port` may be polled by (n_pmds flags): the non-isolated ones on
// the port's node when there is one, else every non-isolated one.
std::vector<bool> allowedPmds(uint32_t port, const std::vector<bool>& isolated,
                              const RxqNodes& nodes);

// Assigns `queues` new rx queues of `port`: pinned ones to their PMD, the others to the allowed
// (allowedPmds) PMD polling the fewest queues (ties: lowest PMD id). `plan` holds every queue
// polled now; returns it with the new ones appended. Queues already in `plan` that sit on a PMD
// they may no longer use (which `pins` now isolates, or off their port's node) move the same way.
// Throws std::invalid_argument when a queue has nowhere to go (every PMD isolated), a pin names a
// PMD out of range or `nodes.pmd` has not one entry per PMD.
std::vector<RxqSlot> planAdd(std::vector<RxqSlot> plan, uint32_t port, uint16_t queues,
                             unsigned n_pmds, const std::vector<RxqPin>& pins = {},
                             const RxqNodes& nodes = {});

// Places `plan` again after pins or nodes changed (see planAdd) and evens out the load
// (planRebalance).
std::vector<RxqSlot> planPins(std::vector<RxqSlot> plan, unsigned n_pmds,
                              const std::vector<RxqPin>& pins, const RxqNodes& nodes = {});

// Evens out the load after a port went away: while a PMD polls a queue that another PMD allowed
// for it (allowedPmds) could take while polling two or more queues fewer, the queue moves there
// (the most loaded PMD first, its most recently added queue first, to the least loaded allowed
// PMD). Without node information: while the most loaded non-isolated PMD polls two or more queues
// more than the least loaded one, its last queue moves there. Pinned queues never move. Returns
// the new plan; the moved queues are those whose pmd differs from `plan`.
std::vector<RxqSlot> planRebalance(std::vector<RxqSlot> plan, unsigned n_pmds,
                                   const std::vector<RxqPin>& pins = {},
                                   const RxqNodes& nodes = {});

}  // namespace rtvs
