#!/usr/bin/env python3
"""The MAC table of the running switch: entries age out, a port's entries go when its link goes
down or it is removed, flush by port and all, and a full table counts failed learns while frames
still flood."""

import time
import unittest

from itlib import dp, mac, rs, wait_until

MA, MB = mac(0x4A), mac(0x4B)


def fdb(sw):
    return {e["mac"]: e["port"] for e in sw.rpc("fdb.show")["entries"]}


class Fdb(unittest.TestCase):
    def start(self, *args):
        self.g = dp.ProcessGroup("it-fdb")
        self.addCleanup(self.g.close)
        self.sw = rs.Daemon(self.g, ports=["a type=vhostuser", "b type=vhostuser"], args=args)
        d = self.sw.socket_dir
        self.guest = self.g.start_guest([f"path={d}/a,mac={MA}", f"path={d}/b,mac={MB}"])
        self.guest.wait_link(0, 30)
        self.guest.wait_link(1, 30)
        dp.wait_forwarding(self.guest, 0, self.guest, 1)

    def test_aging_and_flush(self):
        self.start("--mac-aging-sec", "2")
        self.guest.send(0, count=1, src=MA)
        self.guest.send(1, count=1, src=MB)
        wait_until(lambda: fdb(self.sw) == {MA: "a", MB: "b"}, 10, "both MACs learned")
        # Seen again and again: stays. Not seen for over 2 s: goes.
        for _ in range(4):
            self.guest.send(0, count=1, src=MA)
            time.sleep(1)
        self.assertEqual(fdb(self.sw).get(MA), "a")
        wait_until(lambda: fdb(self.sw) == {}, 8, "entries aged out")
        self.guest.send(0, count=1, src=MA)
        self.guest.send(1, count=1, src=MB)
        wait_until(lambda: len(fdb(self.sw)) == 2, 10, "learned again")
        self.assertEqual(self.sw.rpc("fdb.flush", {"port": "a"})["flushed"], 1)
        self.assertEqual(fdb(self.sw), {MB: "b"})
        self.assertEqual(self.sw.rpc("fdb.flush")["flushed"], 1)
        self.assertEqual(fdb(self.sw), {})

    def test_link_down_and_removal_flush_the_port(self):
        self.start()
        self.guest.send(0, count=1, src=MA)
        self.guest.send(1, count=1, src=MB)
        wait_until(lambda: fdb(self.sw) == {MA: "a", MB: "b"}, 10, "both MACs learned")
        self.guest.detach(1)
        self.sw.wait_link("b", up=False)
        wait_until(lambda: fdb(self.sw) == {MA: "a"}, 5, "b's entries flushed on link down")
        self.sw.rpc("port.del", {"name": "a"})
        self.assertEqual(fdb(self.sw), {})

    def test_full_table(self):
        self.start("--mac-table-size", "16")
        sent = 0
        for i in range(40):  # 40 distinct source MACs from port a, each one broadcast frame
            sent += self.guest.send(0, count=1, src=f"52:54:00:00:10:{i:02x}", flow=41)["sent"]
        st = self.guest.stats_settled(1, expect_rx=sent)
        self.assertEqual(st["rx_by_flow"].get("41", 0), sent, "frames still flood")
        show = wait_until(lambda: (lambda r: r if r["learn_failed"] > 0 else None)(
            self.sw.rpc("fdb.show")), 5, "failed learns counted")
        self.assertEqual(show["count"], 16)
        self.assertEqual(show["capacity"], 16)
        self.assertGreaterEqual(show["learn_failed"], 40 - 16)
        self.assertEqual(show["learn_collisions"], 0)  # full, not colliding
        self.assertGreater(self.sw.port_stats("a")["drops"]["learn_full"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
