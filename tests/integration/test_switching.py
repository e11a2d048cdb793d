#!/usr/bin/env python3
"""The L2 learning bridge with real DPDK guests (net_virtio_user) on vhostuser (server) ports:
known unicast goes to the learned port only, broadcast and unknown unicast flood, nothing goes
back out of its ingress port, frames over the egress MTU are dropped and counted, jumbo frames
cross between MTU 9000 ports. Every frame sent is received or counted as a drop; no mbuf leaks."""

import unittest

from itlib import SwitchAndGuest, assert_no_mbuf_leak, learn, mac

A, B, C = 0, 1, 2
MA, MB, MC = mac(0x0A), mac(0x0B), mac(0x0C)


class Switching(SwitchAndGuest):
    GROUP = "it-switching"
    PORTS = (("a", "mtu=9000", "mtu=9000", MA), ("b", "", "", MB), ("c", "mtu=9000", "mtu=9000", MC))

    def setUp(self):
        self.guest.clear()
        self.sw.rpc("stats.clear")

    def rx(self, port, flow):
        return self.guest.port_stats(port)["rx_by_flow"].get(str(flow), 0)

    def settle(self, port, expect):
        self.guest.stats_settled(port, expect_rx=expect, timeout=5)
        self.sw.wait_settled()

    def test_known_unicast_reaches_only_the_learned_port(self):
        n = 20000
        r = self.guest.send(A, count=n, dst=MB, flow=1)
        self.assertEqual(r["sent"] + r["failed"], n)
        sent = r["sent"]
        self.settle(B, sent)
        sa, sb = self.sw.port_stats("a"), self.sw.port_stats("b")
        self.assertEqual(sa["rx_packets"], sent)
        self.assertEqual(self.rx(B, 1) + sb["drops"]["tx_full"], sent)
        self.assertEqual(sb["tx_packets"], self.rx(B, 1))
        self.assertEqual(self.rx(C, 1), 0)
        self.assertEqual(self.rx(A, 1), 0)
        self.assertEqual(self.sw.port_stats("c")["tx_packets"], 0)

    def test_broadcast_floods_to_every_other_port(self):
        n = 3000
        sent = self.guest.send(A, count=n, flow=2)["sent"]
        self.settle(C, sent)
        for port, name in ((B, "b"), (C, "c")):
            st = self.sw.port_stats(name)
            self.assertEqual(self.rx(port, 2) + st["drops"]["tx_full"], sent, name)
        self.assertEqual(self.rx(A, 2), 0, "a frame went back out of its ingress port")

    def test_unknown_unicast_floods(self):
        sent = self.guest.send(A, count=1000, dst=mac(0x99), flow=3)["sent"]
        self.settle(C, sent)
        for port, name in ((B, "b"), (C, "c")):
            st = self.sw.port_stats(name)
            self.assertEqual(self.rx(port, 3) + st["drops"]["tx_full"], sent, name)
        self.assertEqual(self.rx(A, 3), 0)

    def test_no_hairpin(self):
        # A second MAC behind port a: frames to it from port a must not come back.
        behind_a = mac(0xA1)
        self.guest.send(A, count=1, src=behind_a, flow=9)
        from itlib import wait_until
        wait_until(lambda: any(e["mac"] == behind_a and e["port"] == "a"
                               for e in self.sw.rpc("fdb.show")["entries"]), 10, "learn")
        self.guest.clear()
        self.sw.rpc("stats.clear")
        sent = self.guest.send(A, count=500, dst=behind_a, flow=4)["sent"]
        self.sw.wait_settled()
        self.assertEqual(self.sw.port_stats("a")["drops"]["hairpin"], sent)
        for port in (A, B, C):
            self.assertEqual(self.rx(port, 4), 0)

    def test_mtu_drop_and_jumbo(self):
        # 4000-byte frames: c (MTU 9000) gets them whole, b (MTU 1500) drops and counts them.
        sent = self.guest.send(A, count=200, dst=MC, size=4000, flow=5)["sent"]
        self.settle(C, sent)
        st = self.guest.port_stats(C)
        self.assertEqual(self.rx(C, 5) + self.sw.port_stats("c")["drops"]["tx_full"], sent)
        self.assertEqual(st["rx_max_len"], 4000)
        sent = self.guest.send(A, count=100, dst=MB, size=4000, flow=6)["sent"]
        self.sw.wait_settled()
        self.assertEqual(self.sw.port_stats("b")["drops"]["mtu"], sent)
        self.assertEqual(self.rx(B, 6), 0)
        # 9000-byte MTU: the largest frame (9018 with a VLAN tag's room) crosses.
        sent = self.guest.send(C, count=50, dst=MA, size=9014, flow=7)["sent"]
        self.settle(A, sent)
        self.assertEqual(self.rx(A, 7) + self.sw.port_stats("a")["drops"]["tx_full"], sent)

    def test_runts_and_garbage_are_counted_and_dropped(self):
        self.guest.sendraw(A, count=100, hex="00112233445566778899")  # 10 bytes
        self.guest.sendraw(A, count=100, random=60)
        self.sw.wait_settled()
        self.assertEqual(self.sw.port_stats("a")["drops"]["runt"], 100)
        # The switch still forwards afterwards.
        sent = self.guest.send(A, count=100, dst=MB, flow=8)["sent"]
        self.settle(B, sent)
        self.assertEqual(self.rx(B, 8) + self.sw.port_stats("b")["drops"]["tx_full"], sent)

    def test_zz_no_mbuf_leak(self):
        assert_no_mbuf_leak(self, self.sw, self.base)


if __name__ == "__main__":
    unittest.main(verbosity=2)
