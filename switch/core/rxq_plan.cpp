#include "switch/core/rxq_plan.h"

#include <algorithm>
#include <stdexcept>

namespace rtvs {

namespace {

constexpr unsigned kUnplaced = ~0u;

std::vector<unsigned> loads(const std::vector<RxqSlot>& plan, unsigned n_pmds) {
  if (n_pmds == 0) throw std::invalid_argument("rx queue plan: no PMDs");
  std::vector<unsigned> load(n_pmds, 0);
  for (const RxqSlot& s : plan) {
    if (s.pmd == kUnplaced) continue;
    if (s.pmd >= n_pmds) throw std::invalid_argument("rx queue plan: PMD out of range");
    ++load[s.pmd];
  }
  return load;
}

const RxqPin* pinOf(const std::vector<RxqPin>& pins, uint32_t port, uint16_t queue) {
  for (const RxqPin& p : pins) {
    if (p.port == port && p.queue == queue) return &p;
  }
  return nullptr;
}

// The non-isolated PMD with the fewest queues (ties: lowest id).
unsigned leastLoaded(const std::vector<unsigned>& load, const std::vector<bool>& isolated) {
  unsigned best = kUnplaced;
  for (unsigned k = 0; k < load.size(); ++k) {
    if (!isolated[k] && (best == kUnplaced || load[k] < load[best])) best = k;
  }
  if (best == kUnplaced) {
    throw std::invalid_argument(
        "rx queue plan: every PMD is isolated by rxq-affinity, no PMD left for the other queues");
  }
  return best;
}

// Pinned queues to their PMD; queues that are new or on an isolated PMD to the least loaded
// non-isolated one, in plan order. The others stay.
std::vector<RxqSlot> place(std::vector<RxqSlot> plan, unsigned n_pmds,
                           const std::vector<RxqPin>& pins) {
  const std::vector<bool> isolated = isolatedPmds(pins, n_pmds);
  loads(plan, n_pmds);  // checks the PMD ids
  std::vector<unsigned> load(n_pmds, 0);
  std::vector<size_t> unplaced;
  for (size_t i = 0; i < plan.size(); ++i) {
    RxqSlot& s = plan[i];
    if (const RxqPin* pin = pinOf(pins, s.port, s.queue)) {
      s.pmd = pin->pmd;
    } else if (s.pmd == kUnplaced || isolated[s.pmd]) {
      unplaced.push_back(i);
      continue;
    }
    ++load[s.pmd];
  }
  for (size_t i : unplaced) {
    plan[i].pmd = leastLoaded(load, isolated);
    ++load[plan[i].pmd];
  }
  return plan;
}

}  // namespace

std::vector<bool> isolatedPmds(const std::vector<RxqPin>& pins, unsigned n_pmds) {
  std::vector<bool> isolated(n_pmds, false);
  for (const RxqPin& p : pins) {
    if (p.pmd >= n_pmds) throw std::invalid_argument("rx queue plan: pinned PMD out of range");
    isolated[p.pmd] = true;
  }
  return isolated;
}

std::vector<RxqSlot> planAdd(std::vector<RxqSlot> plan, uint32_t port, uint16_t queues,
                             unsigned n_pmds, const std::vector<RxqPin>& pins) {
  for (uint16_t q = 0; q < queues; ++q) plan.push_back({port, q, kUnplaced});
  return place(std::move(plan), n_pmds, pins);
}

std::vector<RxqSlot> planPins(std::vector<RxqSlot> plan, unsigned n_pmds,
                              const std::vector<RxqPin>& pins) {
  return planRebalance(place(std::move(plan), n_pmds, pins), n_pmds, pins);
}

std::vector<RxqSlot> planRebalance(std::vector<RxqSlot> plan, unsigned n_pmds,
                                   const std::vector<RxqPin>& pins) {
  const std::vector<bool> isolated = isolatedPmds(pins, n_pmds);
  std::vector<unsigned> load = loads(plan, n_pmds);
  for (;;) {
    unsigned hi = kUnplaced;
    unsigned lo = kUnplaced;
    for (unsigned k = 0; k < n_pmds; ++k) {
      if (isolated[k]) continue;
      if (hi == kUnplaced || load[k] > load[hi]) hi = k;
      if (lo == kUnplaced || load[k] < load[lo]) lo = k;
    }
    if (hi == kUnplaced || load[hi] < load[lo] + 2) return plan;
    // Move the most recently added queue of the busiest PMD.
    for (auto it = plan.rbegin(); it != plan.rend(); ++it) {
      if (it->pmd == hi) {
        it->pmd = lo;
        break;
      }
    }
    --load[hi];
    ++load[lo];
  }
}

}  // namespace rtvs
