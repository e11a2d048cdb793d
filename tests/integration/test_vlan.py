#!/usr/bin/env python3
"""VLAN isolation and port security with real DPDK guests (net_virtio_user) on vhostuser ports:
four guests on two access VLANs (10 and 20) with the same MAC addresses in both, a trunk carrying
both (802.1Q frames from the guest side), and three more ports on VLAN 30 with anti-spoofing, a
MAC limit and storm control. Each VLAN reaches only its own ports, broadcasts do not cross, the
trunk sends and receives the right tags both ways, the MAC table is per VLAN, and every refused
frame is counted with its reason."""

import time
import unittest

from itlib import SwitchAndGuest, assert_no_mbuf_leak, wait_until

A1, A2, B1, B2, T, S1, S2, S3 = range(8)
# The same two MACs on VLAN 10 and on VLAN 20.
M1, M2 = "52:54:00:00:01:01", "52:54:00:00:01:02"
MT = "52:54:00:00:01:0f"
MS1, MS2, MS3 = "52:54:00:00:03:01", "52:54:00:00:03:02", "52:54:00:00:03:03"
STORM_PPS = 2000


class Vlan(SwitchAndGuest):
    GROUP = "it-vlan"
    PORTS = (("a1", "tag=10", "", M1), ("a2", "tag=10", "", M2),
             ("b1", "tag=20", "", M1), ("b2", "tag=20", "", M2),
             ("t", "trunks=10,20", "", MT),
             ("s1", f"tag=30 allowed-macs={MS1}", "", MS1),
             ("s2", f"tag=30 mac-limit=2 storm-broadcast-pps={STORM_PPS}", "", MS2),
             ("s3", "tag=30", "", MS3))
    FORWARDING = ((A1, A2), (S1, S3))
    LEARN = False

    def setUp(self):
        self.sw.rpc("fdb.flush")
        self.guest.clear()
        self.sw.rpc("stats.clear")

    def rx(self, port, flow):
        return self.guest.port_stats(port)["rx_by_flow"].get(str(flow), 0)

    def vlans(self, port):
        return self.guest.port_stats(port)["rx_by_vlan"]

    def fdb(self, **params):
        return {(e["vlan"], e["mac"]): e["port"]
                for e in self.sw.rpc("fdb.show", params or None)["entries"]}

    def settle(self):
        time.sleep(0.2)
        self.sw.wait_settled()

    def test_broadcast_stays_in_its_vlan_and_is_tagged_on_the_trunk(self):
        n = 2000
        # Paced: the trunk gets both floods, and the guest polls eight ports on one core.
        sent_a = self.guest.send(A1, count=n, flow=1, rate=20000)["sent"]
        sent_b = self.guest.send(B2, count=n, flow=2, rate=20000)["sent"]
        self.guest.stats_settled(T, expect_rx=sent_a + sent_b)
        self.settle()
        self.assertEqual(self.rx(A2, 1), sent_a)
        self.assertEqual(self.rx(B1, 2), sent_b)
        for p in (B1, B2, S1, S2, S3):
            self.assertEqual(self.rx(p, 1), 0, f"VLAN 10 broadcast reached port {p}")
        for p in (A1, A2, S1, S2, S3):
            self.assertEqual(self.rx(p, 2), 0, f"VLAN 20 broadcast reached port {p}")
        # The access ports get them untagged, the trunk with the VLAN's tag.
        self.assertEqual(self.vlans(A2), {"untagged": sent_a})
        self.assertEqual(self.vlans(B1), {"untagged": sent_b})
        self.assertEqual(self.vlans(T), {"10": sent_a, "20": sent_b})
        self.assertEqual(self.rx(T, 1), sent_a)
        self.assertEqual(self.rx(T, 2), sent_b)
        pmd = self.sw.rpc("pmd.show")["pmds"][0]
        self.assertGreaterEqual(pmd["vlan_copies"], 0)
        assert_no_mbuf_leak(self, self.sw, self.base)

    def test_same_macs_in_two_vlans(self):
        for port, m in ((A1, M1), (A2, M2), (B1, M1), (B2, M2), (T, MT)):
            self.guest.send(port, count=1, src=m, flow=9)
        self.guest.send(T, count=1, src=MT, vlan=10, flow=9)
        self.guest.send(T, count=1, src=MT, vlan=20, flow=9)
        want = {(10, M1): "a1", (10, M2): "a2", (20, M1): "b1", (20, M2): "b2", (10, MT): "t",
                (20, MT): "t"}
        wait_until(lambda: self.fdb() == want, 10, "per-VLAN MAC table")
        self.assertEqual(self.fdb(vlan=20), {k: v for k, v in want.items() if k[0] == 20})
        self.assertEqual(self.fdb(port="a2"), {(10, M2): "a2"})
        self.settle()
        self.guest.clear()
        self.sw.rpc("stats.clear")
        n = 3000
        sa = self.guest.send(A1, count=n, dst=M2, flow=3, rate=20000)["sent"]
        sb = self.guest.send(B1, count=n, dst=M2, flow=4, rate=20000)["sent"]
        self.guest.stats_settled(B2, expect_rx=sb)
        self.settle()
        self.assertEqual(self.rx(A2, 3), sa)
        self.assertEqual(self.rx(B2, 4), sb)
        self.assertEqual(self.rx(B2, 3) + self.rx(A2, 4), 0, "unicast crossed VLANs")
        self.assertEqual(self.rx(T, 3) + self.rx(T, 4), 0, "known unicast was flooded")
        # The vswitchctl table has the VLAN column.
        out = self.sw.ctl("fdb", "show", "--vlan", "20").stdout
        self.assertIn("VLAN", out.splitlines()[0])
        rows = out.splitlines()[1:-1]
        self.assertEqual(len(rows), 3)
        self.assertTrue(all(r.split()[0] == "20" for r in rows), out)

    def test_trunk_in_and_out(self):
        for port, m in ((A2, M2), (B2, M2)):
            self.guest.send(port, count=1, src=m, flow=9)
        wait_until(lambda: len(self.fdb()) == 2, 10, "M2 learned in both VLANs")
        self.settle()
        self.guest.clear()
        self.sw.rpc("stats.clear")
        n = 1000
        s10 = self.guest.send(T, count=n, vlan=10, dst=M2, flow=5, rate=20000)["sent"]
        s20 = self.guest.send(T, count=n, vlan=20, dst=M2, flow=6, rate=20000)["sent"]
        s30 = self.guest.send(T, count=n, vlan=30, dst=M2, flow=7, rate=20000)["sent"]
        su = self.guest.send(T, count=n, dst=M2, flow=8, rate=20000)["sent"]
        # Tagged frames into an access port are dropped too.
        sx = self.guest.send(A1, count=n, vlan=10, dst=M2, flow=10, rate=20000)["sent"]
        self.guest.stats_settled(B2, expect_rx=s20)
        self.settle()
        self.assertEqual(self.rx(A2, 5), s10)
        self.assertEqual(self.rx(B2, 6), s20)
        self.assertEqual(self.vlans(A2), {"untagged": s10})
        self.assertEqual(self.vlans(B2), {"untagged": s20})
        for p in range(8):
            self.assertEqual(self.rx(p, 7) + self.rx(p, 8) + self.rx(p, 10), 0)
        self.assertEqual(self.sw.port_stats("t")["drops"]["vlan"], s30 + su)
        self.assertEqual(self.sw.port_stats("a1")["drops"]["vlan"], sx)

    def test_anti_spoofing(self):
        n = 500
        bad = self.guest.send(S1, count=n, src="52:54:00:00:03:99", flow=11, rate=20000)["sent"]
        good = self.guest.send(S1, count=n, src=MS1, flow=12, rate=20000)["sent"]
        self.guest.stats_settled(S3, expect_rx=good)
        self.settle()
        self.assertEqual(self.rx(S3, 11), 0)
        self.assertEqual(self.rx(S3, 12), good)
        self.assertEqual(self.sw.port_stats("s1")["drops"]["spoof"], bad)
        self.assertEqual(self.fdb(port="s1"), {(30, MS1): "s1"}, "a spoofed MAC was learned")

    def test_mac_limit(self):
        self.guest.send(S3, count=1, src=MS3, flow=9)
        wait_until(lambda: (30, MS3) in self.fdb(), 10, "MS3 learned")
        srcs = [f"52:54:00:00:04:{i:02x}" for i in range(5)]
        for s in srcs[:2]:
            self.guest.send(S2, count=1, src=s, dst=MS3, flow=9)
        wait_until(lambda: len(self.fdb(port="s2")) == 2, 10, "two MACs learned on s2")
        # The port is at its limit: frames from new sources drop (the PMD does not even post
        # them for learning; learn_limited counts only those already in flight).
        for s in srcs[2:]:
            self.guest.send(S2, count=1, src=s, dst=MS3, flow=9)
        self.settle()
        self.assertGreaterEqual(self.sw.port_stats("s2")["drops"]["mac_limit"], 1)
        self.assertEqual(len(self.fdb(port="s2")), 2)
        self.guest.clear()
        self.sw.rpc("stats.clear")
        n = 200
        over = sum(self.guest.send(S2, count=n, src=s, dst=MS3, flow=13)["sent"] for s in srcs[2:])
        ok = self.guest.send(S2, count=n, src=srcs[0], dst=MS3, flow=14, rate=20000)["sent"]
        self.guest.stats_settled(S3, expect_rx=ok)
        self.settle()
        self.assertEqual(self.rx(S3, 14), ok)
        self.assertEqual(self.rx(S3, 13), 0)
        self.assertEqual(self.sw.port_stats("s2")["drops"]["mac_limit"], over)
        self.assertEqual(len(self.fdb(port="s2")), 2)

    def test_storm_control(self):
        src = "52:54:00:00:04:00"
        self.guest.send(S2, count=1, src=src, dst=MS3, flow=9)
        wait_until(lambda: len(self.fdb(port="s2")) >= 1, 10, "s2's MAC learned")
        self.settle()
        self.guest.clear()
        self.sw.rpc("stats.clear")
        # Broadcast at the guest's full rate for about a second: about STORM_PPS pass.
        t0 = time.monotonic()
        sent = self.guest.send(S2, count=50000, src=src, flow=15)["sent"]
        elapsed = time.monotonic() - t0
        self.settle()
        got = self.rx(S3, 15)
        storm = self.sw.port_stats("s2")["drops"]["storm"]
        self.assertEqual(got + storm, sent)
        self.assertGreater(storm, 0)
        self.assertLessEqual(got, STORM_PPS * (elapsed + 0.1) + 64)
        self.assertGreaterEqual(got, 32)
        # Known unicast from the same port is not limited.
        self.guest.send(S3, count=1, src=MS3, flow=9)
        wait_until(lambda: (30, MS3) in self.fdb(), 10, "MS3 learned")
        self.settle()
        self.guest.clear()
        self.sw.rpc("stats.clear")
        uni = self.guest.send(S2, count=20000, src=src, dst=MS3, flow=16)["sent"]
        self.guest.stats_settled(S3, expect_rx=uni)
        self.settle()
        # All of them, but for what a slow receiver on a busy host could not take (tx_full).
        self.assertEqual(self.rx(S3, 16) + self.sw.port_stats("s3")["drops"]["tx_full"], uni)
        self.assertEqual(self.sw.port_stats("s2")["drops"]["storm"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
