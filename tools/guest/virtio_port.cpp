#include "tools/guest/virtio_port.h"

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <vector>

#include "tools/guest/testframe.h"

namespace rtvs::guest {

void initEal(const EalOptions& opts) {
  if (opts.file_prefix.empty()) throw std::runtime_error("--file-prefix: is required");
  rte_openlog_stream(stderr);
  std::vector<std::string> args = {opts.prog,
                                   "-l",
                                   std::to_string(opts.lcore),
                                   "--file-prefix",
                                   opts.file_prefix,
                                   "-m",
                                   std::to_string(opts.mem_mb),
                                   "--single-file-segments",
                                   "--no-pci",
                                   "--no-telemetry",
                                   "--log-level",
                                   "lib.eal:warning"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    throw std::runtime_error(std::string("EAL init failed: ") + rte_strerror(rte_errno));
  }
}

namespace {

unsigned parseUnsigned(std::string_view key, std::string_view v, unsigned lo, unsigned hi) {
  unsigned n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
    throw std::invalid_argument("port " + std::string(key) + ": '" + std::string(v) +
                                "' is not an integer in " + std::to_string(lo) + ".." +
                                std::to_string(hi));
  }
  return n;
}

}  // namespace

PortArgs parsePortArgs(std::string_view spec) {
  PortArgs a;
  rte_eth_random_addr(a.mac.addr_bytes);
  std::set<std::string, std::less<>> seen;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view tok = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = tok.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw std::invalid_argument("port: '" + std::string(tok) + "' is not key=value");
    }
    const std::string key(tok.substr(0, eq));
    const std::string_view val = tok.substr(eq + 1);
    if (!seen.insert(key).second) throw std::invalid_argument("port " + key + ": given twice");
    if (key == "path") {
      // Commas and '=' would be read as more devargs by the virtio_user driver.
      if (val.empty() || val.size() > 107 || val.find_first_of(",=") != std::string_view::npos) {
        throw std::invalid_argument("port path: '" + std::string(val) +
                                    "' must be 1-107 bytes without ',' or '='");
      }
      a.path = val;
    } else if (key == "server") {
      a.server = parseUnsigned(key, val, 0, 1) == 1;
    } else if (key == "queues") {
      a.queues = parseUnsigned(key, val, 1, 8);
    } else if (key == "queue_size") {
      a.queue_size = parseUnsigned(key, val, 64, 4096);
      if ((a.queue_size & (a.queue_size - 1)) != 0) {
        throw std::invalid_argument("port queue_size: '" + std::string(val) +
                                    "' is not a power of two");
      }
    } else if (key == "mac") {
      a.mac = testframe::parseMac(val, "port mac");
      if (rte_is_multicast_ether_addr(&a.mac) || rte_is_zero_ether_addr(&a.mac)) {
        throw std::invalid_argument("port mac: '" + std::string(val) +
                                    "' must be a unicast, non-zero address");
      }
    } else if (key == "mtu") {
      a.mtu = parseUnsigned(key, val, 68, 9000);
    } else if (key == "rxintr") {
      a.rxintr = parseUnsigned(key, val, 0, 1) == 1;
    } else {
      throw std::invalid_argument("port: unknown key '" + key +
                                  "' (path, server, queues, queue_size, mac, mtu, rxintr)");
    }
  }
  if (a.path.empty()) throw std::invalid_argument("port path: is required");
  return a;
}

unsigned mbufsFor(const PortArgs& args) {
  // Rx rings are kept full, one mbuf per descriptor; tx rings hold sent frames until the next
  // clean-up, a jumbo frame as a chain; plus a burst in flight.
  const unsigned room = kDataRoom - RTE_PKTMBUF_HEADROOM;
  const unsigned per_frame = (args.mtu + 18 + room - 1) / room;
  return args.queues * args.queue_size * (1 + per_frame) + 512;
}

VirtioPort::VirtioPort(unsigned index, PortArgs args, rte_mempool* pool)
    : name_("net_virtio_user" + std::to_string(index)), args_(std::move(args)), pool_(pool) {}

VirtioPort::~VirtioPort() { detach(); }

std::string VirtioPort::devargs() const {
  // mrg_rxbuf is the driver's default; naming it documents that jumbo frames depend on it.
  return "path=" + args_.path + ",server=" + (args_.server ? "1" : "0") +
         ",queues=" + std::to_string(args_.queues) +
         ",queue_size=" + std::to_string(args_.queue_size) +
         ",mac=" + testframe::macToString(args_.mac) + ",mrg_rxbuf=1";
}

uint16_t VirtioPort::plugAndConfigure() {
  if (rte_eal_hotplug_add("vdev", name_.c_str(), devargs().c_str()) != 0) {
    throw std::runtime_error(name_ + ": cannot create net_virtio_user on " + args_.path +
                             (args_.server ? " (server)" : " (client: is the switch listening?)"));
  }
  uint16_t port_id = 0;
  if (rte_eth_dev_get_port_by_name(name_.c_str(), &port_id) != 0) {
    rte_eal_hotplug_remove("vdev", name_.c_str());
    throw std::runtime_error(name_ + ": created but no ethdev found");
  }
  try {
    configure(port_id);
  } catch (...) {
    unplug(port_id);
    throw;
  }
  return port_id;
}

void VirtioPort::attach() {
  if (state_ != State::kDetached) throw std::runtime_error(name_ + ": already attached");
  last_error_.clear();
  if (!args_.server) {
    port_id_ = plugAndConfigure();
    state_ = State::kAttached;
    return;
  }
  struct stat st;
  if (lstat(args_.path.c_str(), &st) == 0) {
    throw std::runtime_error(name_ + ": " + args_.path +
                             " exists (a stale socket?): remove it first");
  }
  helper_done_.store(false, std::memory_order_relaxed);
  helper_ = std::thread([this] {
    try {
      helper_port_ = plugAndConfigure();
    } catch (const std::exception& e) {
      helper_error_ = e.what();
    }
    helper_done_.store(true, std::memory_order_release);
  });
  state_ = State::kPending;
  // virtio_user binds and listens before it blocks in accept(): wait for the socket file.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (lstat(args_.path.c_str(), &st) != 0 && !helper_done_.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > deadline) {
      detach();
      throw std::runtime_error(name_ + ": " + args_.path + " did not appear in 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  service();
  if (state_ == State::kDetached) throw std::runtime_error(last_error_);
}

void VirtioPort::joinHelper() noexcept {
  if (helper_.joinable()) helper_.join();
  if (!helper_error_.empty()) {
    last_error_ = helper_error_;
    helper_error_.clear();
    state_ = State::kDetached;
  } else {
    port_id_ = helper_port_;
    state_ = State::kAttached;
  }
}

void VirtioPort::service() noexcept {
  if (state_ == State::kPending && helper_done_.load(std::memory_order_acquire)) joinHelper();
  if (state_ == State::kAttached) linkUp();
}

void VirtioPort::configure(uint16_t port_id) {
  rte_eth_dev_info info;
  if (rte_eth_dev_info_get(port_id, &info) != 0) throw std::runtime_error(name_ + ": no info");
  rte_eth_conf conf{};
  conf.rxmode.mtu = args_.mtu;
  if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  }
  if (args_.rxintr) conf.intr_conf.rxq = 1;
  const auto q = static_cast<uint16_t>(args_.queues);
  int rc = rte_eth_dev_configure(port_id, q, q, &conf);
  if (rc != 0) {
    throw std::runtime_error(name_ + ": configure failed (mtu " + std::to_string(args_.mtu) +
                             "): " + rte_strerror(-rc));
  }
  const int socket = rte_eth_dev_socket_id(port_id);
  for (uint16_t i = 0; i < q; ++i) {
    rc = rte_eth_rx_queue_setup(port_id, i, static_cast<uint16_t>(args_.queue_size),
                                static_cast<unsigned>(socket), nullptr, pool_);
    if (rc != 0) throw std::runtime_error(name_ + ": rx queue setup: " + rte_strerror(-rc));
    rc = rte_eth_tx_queue_setup(port_id, i, static_cast<uint16_t>(args_.queue_size),
                                static_cast<unsigned>(socket), nullptr);
    if (rc != 0) throw std::runtime_error(name_ + ": tx queue setup: " + rte_strerror(-rc));
  }
  rc = rte_eth_dev_start(port_id);
  if (rc != 0) throw std::runtime_error(name_ + ": start failed: " + rte_strerror(-rc));
  for (uint16_t i = 0; args_.rxintr && i < q; ++i) {
    rc = rte_eth_dev_rx_intr_enable(port_id, i);
    if (rc != 0) throw std::runtime_error(name_ + ": rx interrupts: " + rte_strerror(-rc));
  }
}

void VirtioPort::unplug(uint16_t port_id) noexcept {
  rte_eth_dev_stop(port_id);
  rte_eth_dev_close(port_id);
  rte_eal_hotplug_remove("vdev", name_.c_str());
}

void VirtioPort::detach() noexcept {
  if (state_ == State::kPending) {
    // The helper is (or is about to be) blocked in accept(): connect once so that it returns;
    // the vhost-user handshake on that connection then fails and the attach gives up.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!helper_done_.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < deadline) {
      const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un un{};
      un.sun_family = AF_UNIX;
      std::snprintf(un.sun_path, sizeof(un.sun_path), "%s", args_.path.c_str());
      if (fd >= 0) {
        connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof(un));
        close(fd);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!helper_done_.load(std::memory_order_acquire)) {
      // Never returned: leave the thread behind rather than hang; exit will end it.
      helper_.detach();
      state_ = State::kDetached;
      return;
    }
    joinHelper();
    last_error_.clear();
  }
  if (state_ == State::kAttached) unplug(port_id_);
  state_ = State::kDetached;
  // virtio_user leaves its listening socket behind; it was ours, and attach() wants it gone.
  struct stat st;
  if (args_.server && lstat(args_.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
    unlink(args_.path.c_str());
  }
}

bool VirtioPort::linkUp() const noexcept {
  if (state_ != State::kAttached) return false;
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id_, &link) != 0) return false;
  return link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace rtvs::guest
