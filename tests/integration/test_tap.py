#!/usr/bin/env python3
"""The NIC path: a `dpdk` port on net_tap whose kernel interface lives in a network namespace.
Traffic from the namespace reaches a guest through the switch, and the guest's frames reach the
namespace."""

import os
import unittest

from itlib import Namespace, assert_no_mbuf_leak, dp, mac, rs, wait_until

MG = mac(0x2A)


class TapPort(unittest.TestCase):
    def setUp(self):
        n = os.getpid() % 100000
        self.ifname = f"rtvst{n}"
        self.g = dp.ProcessGroup("it-tap")
        self.addCleanup(self.g.close)
        self.sw = rs.Daemon(self.g, ports=["vm type=vhostuser"])
        self.base = self.sw.mempool_in_use()
        self.guest = self.g.start_guest([f"path={self.sw.socket_dir}/vm,mac={MG}"])
        self.sw.rpc("port.add", {"name": "nic", "options": {
            "type": "dpdk", "devargs": f"net_tap_it{n},iface={self.ifname}"}})
        self.ns = Namespace("rtvs-it")
        self.addCleanup(self.ns.close)
        self.ns.take(self.ifname)
        self.ns.run("ip", "addr", "add", "10.199.0.1/24", "dev", self.ifname)
        self.guest.wait_link(0, 30)
        self.sw.wait_link("vm")
        # The tap's link state is not readable by DPDK once the interface is in another
        # namespace; frames to NIC ports go to the driver whatever it reports.

    def nsrun(self, *args, check=True):
        return self.ns.run(*args, check=check)

    def ns_counter(self, name):
        return int(self.nsrun("cat", f"/sys/class/net/{self.ifname}/statistics/{name}").stdout)

    def test_namespace_to_guest_and_back(self):
        tap_mac = self.nsrun("cat", f"/sys/class/net/{self.ifname}/address").stdout.strip()
        # The namespace's ARP requests for 10.199.0.2 are broadcasts: they reach the guest (the kernel
        # sends about one a second).
        self.nsrun("ping", "-c", "3", "-i", "0.2", "-W", "1", "10.199.0.2", check=False)
        st = self.guest.stats_settled(0)
        self.assertGreaterEqual(st["rx_by_src"].get(tap_mac, 0), 1, st)
        wait_until(lambda: any(e["mac"] == tap_mac and e["port"] == "nic"
                               for e in self.sw.rpc("fdb.show")["entries"]), 10,
                   "the namespace's MAC learned on the nic port")
        # The guest answers with unicast frames to the learned MAC: only the nic port gets them.
        before = self.ns_counter("rx_packets")
        sent = self.guest.send(0, count=200, dst=tap_mac, rate=2000, flow=21)["sent"]
        self.sw.wait_settled()
        nic = self.sw.port_stats("nic")
        self.assertEqual(nic["tx_packets"] + nic["drops"]["tx_full"], sent)
        wait_until(lambda: self.ns_counter("rx_packets") - before >= nic["tx_packets"], 5,
                   "frames counted by the namespace's interface")
        self.assertGreater(nic["tx_packets"], 0)
        self.sw.rpc("port.del", {"name": "nic"})
        assert_no_mbuf_leak(self, self.sw, self.base)


if __name__ == "__main__":
    unittest.main(verbosity=2)
