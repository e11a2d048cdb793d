#!/usr/bin/env python3
"""rxq-affinity on the real daemon: a pinned queue goes to its PMD, which is then isolated (polls
only pinned queues, as OVS's pmd-rxq-isolate); pmd show says so; pins that name a CPU without a
PMD, or leave unpinned queues nowhere to go, are refused with nothing changed; port set moves a
pin at run time and clearing it gives the PMD back to everyone; a pin survives a restart (state
file). This 2-CPU machine runs one PMD beside the housekeeping CPU, so spreading over several
PMDs is covered by the plan's unit tests (RxqPlan.*)."""

import os
import unittest

from itlib import cpu_node, dp, rs

PMD_CPU = 1


class RxqAffinity(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("it-rxqaff")
        self.state = os.path.join(self.g.tmpdir, "state.json")
        self.sw = rs.Daemon(self.g, pmd_cores=str(PMD_CPU), state_file=self.state)

    def tearDown(self):
        self.g.close()

    def pmd(self):
        pmds = self.sw.rpc("pmd.show")["pmds"]
        self.assertEqual(len(pmds), 1)
        return pmds[0]

    def queues(self):
        return sorted((q["port"], q["queue"], q["pinned"]) for q in self.pmd()["rxqs"])

    def fails(self, method, params, needle):
        before = (self.sw.rpc("port.list"), self.queues())
        with self.assertRaises(rs.RpcError) as cm:
            self.sw.rpc(method, params)
        self.assertIn(needle, cm.exception.message)
        self.assertEqual((self.sw.rpc("port.list"), self.queues()), before)
        return cm.exception.message

    def test_pins_isolate_and_move(self):
        add = lambda name, **o: self.sw.rpc(  # noqa: E731
            "port.add", {"name": name, "options": dict({"type": "vhostuser"}, **o)})
        add("rt", queues="2", **{"rxq-affinity": f"0:{PMD_CPU},1:{PMD_CPU}"})
        self.assertEqual(self.queues(), [("rt", 0, True), ("rt", 1, True)])
        self.assertTrue(self.pmd()["isolated"])
        # NUMA: the PMD's node is its core's; a vhost port's is not known before a guest connects
        # (its queues then go to any PMD; pins are obeyed whatever the nodes).
        self.assertEqual(self.pmd()["numa"], cpu_node(PMD_CPU))
        self.assertEqual([q["numa"] for q in self.pmd()["rxqs"]], [None, None])
        self.assertIsNone(self.sw.rpc("port.show", {"name": "rt"})["numa"])
        self.assertEqual(self.sw.rpc("port.show", {"name": "rt"})["options"]["rxq-affinity"],
                         f"0:{PMD_CPU},1:{PMD_CPU}")
        # The only PMD is isolated: an unpinned port has nowhere to go.
        msg = self.fails("port.add", {"name": "be", "options": {"type": "vhostuser"}},
                         "every PMD is isolated")
        self.assertEqual(msg.split(":")[0], 'port "be"')
        # A CPU that runs no PMD, a queue the port does not have.
        self.fails("port.add", {"name": "x", "options": {"type": "vhostuser",
                                                         "rxq-affinity": "0:0"}},
                   f"rxq-affinity: cpu 0 runs no PMD (pmd-cores: {PMD_CPU})")
        self.fails("port.set", {"name": "rt", "options": {"rxq-affinity": "2:1"}},
                   "queue 2 does not exist (the port has 2 queues)")
        self.fails("port.set", {"name": "rt", "options": {"rxq-affinity": "0:0"}},
                   "cpu 0 runs no PMD")
        # Pinning only queue 0 leaves queue 1 unpinned on an isolated PMD: refused.
        self.fails("port.set", {"name": "rt", "options": {"rxq-affinity": f"0:{PMD_CPU}"}},
                   "every PMD is isolated")
        # The pins survive a restart (saved with the port's options).
        self.sw.stop()
        self.sw = rs.Daemon(self.g, pmd_cores=str(PMD_CPU), state_file=self.state)
        self.assertEqual(self.queues(), [("rt", 0, True), ("rt", 1, True)])
        # Cleared at run time: the PMD is shared again and takes a new port.
        self.sw.rpc("port.set", {"name": "rt", "options": {"rxq-affinity": ""}})
        self.assertFalse(self.pmd()["isolated"])
        add("be")
        self.assertEqual(self.queues(), [("be", 0, False), ("rt", 0, False), ("rt", 1, False)])
        self.assertNotIn("rxq-affinity", self.sw.rpc("port.show", {"name": "rt"})["options"])
        # vswitchctl: the same option by key=value, pmd show's table marks the pinned queue.
        self.sw.rpc("port.del", {"name": "be"})
        self.sw.ctl("port", "set", "rt", f"rxq-affinity=1:{PMD_CPU},0:{PMD_CPU}")
        self.assertEqual(self.queues(), [("rt", 0, True), ("rt", 1, True)])
        out = self.sw.ctl("pmd", "show").stdout
        self.assertIn("isolated", out)
        self.assertIn("NUMA", out.splitlines()[0])
        self.assertNotIn("cross-numa", out)


if __name__ == "__main__":
    unittest.main()
