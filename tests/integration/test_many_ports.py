#!/usr/bin/env python3
"""As many ports as the switch takes: two vhostuser ports with a DPDK guest pair, then `dpdk` ports
(net_null vdevs, no-rx) added at run time while the pair exchanges traffic, until the daemon
refuses one with a clear error: the switch's 256 ports, or fewer when the DPDK build has fewer
ethdevs per process (RTE_MAX_ETHPORTS: 32 in Debian's DPDK 22.11). Prints the time of each add
(the last one too); the pair loses nothing meanwhile; a flood reaches every port; the ports go
away again cleanly."""

import threading
import time
import unittest

from itlib import assert_no_mbuf_leak, dp, learn, mac, rs

MA, MB = mac(0x2A), mac(0x2B)
MAX_PORTS = 256
RATE = 20000


class ManyPorts(unittest.TestCase):
    def test_ports_up_to_the_limit_under_traffic(self):
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

        times = []
        refused = {}

        def add_all():
            for i in range(MAX_PORTS):
                t0 = time.monotonic()
                try:
                    sw.rpc("port.add", {"name": f"n{i}", "options": {
                        "type": "dpdk", "devargs": f"net_null{i},no-rx=1"}})
                except rs.RpcError as e:
                    refused["error"] = str(e)
                    return
                times.append(time.monotonic() - t0)

        # The pair sends a→b at RATE, one second at a time, until every port is added.
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
            add_all()
        finally:
            t_all = time.monotonic() - t_all
            done.set()
            sender.join()
        sent = result["sent"]
        st = guest.stats_settled(1, expect_rx=sent, timeout=10)
        n_null = len(times)
        print(f"\nadded {n_null} ports in {t_all:.2f} s; port add: first {times[0]*1000:.1f} ms, "
              f"median {sorted(times)[len(times)//2]*1000:.1f} ms, max {max(times)*1000:.1f} ms, "
              f"last (port {n_null + 2}) {times[-1]*1000:.1f} ms; then: {refused.get('error')}",
              flush=True)
        self.assertIn("error", refused, f"port {MAX_PORTS + 1} was not refused")
        self.assertRegex(refused["error"], r"the switch has 256 ports|this DPDK is built for \d+ "
                         r"ethdev ports per process \(RTE_MAX_ETHPORTS\), all in use")
        self.assertGreaterEqual(n_null, 20)
        self.assertEqual(len(sw.rpc("port.list")["ports"]), n_null + 2)
        self.assertEqual(st["rx_by_flow"].get("1", 0), sent, "frames lost while ports were added")
        self.assertEqual(st["rx_dup"] + st["rx_reorder"], 0)
        self.assertEqual(sum(sw.port_stats("b")["drops"].values()), 0)

        # A flood reaches all the other ports (net_null's tx takes everything).
        sw.rpc("stats.clear")
        guest.send(0, count=10, flow=2)
        sw.wait_settled()
        self.assertEqual(sw.port_stats(f"n{n_null - 1}")["tx_packets"], 10)

        for i in range(n_null):
            sw.rpc("port.del", {"name": f"n{i}"})
        self.assertEqual(len(sw.rpc("port.list")["ports"]), 2)
        assert_no_mbuf_leak(self, sw, base)


if __name__ == "__main__":
    unittest.main(verbosity=2)
