#!/usr/bin/env python3
"""vhostuserclient ports (the guests are vhost-user servers, as QEMU is in production) added and
removed at run time under traffic, a guest that goes away and comes back, and the daemon stopped
and started again while the guests keep running. Other ports lose nothing meanwhile."""

import concurrent.futures
import threading
import time
import unittest

from itlib import assert_no_mbuf_leak, dp, learn, mac, rs, wait_until

MA, MB, MC = mac(0x1A), mac(0x1B), mac(0x1C)
RATE = 20000          # pps: a few ms of host stall stays within the rings
DURATION_S = 2.5


class RuntimePorts(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("it-runtime")
        self.addCleanup(self.g.close)
        self.sa, self.sb, self.sc = (self.g.socket(n) for n in ("a", "b", "c"))
        # The guests are the vhost-user servers: a net_virtio_user server finishes starting only
        # once the switch has connected, so they start in the background, then the switch (a
        # vhost-user client retries until the guest's socket is there).
        pool = concurrent.futures.ThreadPoolExecutor(2)
        self.addCleanup(pool.shutdown)
        fab = pool.submit(self.g.start_guest, [f"path={self.sa},server=1,mac={MA}",
                                               f"path={self.sb},server=1,mac={MB}"],
                          ready_timeout=60)
        fc = pool.submit(self.g.start_guest, [f"path={self.sc},server=1,mac={MC}"],
                         ready_timeout=120)
        self.sw = rs.Daemon(self.g, ports=[f"a type=vhostuserclient path={self.sa}",
                                           f"b type=vhostuserclient path={self.sb}"])
        self.ab = fab.result()
        self.fc = fc
        self.base = self.sw.mempool_in_use()
        for p in (0, 1):
            self.ab.wait_link(p, 30)
        self.sw.wait_link("a")
        self.sw.wait_link("b")
        dp.wait_forwarding(self.ab, 0, self.ab, 1)
        learn(self.sw, self.ab, [(0, MA), (1, MB)])

    def traffic_during(self, action, flow):
        """Sends a→b at RATE for DURATION_S while `action` runs; returns frames sent."""
        result = {}
        t = threading.Thread(target=lambda: result.update(
            self.ab.send(0, count=int(RATE * DURATION_S), dst=MB, rate=RATE, flow=flow,
                         timeout=120)))
        t.start()
        time.sleep(0.3)
        action()
        t.join()
        sent = result["sent"]
        self.ab.stats_settled(1, expect_rx=sent, timeout=5)
        return sent

    def assert_b_lost_nothing(self, sent, flow):
        st = self.ab.port_stats(1)
        self.assertEqual(st["rx_by_flow"].get(str(flow), 0), sent,
                         f"port b lost frames; switch drops: {self.sw.port_stats('b')['drops']}")
        self.assertEqual(st["rx_dup"], 0)

    def add_c(self):
        self.sw.rpc("port.add", {"name": "c", "options": {"type": "vhostuserclient",
                                                          "path": self.sc}})

    def wait_guests_down(self):
        # net_virtio_user (the test guest) must have handled the disconnect on every port before
        # the switch comes back, or it may miss the new connection; QEMU has no such race.
        wait_until(lambda: all(g.link(p) == "down" for g, p in ((self.ab, 0), (self.ab, 1),
                                                                (self.gc, 0))),
                   10, "guests see the switch gone")
        time.sleep(0.5)

    @property
    def gc(self):
        return self.fc.result()

    def test_port_added_under_traffic(self):
        sent = self.traffic_during(self.add_c, flow=11)
        self.assert_b_lost_nothing(sent, 11)
        self.sw.wait_link("c")
        self.gc.wait_link(0, 30)
        dp.wait_forwarding(self.ab, 0, self.gc, 0)
        learn(self.sw, self.gc, [(0, MC)])
        n = self.ab.send(0, count=1000, dst=MC, flow=12)["sent"]
        st = self.gc.stats_settled(0, expect_rx=n)
        self.assertEqual(st["rx_by_flow"].get("12", 0) + self.sw.port_stats("c")["drops"]["tx_full"], n)
        assert_no_mbuf_leak(self, self.sw, self.base)

    def test_port_removed_under_traffic(self):
        self.add_c()
        self.sw.wait_link("c")
        dp.wait_forwarding(self.ab, 0, self.gc, 0)
        sent = self.traffic_during(lambda: self.sw.rpc("port.del", {"name": "c"}), flow=13)
        self.assert_b_lost_nothing(sent, 13)
        self.assertNotIn("c", [p["name"] for p in self.sw.rpc("port.list")["ports"]])
        wait_until(lambda: self.gc.link(0) == "down", 10, "guest c sees the switch gone")
        assert_no_mbuf_leak(self, self.sw, self.base)

    def test_guest_goes_away_and_comes_back(self):
        self.add_c()
        self.sw.wait_link("c")
        dp.wait_forwarding(self.ab, 0, self.gc, 0)
        self.gc.detach(0)
        self.sw.wait_link("c", up=False)
        # Frames for c while it is away are dropped and counted, never leaked.
        self.gc.attach(0)
        self.sw.wait_link("c", timeout=30)
        self.assertEqual(self.sw.rpc("port.show", {"name": "c"})["reconnects"], 1)
        dp.wait_forwarding(self.ab, 0, self.gc, 0)
        learn(self.sw, self.gc, [(0, MC)])
        n = self.ab.send(0, count=1000, dst=MC, flow=14)["sent"]
        st = self.gc.stats_settled(0, expect_rx=n)
        self.assertEqual(st["rx_by_flow"].get("14", 0) + self.sw.port_stats("c")["drops"]["tx_full"], n)
        assert_no_mbuf_leak(self, self.sw, self.base)

    def test_daemon_restart_reconnects_to_running_guests(self):
        self.add_c()  # the third guest must not be left waiting for a connection
        self.gc.wait_link(0, 30)
        rc = self.sw.stop()
        self.assertEqual(rc, 0, self.sw.log()[-2000:])
        self.wait_guests_down()
        self.sw.restart()
        self.sw.wait_link("a", timeout=30)
        self.sw.wait_link("b", timeout=30)
        dp.wait_forwarding(self.ab, 0, self.ab, 1)
        learn(self.sw, self.ab, [(0, MA), (1, MB)])
        n = self.ab.send(0, count=5000, dst=MB, flow=15)["sent"]
        st = self.ab.stats_settled(1, expect_rx=n)
        self.assertEqual(st["rx_by_flow"].get("15", 0) + self.sw.port_stats("b")["drops"]["tx_full"], n)

    def test_daemon_killed_and_restarted(self):
        self.add_c()
        self.gc.wait_link(0, 30)
        self.sw.kill()
        self.wait_guests_down()
        self.sw.restart()
        self.sw.wait_link("a", timeout=30)
        self.sw.wait_link("b", timeout=30)
        dp.wait_forwarding(self.ab, 0, self.ab, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
