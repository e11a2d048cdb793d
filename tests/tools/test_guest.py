"""rtvs-guest against the reference switch (dpdk-testpmd io forwarding between net_vhost ports).

Counts frames exactly: a 1:1 forwarder must deliver every frame the guest's port accepted, once,
in order. Run by CTest (label vhost) with RTVS_BUILD_DIR set; by hand:
    RTVS_BUILD_DIR=build-x PYTHONPATH=tests/lib python3 tests/tools/test_guest.py -v
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import dpdk_procs as dp  # noqa: E402

# testpmd forwards on lcore 1 (its main thread mostly sleeps on 0); the guests live on lcore 0.
TESTPMD_LCORES = "0,1"


class GuestOneProcess(unittest.TestCase):
    """Two ports in one rtvs-guest process; testpmd is the vhost-user server."""

    @classmethod
    def setUpClass(cls):
        cls.group = dp.ProcessGroup("guest-t1")
        try:
            a, b = cls.group.socket("a"), cls.group.socket("b")
            cls.group.start_testpmd([a, b], lcores=TESTPMD_LCORES)
            # Exact counts on a noisy host: the receiving port's ring (1024) holds everything the
            # sender can have in flight (256 + a burst), so a stall of this process loses nothing.
            cls.g = cls.group.start_guest(
                [f"path={a},queue_size=256", f"path={b},mtu=9000,queue_size=1024"], lcore=0)
            assert cls.g.wait_link(0, 10) and cls.g.wait_link(1, 10), "links did not come up"
            dp.wait_forwarding(cls.g, 0, cls.g, 1)
            dp.wait_forwarding(cls.g, 1, cls.g, 0)
        except BaseException:
            cls.group.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.group.close()

    def setUp(self):
        self.g.clear()

    def assertClean(self, st):
        self.assertEqual((st["rx_bad"], st["rx_dup"], st["rx_reorder"]), (0, 0, 0), st)

    def test_10000_frames_a_to_b_exactly(self):
        r = self.g.send(0, count=10000, flow=1)
        self.assertEqual(r["sent"] + r["failed"], 10000)
        self.assertGreater(r["sent"], 0)
        st = self.g.stats_settled(1, expect_rx=r["sent"])
        self.assertEqual(st["rx"], r["sent"])
        self.assertEqual(st["rx_by_flow"], {"1": r["sent"]})
        self.assertEqual(st["rx_by_src"], {self.g.ports[0]["mac"]: r["sent"]})
        self.assertEqual(st["rx_bytes"], 64 * r["sent"])
        self.assertClean(st)
        self.assertEqual(self.g.port_stats(0)["tx"], r["sent"])
        self.assertEqual(self.g.port_stats(0)["rx"], 0)

    def test_paced_flows_and_vlan(self):
        r1 = self.g.send(0, count=2000, rate=200000, flow=7, size=128)
        r2 = self.g.send(0, count=500, flow=8, vlan=100, size=1518, dst="52:54:00:00:00:02")
        sent = r1["sent"] + r2["sent"]
        st = self.g.stats_settled(1, expect_rx=sent)
        self.assertEqual(st["rx_by_flow"], {"7": r1["sent"], "8": r2["sent"]})
        self.assertEqual(st["rx_max_len"], 1518)
        self.assertClean(st)

    def test_jumbo_both_ways(self):
        # Port 1 has mtu 9000: its rx gets 9018-byte frames as mbuf chains and checks every byte.
        r = self.g.send(0, count=200, size=9018, vlan=5, flow=3)
        st = self.g.stats_settled(1, expect_rx=r["sent"])
        self.assertEqual(st["rx"], r["sent"])
        self.assertEqual(st["rx_max_len"], 9018)
        self.assertClean(st)
        r = self.g.send(1, count=50, size=9014, flow=4)
        st = self.g.stats_settled(0, expect_rx=r["sent"])
        self.assertEqual(st["rx_by_flow"], {"4": r["sent"]})
        self.assertClean(st)

    def test_sendraw_runt_and_random(self):
        # The port takes a 10-byte runt; DPDK's vhost library (the reference) drops frames shorter
        # than an Ethernet header, so it is not forwarded. 14 bytes are.
        self.assertEqual(self.g.sendraw(0, 3, hex="ffffffffffff00112233")["sent"], 3)
        r = self.g.sendraw(0, 3, hex="ffffffffffff0011223344556677")
        st = self.g.stats_settled(1, expect_rx=r["sent"])
        self.assertEqual((st["rx"], st["rx_max_len"], st["rx_by_flow"]), (3, 14, {}))
        self.g.clear()
        r = self.g.sendraw(0, 20, random=300)
        st = self.g.stats_settled(1, expect_rx=r["sent"])
        self.assertEqual((st["rx"], st["rx_bytes"]), (20, 6000))

    def test_bad_commands_change_nothing(self):
        for line in ["bogus", "send", "send 2 count=1", "send 0", "send 0 count=x",
                     "send 0 count=1 foo=1", "send 0 count=1 size=20", "send 0 count=1 size=9019",
                     "send 0 count=1 dst=zz:00:00:00:00:00", "send 0 count=1 vlan=4096",
                     "send 0 count=1 count=2", "sendraw 0 count=1", "sendraw 0 count=1 hex=abc",
                     "sendraw 0 count=1 hex=zz", "sendraw 0 count=1 hex=00 random=5",
                     "link", "wait-link 0", "wait-link 0 -1", "detach 5", "attach 0",
                     "stats now", "quit please"]:
            reply = self.g.try_cmd(line)
            self.assertEqual(list(reply), ["error"], line)
            self.assertNotIn("\n", reply["error"])
        for st in self.g.stats():
            self.assertEqual((st["rx"], st["tx"]), (0, 0))

    def test_detach_attach(self):
        mac = self.g.ports[0]["mac"]
        self.g.detach(0)
        self.assertEqual(self.g.link(0), "down")
        self.assertEqual(self.g.try_cmd("send 0 count=1")["error"], "send: port is detached")
        self.g.attach(0)
        self.assertTrue(self.g.wait_link(0, 10))
        dp.wait_forwarding(self.g, 0, self.g, 1)
        r = self.g.send(0, count=1000, flow=2)
        st = self.g.stats_settled(1, expect_rx=r["sent"])
        self.assertEqual(st["rx_by_src"], {mac: r["sent"]})  # same MAC after re-attach
        self.assertClean(st)


class GuestTwoProcessesServerMode(unittest.TestCase):
    """One guest per process, each the vhost-user server; testpmd connects as the client."""

    def test_exact_count_and_exit_on_eof(self):
        with dp.ProcessGroup("guest-t2") as group:
            a, b = group.socket("a"), group.socket("b")
            ga = group.start_guest([f"path={a},server=1,mac=52:54:00:00:00:0a"], lcore=0)
            gb = group.start_guest([f"path={b},server=1,mac=52:54:00:00:00:0b"], lcore=0)
            self.assertEqual(ga.link(0), "down")  # ready before anyone connects
            group.start_testpmd([a, b], lcores=TESTPMD_LCORES, client=True)
            self.assertTrue(ga.wait_link(0, 15) and gb.wait_link(0, 15))
            dp.wait_forwarding(ga, 0, gb, 0)
            # Two guest processes share CPU 0: at a modest rate the receiver's ring rides out
            # the time slices the sender takes.
            r = ga.send(0, count=10000, dst="52:54:00:00:00:0b", rate=20000, flow=9)
            self.assertEqual(r["sent"] + r["failed"], 10000)
            st = gb.stats_settled(0, expect_rx=r["sent"])
            self.assertEqual(st["rx_by_src"], {"52:54:00:00:00:0a": r["sent"]})
            self.assertEqual(st["rx_by_flow"], {"9": r["sent"]})
            self.assertEqual((st["rx_bad"], st["rx_dup"], st["rx_reorder"]), (0, 0, 0))
            # EOF on stdin: the guest closes its port and exits 0 by itself.
            self.assertEqual(gb.stop(grace=10), 0)
            self.assertEqual(ga.quit(), {"bye": True})
            self.assertEqual(ga.proc.returncode, 0)

    def test_switch_restart_reconnects(self):
        with dp.ProcessGroup("guest-t4") as group:
            a, b = group.socket("a"), group.socket("b")
            g = group.start_guest([f"path={a},server=1,queue_size=256", f"path={b},server=1"],
                                  lcore=0)
            self.assertEqual([p["state"] for p in g.stats()], ["pending", "pending"])
            self.assertIn("not attached yet", g.try_cmd("send 0 count=1")["error"])
            ref = group.start_testpmd([a, b], lcores=TESTPMD_LCORES, client=True)
            self.assertTrue(g.wait_link(0, 15) and g.wait_link(1, 15))
            dp.wait_forwarding(g, 0, g, 1)
            ref.stop()
            group.prefixes.remove(ref.prefix)
            dp.cleanup_prefix(ref.prefix)
            ref = group.start_testpmd([a, b], lcores=TESTPMD_LCORES, client=True)
            dp.wait_forwarding(g, 0, g, 1, timeout=20)
            r = g.send(0, count=5000, flow=5)
            st = g.stats_settled(1, expect_rx=r["sent"])
            self.assertEqual(st["rx_by_flow"], {"5": r["sent"]})

    def test_server_detach_attach(self):
        with dp.ProcessGroup("guest-t6") as group:
            a, b = group.socket("a"), group.socket("b")
            g = group.start_guest([f"path={a},server=1,queue_size=256", f"path={b},server=1"])
            g.detach(0)  # cancels the pending attach and removes the socket it listened on
            self.assertFalse(os.path.exists(a))
            g.attach(0)
            self.assertEqual(g.port_stats(0)["state"], "pending")
            group.start_testpmd([a, b], lcores=TESTPMD_LCORES, client=True)
            self.assertTrue(g.wait_link(0, 15) and g.wait_link(1, 15))
            dp.wait_forwarding(g, 0, g, 1)
            g.detach(0)  # the switch sees the guest go away
            self.assertEqual(g.port_stats(0)["state"], "detached")
            g.attach(0)  # and come back: testpmd's vhost client reconnects
            self.assertTrue(g.wait_link(0, 15))
            dp.wait_forwarding(g, 0, g, 1)
            r = g.send(0, count=2000, flow=6)
            st = g.stats_settled(1, expect_rx=r["sent"])
            self.assertEqual(st["rx_by_flow"], {"6": r["sent"]})

    def test_two_queue_pairs(self):
        with dp.ProcessGroup("guest-t5") as group:
            a, b = group.socket("a"), group.socket("b")
            group.start_testpmd([a, b], lcores=TESTPMD_LCORES, queues=2)
            g = group.start_guest([f"path={a},queues=2,queue_size=256", f"path={b},queues=2"])
            self.assertTrue(g.wait_link(0, 10) and g.wait_link(1, 10))
            dp.wait_forwarding(g, 0, g, 1)
            r0 = g.send(0, count=2000, flow=0)  # tx queue = flow % queues
            r1 = g.send(0, count=2000, flow=1)
            st = g.stats_settled(1, expect_rx=r0["sent"] + r1["sent"])
            self.assertEqual(st["rx_by_flow"], {"0": r0["sent"], "1": r1["sent"]})
            self.assertGreater(r1["sent"], 0)
            self.assertEqual((st["rx_dup"], st["rx_reorder"]), (0, 0))

    def test_client_without_server_fails_cleanly(self):
        with dp.ProcessGroup("guest-t3") as group:
            with self.assertRaisesRegex(dp.GuestError, "not ready: .*net_virtio_user0"):
                group.start_guest([f"path={group.socket('nobody')}"], lcore=0)


if __name__ == "__main__":
    unittest.main()
