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

// The PMDs that are isolated by `pins` (a vector of n_pmds flags).
std::vector<bool> isolatedPmds(const std::vector<RxqPin>& pins, unsigned n_pmds);

// Assigns `queues` new rx queues of `port`: pinned ones to their PMD, the others to the
// non-isolated PMD polling the fewest queues (ties: lowest PMD id). `plan` holds every queue
// polled now; returns it with the new ones appended. Queues already in `plan` that sit on a PMD
// which `pins` now isolates move to the non-isolated PMDs the same way. Throws
// std::invalid_argument when a queue has nowhere to go (every PMD isolated) or a pin names a PMD
// out of range.
std::vector<RxqSlot> planAdd(std::vector<RxqSlot> plan, uint32_t port, uint16_t queues,
                             unsigned n_pmds, const std::vector<RxqPin>& pins = {});

// Places `plan` again after pins changed (see planAdd) and evens out the load (planRebalance).
std::vector<RxqSlot> planPins(std::vector<RxqSlot> plan, unsigned n_pmds,
                              const std::vector<RxqPin>& pins);

// Evens out the load after a port went away: while the most loaded non-isolated PMD polls two or
// more queues more than the least loaded one, its last queue moves there. Pinned queues never
// move. Returns the new plan; the moved queues are those whose pmd differs from `plan`.
std::vector<RxqSlot> planRebalance(std::vector<RxqSlot> plan, unsigned n_pmds,
                                   const std::vector<RxqPin>& pins = {});

}  // namespace rtvs
