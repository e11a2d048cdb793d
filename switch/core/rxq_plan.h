#pragma once
// Which PMD polls which rx queue. Pure logic, so that the control thread's plan is unit-tested.
// A queue that moves between PMDs must first disappear from its old PMD (one RCU grace period)
// before the new one polls it; the daemon publishes the plan in those two steps.

#include <cstdint>
#include <vector>

namespace rtvs {

struct RxqSlot {
  uint32_t port;  // switch port index
  uint16_t queue;
  unsigned pmd;  // the PMD polling it
  bool operator==(const RxqSlot&) const = default;
};

// Assigns `queues` new rx queues of `port` to the PMDs polling the fewest queues (ties: lowest
// PMD id). `plan` holds every queue polled now; returns it with the new ones appended.
std::vector<RxqSlot> planAdd(std::vector<RxqSlot> plan, uint32_t port, uint16_t queues,
                             unsigned n_pmds);

// Evens out the load after a port went away: while the most loaded PMD polls two or more queues
// more than the least loaded, its last queue moves there. Returns the new plan; the moved queues
// are those whose pmd differs from `plan`.
std::vector<RxqSlot> planRebalance(std::vector<RxqSlot> plan, unsigned n_pmds);

}  // namespace rtvs
