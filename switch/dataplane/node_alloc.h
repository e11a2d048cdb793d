#pragma once
// Objects a PMD writes all the time (its statistics, its working state) live in memory of the
// PMD's NUMA node: DPDK memory of that node (rte_zmalloc_socket), else, when the node has none
// (no hugepages there, --no-huge), the ordinary heap. Allocated and freed on the control thread
// at start-up and shutdown, never on the packet path.

#include <rte_common.h>
// rt: allocation at start-up and shutdown only, on the control thread
#include <rte_malloc.h>

#include <algorithm>
#include <memory>
// rt: placement new at start-up
#include <new>
#include <utility>

namespace rtvs {

// The deleter of newOnNode's objects: where they were allocated decides how they are freed.
struct NodeFree {
  bool dpdk = false;  // DPDK memory (rte_free) rather than the heap (delete)
  template <class T>
  void operator()(T* p) const noexcept {
    if (!dpdk) {
      delete p;
      return;
    }
    p->~T();
    rte_free(p);
  }
};

template <class T>
using NodePtr = std::unique_ptr<T, NodeFree>;

// A T constructed in memory of NUMA node `node` (SOCKET_ID_ANY: any), or on the heap when DPDK
// has no memory there. onNode() says which.
template <class T, class... Args>
NodePtr<T> newOnNode(const char* name, int node, Args&&... args) {
  const size_t align = std::max<size_t>(alignof(T), RTE_CACHE_LINE_SIZE);
  // rt: start-up, on the control thread
  void* mem = rte_zmalloc_socket(name, sizeof(T), align, node);
  // rt: start-up, on the control thread
  if (mem == nullptr) return NodePtr<T>(new T(std::forward<Args>(args)...), NodeFree{false});
  // rt: start-up, on the control thread
  return NodePtr<T>(new (mem) T(std::forward<Args>(args)...), NodeFree{true});
}

template <class T>
bool onNode(const NodePtr<T>& p) noexcept {
  return p.get_deleter().dpdk;
}

}  // namespace rtvs
