// rtvs-guest: one process that plays one or more DPDK guests (net_virtio_user ports) against a
// vhost-user switch. It polls every port and reads line commands from stdin in the same loop, and
// answers each command with one JSON line on stdout. See tools/guest/README.md for the protocol.

#include <poll.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tools/guest/testframe.h"
#include "tools/guest/virtio_port.h"

namespace rtvs::guest {
namespace {

using nlohmann::json;
namespace tf = testframe;

volatile std::sig_atomic_t g_stop = 0;
// The first signal asks for a clean exit; a second one ends the process at once.
void onSignal(int sig) {
  if (g_stop) _exit(128 + sig);
  g_stop = 1;
}

constexpr unsigned kBurst = 32;
// Empty polls before the idle loop starts napping in ppoll() on stdin.
constexpr unsigned kIdlePolls = 1024;

struct PortState {
  std::unique_ptr<VirtioPort> port;
  uint64_t rx = 0, rx_bytes = 0, tx = 0, rx_bad = 0, rx_dup = 0, rx_reorder = 0, rx_max_len = 0;
  std::map<uint32_t, uint64_t> rx_by_flow;
  std::map<uint64_t, uint64_t> rx_by_src;
  std::map<int, uint64_t> rx_by_vlan;  // 802.1Q VID of received frames, -1: untagged
  // Sequence spaces are per (source MAC, flow): two senders may use the same flow id.
  std::map<std::pair<uint64_t, uint32_t>, tf::SeqTracker> rx_seq;
  std::map<uint32_t, uint64_t> tx_next_seq;  // kept across "clear": receivers keep tracking

  void clearCounters() {
    rx = rx_bytes = tx = rx_bad = rx_dup = rx_reorder = rx_max_len = 0;
    rx_by_flow.clear();
    rx_by_src.clear();
    rx_by_vlan.clear();
    rx_seq.clear();
  }
};

// A command's "key=value" arguments; each key may appear once.
class Args {
 public:
  Args(const std::string& cmd, const std::vector<std::string>& toks, size_t first,
       std::initializer_list<const char*> allowed)
      : cmd_(cmd) {
    for (size_t i = first; i < toks.size(); ++i) {
      const size_t eq = toks[i].find('=');
      if (eq == std::string::npos || eq == 0) fail("'" + toks[i] + "' is not key=value");
      const std::string key = toks[i].substr(0, eq);
      bool ok = false;
      for (const char* a : allowed) ok = ok || key == a;
      if (!ok) fail("unknown argument '" + key + "'");
      if (!kv_.emplace(key, toks[i].substr(eq + 1)).second) fail(key + " given twice");
    }
  }
  bool has(const std::string& k) const { return kv_.count(k) != 0; }
  const std::string& str(const std::string& k) const { return kv_.at(k); }
  uint64_t u64(const std::string& k, uint64_t def, uint64_t lo, uint64_t hi) const {
    auto it = kv_.find(k);
    return it == kv_.end() ? def : parseU64(cmd_ + " " + k, it->second, lo, hi);
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw std::invalid_argument(cmd_ + ": " + why);
  }
  static uint64_t parseU64(const std::string& what, const std::string& v, uint64_t lo,
                           uint64_t hi) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < lo || n > hi) {
      throw std::invalid_argument(what + ": '" + v + "' is not an integer in " +
                                  std::to_string(lo) + ".." + std::to_string(hi));
    }
    return n;
  }

 private:
  std::string cmd_;
  std::map<std::string, std::string> kv_;
};

class Guest {
 public:
  Guest(std::vector<PortArgs> args, rte_mempool* pool, unsigned idle_us)
      : pool_(pool), idle_us_(idle_us) {
    for (unsigned i = 0; i < args.size(); ++i) {
      auto& s = ports_.emplace_back();
      s.port = std::make_unique<VirtioPort>(i, std::move(args[i]), pool);
    }
  }

  void start() {
    for (auto& s : ports_) s.port->attach();
    json ports = json::array();
    for (unsigned i = 0; i < ports_.size(); ++i) {
      const auto& a = ports_[i].port->args();
      ports.push_back({{"index", i}, {"mac", tf::macToString(a.mac)}, {"path", a.path}});
    }
    reply({{"ready", true}, {"ports", ports}});
  }

  void run() {
    std::string pending;
    unsigned idle = 0;
    unsigned iter = 0;
    const uint64_t service_period = rte_get_tsc_hz() / 10;
    uint64_t next_service = 0;
    while (!g_stop) {
      const unsigned n = pollRx();
      if (const uint64_t t = rte_rdtsc(); t >= next_service) {
        for (auto& s : ports_) s.port->service();
        next_service = t + service_period;
      }
      idle = n != 0 ? 0 : idle + 1;
      if (n != 0 && (++iter % 64) != 0) continue;
      timespec nap{0, idle_us_ != 0 && idle > kIdlePolls ? long(idle_us_) * 1000 : 0};
      pollfd pfd{0, POLLIN, 0};
      if (ppoll(&pfd, 1, &nap, nullptr) <= 0) continue;
      char buf[4096];
      const ssize_t got = read(0, buf, sizeof(buf));
      if (got < 0) continue;  // EINTR: the loop re-checks g_stop
      if (got == 0) {
        if (!pending.empty()) handleLine(pending);
        return;  // EOF: the controller is gone
      }
      pending.append(buf, static_cast<size_t>(got));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        const std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (!handleLine(line)) return;
      }
    }
  }

 private:
  static void reply(const json& j) {
    std::cout << j.dump() << '\n' << std::flush;
    if (!std::cout) g_stop = 1;  // stdout is gone: nobody reads the replies
  }

  // Returns false on "quit".
  bool handleLine(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> toks;
    for (std::string t; in >> t;) toks.push_back(t);
    if (toks.empty()) return true;
    try {
      const std::string& cmd = toks[0];
      if (cmd == "quit") {
        if (toks.size() != 1) throw std::invalid_argument("quit: takes no argument");
        reply({{"bye", true}});
        return false;
      }
      if (cmd == "send") {
        reply(cmdSend(toks));
      } else if (cmd == "sendraw") {
        reply(cmdSendRaw(toks));
      } else if (cmd == "stats") {
        if (toks.size() != 1) throw std::invalid_argument("stats: takes no argument");
        reply(cmdStats());
      } else if (cmd == "clear") {
        if (toks.size() != 1) throw std::invalid_argument("clear: takes no argument");
        for (auto& s : ports_) s.clearCounters();
        reply({{"cleared", true}});
      } else if (cmd == "link") {
        PortState& s = portArg(toks, 2);
        s.port->service();
        reply({{"link", s.port->linkUp() ? "up" : "down"}});
      } else if (cmd == "wait-link") {
        reply(cmdWaitLink(toks));
      } else if (cmd == "detach") {
        PortState& s = portArg(toks, 2);
        if (s.port->state() == VirtioPort::State::kDetached) {
          throw std::invalid_argument("detach: port is already detached");
        }
        s.port->detach();
        reply({{"detached", true}});
      } else if (cmd == "attach") {
        PortState& s = portArg(toks, 2);
        s.port->service();
        if (s.port->state() != VirtioPort::State::kDetached) {
          throw std::invalid_argument("attach: port is already attached");
        }
        s.port->attach();
        reply({{"attached", true}});
      } else {
        throw std::invalid_argument(
            "unknown command '" + cmd +
            "' (send, sendraw, stats, clear, link, wait-link, detach, attach, quit)");
      }
    } catch (const std::exception& e) {
      reply({{"error", e.what()}});
    }
    return true;
  }

  // toks[1] is the port index. `max_toks` = 0: any number of key=value arguments follow.
  PortState& portArg(const std::vector<std::string>& toks, size_t max_toks) {
    const std::string& cmd = toks[0];
    if (toks.size() < 2) throw std::invalid_argument(cmd + ": PORT is required");
    if (max_toks != 0 && toks.size() > max_toks) {
      throw std::invalid_argument(cmd + ": too many arguments");
    }
    const uint64_t i = Args::parseU64(cmd + " PORT", toks[1], 0, ports_.size() - 1);
    return ports_[i];
  }

  PortState& attachedPortArg(const std::vector<std::string>& toks, size_t max_toks) {
    PortState& s = portArg(toks, max_toks);
    s.port->service();
    if (s.port->state() == VirtioPort::State::kPending) {
      throw std::invalid_argument(toks[0] + ": port is not attached yet (no switch connected)");
    }
    if (!s.port->attached()) throw std::invalid_argument(toks[0] + ": port is detached");
    return s;
  }

  json cmdSend(const std::vector<std::string>& toks) {
    PortState& s = attachedPortArg(toks, 0);
    Args a("send", toks, 2, {"count", "dst", "src", "size", "rate", "vlan", "flow"});
    if (!a.has("count")) a.fail("count is required");
    const uint64_t count = a.u64("count", 0, 0, uint64_t{1} << 40);
    tf::FrameSpec spec;
    std::memset(spec.dst.addr_bytes, 0xff, 6);
    spec.src = s.port->args().mac;
    if (a.has("dst")) spec.dst = tf::parseMac(a.str("dst"), "send dst");
    if (a.has("src")) spec.src = tf::parseMac(a.str("src"), "send src");
    spec.vlan = a.has("vlan") ? static_cast<int>(a.u64("vlan", 0, 0, 4095)) : -1;
    spec.size =
        static_cast<uint32_t>(a.u64("size", 64, tf::minFrame(spec.vlan >= 0), tf::kMaxFrame));
    const uint64_t rate = a.u64("rate", 0, 0, 100'000'000);
    const auto flow = static_cast<uint32_t>(a.u64("flow", 0, 0, UINT32_MAX));

    const std::vector<uint8_t> tmpl = tf::buildTemplate(spec);
    const uint32_t off = tf::headerLen(spec.vlan >= 0);
    uint64_t& seq = s.tx_next_seq[flow];
    auto make = [&](uint64_t) -> rte_mbuf* {
      rte_mbuf* m = tf::mbufFromBytes(pool_, tmpl.data(), spec.size);
      if (m != nullptr) tf::stamp(m, off, flow, seq++, rte_rdtsc());
      return m;
    };
    const auto txq = static_cast<uint16_t>(flow % s.port->args().queues);
    return transmit(s, txq, count, rate, make);
  }

  json cmdSendRaw(const std::vector<std::string>& toks) {
    PortState& s = attachedPortArg(toks, 0);
    Args a("sendraw", toks, 2, {"count", "hex", "random"});
    if (!a.has("count")) a.fail("count is required");
    if (a.has("hex") == a.has("random")) a.fail("give exactly one of hex= and random=");
    const uint64_t count = a.u64("count", 0, 0, uint64_t{1} << 40);
    std::vector<uint8_t> bytes;
    if (a.has("hex")) {
      const std::string& h = a.str("hex");
      if (h.empty() || h.size() % 2 != 0 || h.size() / 2 > tf::kMaxFrame) {
        a.fail("hex must be an even number of hex digits, 1 to 9018 bytes");
      }
      for (size_t i = 0; i < h.size(); i += 2) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(h.data() + i, h.data() + i + 2, v, 16);
        if (ec != std::errc() || p != h.data() + i + 2)
          a.fail("hex: '" + h.substr(i, 2) + "' is not a hex byte");
        bytes.push_back(static_cast<uint8_t>(v));
      }
    } else {
      bytes.resize(a.u64("random", 0, 1, tf::kMaxFrame));
    }
    const bool random = a.has("random");
    auto make = [&](uint64_t) -> rte_mbuf* {
      if (random) {
        for (auto& b : bytes) b = static_cast<uint8_t>(rng_());
      }
      return tf::mbufFromBytes(pool_, bytes.data(), static_cast<uint32_t>(bytes.size()));
    };
    return transmit(s, 0, count, 0, make);
  }

  // Sends `count` frames from make() in bursts, paced to `rate` frames/s (0: as fast as the port
  // takes them), receiving on all ports meanwhile. A burst the port refuses for 10 ms (longer than
  // the host stalls seen here) counts as failed; after that, bursts get a single try until the
  // port takes frames again, so a dead peer never blocks the tool for long.
  json transmit(PortState& s, uint16_t txq, uint64_t count, uint64_t rate,
                const std::function<rte_mbuf*(uint64_t)>& make) {
    const uint64_t hz = rte_get_tsc_hz();
    bool stalled = false;
    const uint64_t start = rte_rdtsc();
    uint64_t attempted = 0, sent = 0, failed = 0;
    std::array<rte_mbuf*, kBurst> burst;
    while (attempted < count && !g_stop) {
      pollRx();
      uint64_t want = std::min<uint64_t>(kBurst, count - attempted);
      if (rate != 0) {
        const auto elapsed = static_cast<unsigned __int128>(rte_rdtsc() - start);
        const auto due = static_cast<uint64_t>(elapsed * rate / hz) + 1;
        if (due <= attempted) continue;
        want = std::min(want, due - attempted);
      }
      unsigned built = 0;
      while (built < want && (burst[built] = make(attempted + built)) != nullptr) ++built;
      unsigned done = 0;
      uint64_t last_progress = rte_rdtsc();
      while (done < built) {
        const uint16_t k = rte_eth_tx_burst(s.port->portId(), txq, burst.data() + done,
                                            static_cast<uint16_t>(built - done));
        done += k;
        const uint64_t t = rte_rdtsc();
        if (k != 0) {
          last_progress = t;
          stalled = false;
        } else if (stalled || t - last_progress > hz / 100) {
          stalled = true;
          break;
        } else {
          pollRx();
        }
      }
      if (done < built) rte_pktmbuf_free_bulk(burst.data() + done, built - done);
      sent += done;
      failed += want - done;
      attempted += want;
    }
    s.tx += sent;
    return {{"sent", sent}, {"failed", failed}};
  }

  json cmdWaitLink(const std::vector<std::string>& toks) {
    PortState& s = portArg(toks, 3);
    if (toks.size() != 3) throw std::invalid_argument("wait-link: TIMEOUT_S is required");
    double timeout = 0;
    try {
      size_t used = 0;
      timeout = std::stod(toks[2], &used);
      if (used != toks[2].size() || !(timeout >= 0 && timeout <= 3600)) throw std::exception();
    } catch (const std::exception&) {
      throw std::invalid_argument("wait-link TIMEOUT_S: '" + toks[2] +
                                  "' is not a number of seconds in 0..3600");
    }
    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(timeout * static_cast<double>(hz));
    uint64_t next_check = 0;
    bool up = s.port->linkUp();
    while (!up && !g_stop) {
      const uint64_t t = rte_rdtsc();
      if (t >= end) break;
      if (pollRx() == 0 && idle_us_ != 0) rte_delay_us_sleep(idle_us_);
      if (t >= next_check) {  // reading a virtio_user link is a syscall: not on every poll
        s.port->service();
        up = s.port->linkUp();
        next_check = t + hz / 1000;
      }
    }
    return {{"link", up ? "up" : "down"}};
  }

  json cmdStats() {
    json ports = json::array();
    for (unsigned i = 0; i < ports_.size(); ++i) {
      PortState& s = ports_[i];
      json by_flow = json::object();
      for (const auto& [f, n] : s.rx_by_flow) by_flow[std::to_string(f)] = n;
      json by_src = json::object();
      for (const auto& [mac, n] : s.rx_by_src) {
        rte_ether_addr a;
        for (int b = 0; b < 6; ++b) a.addr_bytes[b] = static_cast<uint8_t>(mac >> (40 - 8 * b));
        by_src[tf::macToString(a)] = n;
      }
      json by_vlan = json::object();
      for (const auto& [v, n] : s.rx_by_vlan) by_vlan[v < 0 ? "untagged" : std::to_string(v)] = n;
      static constexpr const char* kStates[] = {"detached", "pending", "attached"};
      s.port->service();
      ports.push_back({{"index", i},
                       {"link", s.port->linkUp() ? "up" : "down"},
                       {"state", kStates[static_cast<int>(s.port->state())]},
                       {"error", s.port->lastError()},
                       {"rx", s.rx},
                       {"rx_bytes", s.rx_bytes},
                       {"tx", s.tx},
                       {"rx_by_flow", by_flow},
                       {"rx_by_src", by_src},
                       {"rx_by_vlan", by_vlan},
                       {"rx_bad", s.rx_bad},
                       {"rx_dup", s.rx_dup},
                       {"rx_reorder", s.rx_reorder},
                       {"rx_max_len", s.rx_max_len}});
    }
    return {{"ports", ports}};
  }

  // Polls every queue of every attached port once. Returns the frames received.
  unsigned pollRx() {
    unsigned total = 0;
    std::array<rte_mbuf*, kBurst> pkts;
    for (auto& s : ports_) {
      if (!s.port->attached()) continue;
      for (uint16_t q = 0; q < s.port->args().queues; ++q) {
        // Drain a backlog (bounded) so a receiver in the same loop as a sender never falls
        // behind it.
        uint16_t n = kBurst;
        for (int b = 0; b < 8 && n == kBurst; ++b) {
          n = rte_eth_rx_burst(s.port->portId(), q, pkts.data(), kBurst);
          for (uint16_t i = 0; i < n; ++i) countRx(s, pkts[i]);
          if (n != 0) rte_pktmbuf_free_bulk(pkts.data(), n);
          total += n;
        }
      }
    }
    return total;
  }

  static void countRx(PortState& s, const rte_mbuf* m) {
    s.rx++;
    s.rx_bytes += m->pkt_len;
    s.rx_max_len = std::max<uint64_t>(s.rx_max_len, m->pkt_len);
    uint64_t src = 0;
    if (m->pkt_len >= 12) {
      rte_ether_addr a;
      const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 6, 6, a.addr_bytes));
      std::memcpy(a.addr_bytes, p, 6);
      src = tf::macToU64(a);
      s.rx_by_src[src]++;
    }
    if (m->pkt_len >= 16) {
      uint8_t hdr[4];
      const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 12, 4, hdr));
      const bool tagged = p[0] == 0x81 && p[1] == 0x00;
      s.rx_by_vlan[tagged ? ((p[2] & 0x0F) << 8 | p[3]) : -1]++;
    }
    const tf::Parsed p = tf::parse(m, true);
    if (p.kind == tf::Kind::kBad) {
      s.rx_bad++;
    } else if (p.kind == tf::Kind::kOurs) {
      s.rx_by_flow[p.flow]++;
      switch (s.rx_seq[{src, p.flow}].observe(p.seq)) {
        case tf::SeqTracker::Result::kDup:
          s.rx_dup++;
          break;
        case tf::SeqTracker::Result::kReorder:
          s.rx_reorder++;
          break;
        case tf::SeqTracker::Result::kNew:
          break;
      }
    }
  }

  rte_mempool* pool_;
  unsigned idle_us_;
  std::vector<PortState> ports_;
  std::mt19937_64 rng_{std::random_device{}()};
};

int guestMain(int argc, char** argv) {
  CLI::App app{
      "rtvs-guest: DPDK guests (net_virtio_user ports) for testing a vhost-user switch.\n"
      "Reads commands on stdin, answers each with one JSON line on stdout."};
  EalOptions eal;
  eal.prog = argv[0];
  std::vector<std::string> port_specs;
  unsigned idle_us = 100;
  app.add_option("--port", port_specs,
                 "path=SOCK[,server=1][,queues=N][,queue_size=N][,mac=MAC][,mtu=N][,rxintr=1]; "
                 "one per guest port, indexes 0, 1, ... in order")
      ->required();
  app.add_option("--file-prefix", eal.file_prefix, "EAL file prefix (unique per process)")
      ->required();
  app.add_option("--mem", eal.mem_mb, "hugepage memory in MB")
      ->default_val(128)
      ->check(CLI::Range(32, 1024));
  app.add_option("--lcore", eal.lcore, "CPU to run on")->default_val(0);
  app.add_option("--idle-us", idle_us,
                 "when idle, nap this long between polls (0: busy-poll always)")
      ->default_val(100)
      ->check(CLI::Range(0, 10000));
  std::vector<PortArgs> ports;
  try {
    app.parse(argc, argv);
    for (const auto& p : port_specs) ports.push_back(parsePortArgs(p));
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "rtvs-guest: " << e.what() << '\n';
    return 2;
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    initEal(eal);
  } catch (const std::exception& e) {
    std::cerr << "rtvs-guest: " << e.what() << '\n';
    std::cout << json{{"ready", false}, {"error", e.what()}}.dump() << std::endl;
    return 1;
  }
  int rc = 0;
  unsigned mbufs = 2048;
  for (const auto& p : ports) mbufs += mbufsFor(p);
  rte_mempool* pool = rte_pktmbuf_pool_create("guest_pool", mbufs, 256, 0, kDataRoom,
                                              static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    const std::string msg = "cannot create a pool of " + std::to_string(mbufs) +
                            " mbufs (raise --mem): " + rte_strerror(rte_errno);
    std::cerr << "rtvs-guest: " << msg << '\n';
    std::cout << json{{"ready", false}, {"error", msg}}.dump() << std::endl;
    rc = 1;
  } else {
    try {
      Guest g(std::move(ports), pool, idle_us);
      g.start();
      g.run();
    } catch (const std::exception& e) {
      std::cerr << "rtvs-guest: " << e.what() << '\n';
      std::cout << json{{"ready", false}, {"error", e.what()}}.dump() << std::endl;
      rc = 1;
    }
    rte_mempool_free(pool);
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace
}  // namespace rtvs::guest

int main(int argc, char** argv) { return rtvs::guest::guestMain(argc, argv); }
