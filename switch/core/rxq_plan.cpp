#include "switch/core/rxq_plan.h"

#include <algorithm>
#include <map>
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

void checkNodes(const RxqNodes& nodes, unsigned n_pmds) {
  if (!nodes.pmd.empty() && nodes.pmd.size() != n_pmds) {
    throw std::invalid_argument("rx queue plan: PMD nodes do not match the PMDs");
  }
}

// The allowed PMD with the fewest queues (ties: lowest id), or kUnplaced.
unsigned leastLoadedOf(const std::vector<unsigned>& load, const std::vector<bool>& allowed) {
  unsigned best = kUnplaced;
  for (unsigned k = 0; k < load.size(); ++k) {
    if (allowed[k] && (best == kUnplaced || load[k] < load[best])) best = k;
  }
  return best;
}

unsigned leastLoaded(const std::vector<unsigned>& load, const std::vector<bool>& allowed) {
  const unsigned best = leastLoadedOf(load, allowed);
  if (best == kUnplaced) {
    throw std::invalid_argument(
        "rx queue plan: every PMD is isolated by rxq-affinity, no PMD left for the other queues");
  }
  return best;
}

// allowedPmds by port, computed once per port.
class Allowed {
 public:
  Allowed(const std::vector<bool>& isolated, const RxqNodes& nodes)
      : isolated_(isolated), nodes_(nodes) {}
  const std::vector<bool>& of(uint32_t port) {
    auto it = cache_.find(port);
    if (it == cache_.end()) it = cache_.emplace(port, allowedPmds(port, isolated_, nodes_)).first;
    return it->second;
  }

 private:
  const std::vector<bool>& isolated_;
  const RxqNodes& nodes_;
  std::map<uint32_t, std::vector<bool>> cache_;
};

// Pinned queues to their PMD; queues that are new or on a PMD they may not use (isolated, or off
// their port's node) to the least loaded allowed one, in plan order. The others stay.
std::vector<RxqSlot> place(std::vector<RxqSlot> plan, unsigned n_pmds,
                           const std::vector<RxqPin>& pins, const RxqNodes& nodes) {
  const std::vector<bool> isolated = isolatedPmds(pins, n_pmds);
  loads(plan, n_pmds);  // checks the PMD ids
  checkNodes(nodes, n_pmds);
  Allowed allowed(isolated, nodes);
  std::vector<unsigned> load(n_pmds, 0);
  std::vector<size_t> unplaced;
  for (size_t i = 0; i < plan.size(); ++i) {
    RxqSlot& s = plan[i];
    if (const RxqPin* pin = pinOf(pins, s.port, s.queue)) {
      s.pmd = pin->pmd;
    } else if (s.pmd == kUnplaced || !allowed.of(s.port)[s.pmd]) {
      unplaced.push_back(i);
      continue;
    }
    ++load[s.pmd];
  }
  for (size_t i : unplaced) {
    plan[i].pmd = leastLoaded(load, allowed.of(plan[i].port));
    ++load[plan[i].pmd];
  }
  return plan;
}

}  // namespace

int RxqNodes::portNode(uint32_t port_index) const {
  const auto it = port.find(port_index);
  return it == port.end() || it->second < 0 ? -1 : it->second;
}

std::vector<bool> allowedPmds(uint32_t port, const std::vector<bool>& isolated,
                              const RxqNodes& nodes) {
  std::vector<bool> allowed(isolated.size());
  for (size_t k = 0; k < isolated.size(); ++k) allowed[k] = !isolated[k];
  const int node = nodes.portNode(port);
  if (node < 0 || nodes.pmd.size() != isolated.size()) return allowed;
  std::vector<bool> local(isolated.size(), false);
  bool any = false;
  for (size_t k = 0; k < isolated.size(); ++k) {
    local[k] = allowed[k] && nodes.pmd[k] == node;
    any = any || local[k];
  }
  return any ? local : allowed;
}

std::vector<bool> isolatedPmds(const std::vector<RxqPin>& pins, unsigned n_pmds) {
  std::vector<bool> isolated(n_pmds, false);
  for (const RxqPin& p : pins) {
    if (p.pmd >= n_pmds) throw std::invalid_argument("rx queue plan: pinned PMD out of range");
    isolated[p.pmd] = true;
  }
  return isolated;
}

std::vector<RxqSlot> planAdd(std::vector<RxqSlot> plan, uint32_t port, uint16_t queues,
                             unsigned n_pmds, const std::vector<RxqPin>& pins,
                             const RxqNodes& nodes) {
  for (uint16_t q = 0; q < queues; ++q) plan.push_back({port, q, kUnplaced});
  return place(std::move(plan), n_pmds, pins, nodes);
}

std::vector<RxqSlot> planPins(std::vector<RxqSlot> plan, unsigned n_pmds,
                              const std::vector<RxqPin>& pins, const RxqNodes& nodes) {
  return planRebalance(place(std::move(plan), n_pmds, pins, nodes), n_pmds, pins, nodes);
}

std::vector<RxqSlot> planRebalance(std::vector<RxqSlot> plan, unsigned n_pmds,
                                   const std::vector<RxqPin>& pins, const RxqNodes& nodes) {
  const std::vector<bool> isolated = isolatedPmds(pins, n_pmds);
  std::vector<unsigned> load = loads(plan, n_pmds);
  checkNodes(nodes, n_pmds);
  Allowed allowed(isolated, nodes);
  // Every move takes a queue from a PMD to one with two or more queues fewer, so the sum of the
  // squared loads falls with each: the loop ends.
  for (;;) {
    // Non-isolated PMDs, most loaded first (ties: lowest id).
    std::vector<unsigned> order;
    for (unsigned k = 0; k < n_pmds; ++k) {
      if (!isolated[k]) order.push_back(k);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](unsigned a, unsigned b) { return load[a] > load[b]; });
    bool moved = false;
    for (unsigned hi : order) {
      // The most recently added queue of the busiest PMD that a less loaded PMD may take.
      for (auto it = plan.rbegin(); it != plan.rend() && !moved; ++it) {
        if (it->pmd != hi || pinOf(pins, it->port, it->queue) != nullptr) continue;
        const unsigned lo = leastLoadedOf(load, allowed.of(it->port));
        if (lo == kUnplaced || load[hi] < load[lo] + 2) continue;
        it->pmd = lo;
        --load[hi];
        ++load[lo];
        moved = true;
      }
      if (moved) break;
    }
    if (!moved) return plan;
  }
}

}  // namespace rtvs
