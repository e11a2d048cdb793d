#pragma once
// EAL start-up and net_virtio_user ports for the guest-side tools (rtvs-guest, rtvswitch-probe).
// A port is created by hotplug (rte_eal_hotplug_add) so that it can be detached and attached
// again with the same devargs, which is how a test makes a guest go away and come back.

#include <rte_ether.h>
#include <rte_mempool.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

namespace rtvs::guest {

struct EalOptions {
  std::string prog;
  std::string file_prefix;  // required: each DPDK process needs its own
  unsigned mem_mb = 128;
  unsigned lcore = 0;
};

// Sends DPDK's log to stderr (stdout carries the tools' output) and starts the EAL with hugepages
// in a single file per segment list (net_virtio_user shares memory with the switch through those
// fds), no PCI scan and no telemetry socket. Throws std::runtime_error on failure.
void initEal(const EalOptions& opts);

struct PortArgs {
  std::string path;
  bool server = false;  // the guest listens on path; the switch connects (vhostuserclient)
  unsigned queues = 1;
  unsigned queue_size = 1024;
  rte_ether_addr mac{};  // a random locally administered address unless given
  unsigned mtu = 1500;
  // Ask for rx interrupts (virtio's VRING_AVAIL_F_NO_INTERRUPT cleared), as an interrupt-driven
  // guest kernel does: the switch then notifies (writes the eventfd of) this guest after each
  // enqueue. The guest still polls; it only makes the switch do what it does for such guests.
  bool rxintr = false;
};

// Parses "path=SOCK[,server=1][,queues=N][,queue_size=N][,mac=..][,mtu=N][,rxintr=1]". Throws
// std::invalid_argument naming the key and the reason.
PortArgs parsePortArgs(std::string_view spec);

// Mbufs a pool needs to fill the rings of a port with these arguments, plus a margin for bursts.
unsigned mbufsFor(const PortArgs& args);

// Data room of the tools' mbufs: jumbo frames arrive as chains (mergeable rx buffers) and are sent
// as chains.
inline constexpr uint16_t kDataRoom = RTE_MBUF_DEFAULT_BUF_SIZE;

// Lifecycle: detached -> attach() -> attached -> detach() -> detached. In server mode DPDK 22.11's
// virtio_user blocks in accept() until the switch connects, so attach() runs the hotplug on a
// helper thread and returns once the socket listens: the port is "pending" until the switch
// connects and the helper has configured it; service() then finishes the attach.
class VirtioPort {
 public:
  enum class State { kDetached, kPending, kAttached };

  // `index` names the device net_virtio_user<index>.
  VirtioPort(unsigned index, PortArgs args, rte_mempool* pool);
  ~VirtioPort();
  VirtioPort(const VirtioPort&) = delete;
  VirtioPort& operator=(const VirtioPort&) = delete;

  // Hotplugs the device, configures args.queues rx/tx queue pairs and the MTU, and starts it. Does
  // not wait for the vhost link (server mode: returns once the socket listens). Throws
  // std::runtime_error and leaves the port detached.
  void attach();
  // Stops, closes and hot-unplugs the device (the switch sees the guest go away), or cancels a
  // pending server-mode attach.
  void detach() noexcept;
  // Call from the owning thread now and then: completes a pending attach (or records its
  // failure in lastError()), and reads the link, which in server mode is also what makes
  // virtio_user accept the switch's reconnection after it went away.
  void service() noexcept;

  State state() const noexcept { return state_; }
  bool attached() const noexcept { return state_ == State::kAttached; }
  uint16_t portId() const noexcept { return port_id_; }
  const PortArgs& args() const noexcept { return args_; }
  const std::string& name() const noexcept { return name_; }
  const std::string& lastError() const noexcept { return last_error_; }
  bool linkUp() const noexcept;

 private:
  std::string devargs() const;
  uint16_t plugAndConfigure();  // returns the ethdev port id; throws on failure
  void configure(uint16_t port_id);
  void unplug(uint16_t port_id) noexcept;
  void joinHelper() noexcept;

  std::string name_;
  PortArgs args_;
  rte_mempool* pool_;
  State state_ = State::kDetached;
  uint16_t port_id_ = 0;
  std::string last_error_;
  // Server-mode helper: writes helper_port_/helper_error_, then sets helper_done_ (release).
  std::thread helper_;
  std::atomic<bool> helper_done_{false};
  uint16_t helper_port_ = 0;
  std::string helper_error_;
};

}  // namespace rtvs::guest
