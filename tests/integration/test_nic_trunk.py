#!/usr/bin/env python3
"""A NIC (`dpdk`) port as a VLAN trunk: net_tap whose kernel interface lives in a network
namespace, `trunks=10,20`, and a guest with one access port on VLAN 10 and one on VLAN 20. The
host kernel has no 8021q, so the namespace side sends and captures raw 802.1Q frames
(rawframes.py, AF_PACKET). Tagged frames from the NIC reach only their VLAN's access port,
untagged; VLANs the trunk does not carry and untagged frames are dropped and counted (`vlan`);
the MAC table learns the NIC's MAC once per VLAN; the guests' frames leave the NIC with their
VLAN's tag, unicast and flooded, and never cross to the other VLAN."""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

from itlib import Namespace, assert_no_mbuf_leak, dp, rs, wait_until

MA, MB = "52:54:00:00:0a:0a", "52:54:00:00:0b:0b"
MN = "52:54:00:00:0e:0e"  # the namespace's frames
BCAST = "ff:ff:ff:ff:ff:ff"
RAW = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rawframes.py")


class NicTrunk(unittest.TestCase):
    def setUp(self):
        self.ifname = f"rtvsk{os.getpid() % 100000}"
        self.g = dp.ProcessGroup("it-trunk")
        self.addCleanup(self.g.close)
        self.sw = rs.Daemon(self.g, ports=["a10 type=vhostuser tag=10",
                                           "a20 type=vhostuser tag=20"])
        self.base = self.sw.mempool_in_use()
        d = self.sw.socket_dir
        self.guest = self.g.start_guest([f"path={d}/a10,mac={MA}", f"path={d}/a20,mac={MB}"])
        self.ns = Namespace("rtvs-trunk")
        self.addCleanup(self.ns.close)
        # No IPv6 autoconfiguration in the namespace: its untagged solicitations would add to
        # the trunk's `vlan` drops.
        self.nsrun("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        self.nsrun("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        self.sw.ctl("port", "add", "nic", "type=dpdk",
                    f"devargs=net_tap_{self.ifname},iface={self.ifname}", "trunks=10,20")
        self.ns.take(self.ifname)
        for p in (0, 1):
            self.guest.wait_link(p, 30)
        self.sw.wait_link("a10")
        self.sw.wait_link("a20")
        time.sleep(0.3)  # whatever the interface sent while it moved
        self.sw.rpc("fdb.flush")
        self.sw.rpc("stats.clear")
        self.guest.clear()

    def nsrun(self, *args, check=True):
        return self.ns.run(*args, check=check)

    def ns_send(self, src, dst, count, vlan=None):
        args = [sys.executable, RAW, "send", self.ifname, "--src", src, "--dst", dst,
                "--count", str(count)]
        if vlan is not None:
            args += ["--vlan", str(vlan)]
        self.assertEqual(json.loads(self.nsrun(*args).stdout), {"sent": count})

    def fdb(self):
        return {(e["vlan"], e["mac"]): e["port"] for e in self.sw.rpc("fdb.show")["entries"]}

    def test_tags_both_ways(self):
        # Namespace -> guests: broadcasts on VLAN 10 and 20, then VLAN 30 and untagged.
        self.ns_send(MN, BCAST, 50, vlan=10)
        self.ns_send(MN, BCAST, 40, vlan=20)
        self.ns_send(MN, BCAST, 30, vlan=30)
        self.ns_send(MN, BCAST, 20)
        a10 = self.guest.stats_settled(0, expect_rx=50)
        a20 = self.guest.stats_settled(1, expect_rx=40)
        self.assertEqual(a10["rx_by_src"].get(MN), 50, a10)
        self.assertEqual(a20["rx_by_src"].get(MN), 40, a20)
        self.assertEqual(a10["rx_by_vlan"], {"untagged": 50})  # the tag is popped
        self.assertEqual(a20["rx_by_vlan"], {"untagged": 40})
        self.sw.wait_settled()
        nic = self.sw.port_stats("nic")
        self.assertEqual(nic["rx_packets"], 140, nic)
        self.assertEqual(nic["drops"]["vlan"], 50, nic["drops"])  # VLAN 30 and untagged
        wait_until(lambda: {(10, MN), (20, MN)} <= set(self.fdb()), 10,
                   "the namespace's MAC learned on VLAN 10 and 20")
        fdb = self.fdb()
        self.assertEqual(fdb[(10, MN)], "nic")
        self.assertEqual(fdb[(20, MN)], "nic")
        self.assertNotIn((30, MN), fdb)
        self.assertNotIn((0, MN), fdb)

        # Guests -> namespace: known unicast on VLAN 10, a broadcast flood on VLAN 20.
        with tempfile.TemporaryDirectory(prefix="rtvs-trunk-") as tmp:
            ready = os.path.join(tmp, "ready")
            cap = subprocess.Popen(["ip", "netns", "exec", self.ns.name, sys.executable, RAW,
                                    "capture", self.ifname, "--seconds", "4", "--ready", ready],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                wait_until(lambda: os.path.exists(ready), 10, "the capture to listen")
                s1 = self.guest.send(0, count=60, src=MA, dst=MN, flow=11)["sent"]
                s2 = self.guest.send(1, count=70, src=MB, dst=BCAST, flow=12)["sent"]
                out, err = cap.communicate(timeout=30)
            finally:
                if cap.poll() is None:
                    cap.kill()
                    cap.wait()
        self.assertEqual(cap.returncode, 0, err)
        got = json.loads(out)
        self.sw.wait_settled()
        nic = self.sw.port_stats("nic")
        self.assertEqual(nic["tx_packets"] + nic["drops"]["tx_full"], s1 + s2, nic)
        self.assertEqual(nic["drops"]["tx_full"], 0, nic)
        self.assertEqual(got, {f"10 {MA} {MN}": s1, f"20 {MB} {BCAST}": s2})
        # The VLAN 20 broadcast did not reach VLAN 10's port.
        self.assertEqual(self.guest.port_stats(0)["rx_by_src"].get(MB, 0), 0)

        self.sw.rpc("port.del", {"name": "nic"})
        assert_no_mbuf_leak(self, self.sw, self.base)


if __name__ == "__main__":
    unittest.main(verbosity=2)
