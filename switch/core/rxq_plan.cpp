#include "switch/core/rxq_plan.h"

#include <algorithm>
#include <stdexcept>

namespace rtvs {

namespace {

std::vector<unsigned> loads(const std::vector<RxqSlot>& plan, unsigned n_pmds) {
  if (n_pmds == 0) throw std::invalid_argument("rx queue plan: no PMDs");
  std::vector<unsigned> load(n_pmds, 0);
  for (const RxqSlot& s : plan) {
    if (s.pmd >= n_pmds) throw std::invalid_argument("rx queue plan: PMD out of range");
    ++load[s.pmd];
  }
  return load;
}

}  // namespace

std::vector<RxqSlot> planAdd(std::vector<RxqSlot> plan, uint32_t port, uint16_t queues,
                             unsigned n_pmds) {
  std::vector<unsigned> load = loads(plan, n_pmds);
  for (uint16_t q = 0; q < queues; ++q) {
    const auto pmd =
        static_cast<unsigned>(std::min_element(load.begin(), load.end()) - load.begin());
    plan.push_back({port, q, pmd});
    ++load[pmd];
  }
  return plan;
}

std::vector<RxqSlot> planRebalance(std::vector<RxqSlot> plan, unsigned n_pmds) {
  std::vector<unsigned> load = loads(plan, n_pmds);
  for (;;) {
    const auto hi =
        static_cast<unsigned>(std::max_element(load.begin(), load.end()) - load.begin());
    const auto lo =
        static_cast<unsigned>(std::min_element(load.begin(), load.end()) - load.begin());
    if (load[hi] < load[lo] + 2) return plan;
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
