#!/usr/bin/env python3
"""As many ports as the switch takes (256): two vhostuser ports with a DPDK guest pair, then, at
run time while the pair exchanges traffic, 250 more vhostuser ports (native vhost library ports,
no ethdev each) and 4 `dpdk` ports (net_null vdevs, no-rx, ethdevs). The 257th is refused with a
clear error; 50 vhost ports are deleted and added again, still under traffic. The pair loses
nothing meanwhile; a flood reaches a net_null port. Prints the time of each add (the 256th port's
too) and the daemon's memory per port: VmRSS and hugepage-backed memory (smaps *_Hugetlb) before
and after the 254 adds, divided by 254."""

import os
import threading
import time
import unittest

from itlib import assert_no_mbuf_leak, dp, learn, mac, rs

MA, MB = mac(0x2A), mac(0x2B)
MAX_PORTS = 256
N_NULL = 4
N_VHOST = MAX_PORTS - 2 - N_NULL  # 250
N_CHURN = 50
RATE = 20000


def memory(pid):
    """(VmRSS, hugepage-backed mappings) of a process, in KiB."""
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    huge = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith(("Private_Hugetlb:", "Shared_Hugetlb:")):
                huge += int(line.split()[1])
    return rss, huge


class ManyPorts(unittest.TestCase):
    def test_256_ports_under_traffic(self):
        g = dp.ProcessGroup("it-many")
        self.addCleanup(g.close)
        sw = rs.Daemon(g, ports=["a type=vhostuser", "b type=vhostuser"], memory_mb=512)
        d = sw.socket_dir
        guest = g.start_guest([f"path={d}/a,mac={MA}", f"path={d}/b,mac={MB}"])
        guest.wait_link(0, 30)
        guest.wait_link(1, 30)
        dp.wait_forwarding(guest, 0, guest, 1)
        learn(sw, guest, [(0, MA), (1, MB)])
        base = sw.mempool_in_use()
        mem_before = memory(sw.pid)

        times = []
        out = {}

        def add(name, options):
            t0 = time.monotonic()
            sw.rpc("port.add", {"name": name, "options": options})
            times.append(time.monotonic() - t0)

        def churn():
            for i in range(N_VHOST):
                add(f"v{i}", {"type": "vhostuser"})
            out["mem_vhost"] = memory(sw.pid)
            for i in range(N_NULL):
                add(f"n{i}", {"type": "dpdk", "devargs": f"net_null{i},no-rx=1"})
            out["mem_full"] = memory(sw.pid)
            try:
                sw.rpc("port.add", {"name": "extra", "options": {"type": "vhostuser"}})
            except rs.RpcError as e:
                out["refused"] = str(e)
            t0 = time.monotonic()
            for i in range(N_CHURN):
                sw.rpc("port.del", {"name": f"v{i}"})
            for i in range(N_CHURN):
                add(f"v{i}", {"type": "vhostuser"})
            out["churn_s"] = time.monotonic() - t0

        # The pair sends a→b at RATE, one second at a time, until the churn is over.
        done = threading.Event()
        result = {"sent": 0}

        def send():
            while not done.is_set():
                result["sent"] += guest.send(0, count=RATE, dst=MB, rate=RATE, flow=1)["sent"]

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(0.5)
        t_all = time.monotonic()
        try:
            churn()
        finally:
            t_all = time.monotonic() - t_all
            done.set()
            sender.join()
        sent = result["sent"]
        st = guest.stats_settled(1, expect_rx=sent, timeout=10)
        n_added = N_VHOST + N_NULL
        rss0, huge0 = mem_before
        rss1, huge1 = out["mem_vhost"]
        rss2, huge2 = out["mem_full"]
        print(f"\nadded {n_added} ports ({N_VHOST} vhostuser, {N_NULL} net_null) and churned "
              f"{N_CHURN} in {t_all:.2f} s; port add: first {times[0]*1000:.1f} ms, median "
              f"{sorted(times)[len(times)//2]*1000:.1f} ms, max {max(times)*1000:.1f} ms, "
              f"256th port {times[n_added - 1]*1000:.1f} ms; del+add of {N_CHURN} vhost ports "
              f"{out['churn_s']:.2f} s; 257th: {out.get('refused')}\n"
              f"memory of {N_VHOST} vhostuser ports (no guest): VmRSS {rss0} -> {rss1} KiB "
              f"({(rss1 - rss0) / N_VHOST:.1f} KiB/port), hugepage mappings {huge0} -> {huge1} "
              f"KiB ({(huge1 - huge0) / N_VHOST:.1f} KiB/port); of {N_NULL} net_null ports: "
              f"VmRSS +{(rss2 - rss1) / N_NULL:.1f} KiB/port, hugepages "
              f"+{(huge2 - huge1) / N_NULL:.1f} KiB/port; {sent} frames a->b", flush=True)
        self.assertEqual(out.get("refused"), "the switch has 256 ports (code -32000)",
                         f"port {MAX_PORTS + 1} was not refused clearly")
        self.assertEqual(len(sw.rpc("port.list")["ports"]), MAX_PORTS)
        self.assertEqual(st["rx_by_flow"].get("1", 0), sent, "frames lost while ports changed")
        self.assertEqual(st["rx_dup"] + st["rx_reorder"], 0)
        self.assertEqual(sum(sw.port_stats("b")["drops"].values()), 0)
        # Every vhost port has its own socket and no ethdev.
        self.assertTrue(os.path.exists(f"{d}/v{N_VHOST - 1}"))
        self.assertIsNone(sw.rpc("port.show", {"name": f"v{N_VHOST - 1}"})["ethdev"])

        # A flood reaches the ports that are up (net_null's tx takes everything; vhost ports
        # without a guest are down and skipped).
        sw.rpc("stats.clear")
        guest.send(0, count=10, flow=2)
        sw.wait_settled()
        self.assertEqual(sw.port_stats(f"n{N_NULL - 1}")["tx_packets"], 10)

        for i in range(N_VHOST):
            sw.rpc("port.del", {"name": f"v{i}"})
        for i in range(N_NULL):
            sw.rpc("port.del", {"name": f"n{i}"})
        self.assertEqual(len(sw.rpc("port.list")["ports"]), 2)
        self.assertFalse(os.path.exists(f"{d}/v0"))
        assert_no_mbuf_leak(self, sw, base)


if __name__ == "__main__":
    unittest.main(verbosity=2)
