#!/usr/bin/env python3
"""PMD placement and priority: the PMD thread is pinned to its core; with pmd-priority it runs
SCHED_FIFO at that priority (the only test that runs a FIFO poller: RT throttling, on by default,
leaves 5% of the core to the rest of the machine, and the test lasts a few seconds); memory is
locked when mlockall is on."""

import os
import unittest

from itlib import dp, rs

SCHED_FIFO = 1


def pmd_threads(pid):
    """(tid, policy, rt_priority, allowed cpus) of the daemon's EAL worker (PMD) threads."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            comm = f.read().strip()
        if not comm.startswith("rte-worker"):
            continue
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # After "(comm)": state is field 3, rt_priority field 40, policy field 41 (1-based).
        rt_prio, policy = int(fields[40 - 3]), int(fields[41 - 3])
        out.append((int(tid), policy, rt_prio, os.sched_getaffinity(int(tid))))
    return out


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/{pid}/status")


class PmdScheduling(unittest.TestCase):
    def test_normal_priority_pinned(self):
        with dp.ProcessGroup("it-sched") as g:
            sw = rs.Daemon(g)
            threads = pmd_threads(sw.pid)
            self.assertEqual(len(threads), 1, threads)
            _, policy, _, cpus = threads[0]
            self.assertEqual(policy, 0)  # SCHED_OTHER
            self.assertEqual(cpus, {1})
            self.assertEqual(sw.rpc("pmd.show")["pmds"][0]["sched"], "SCHED_OTHER")
            # The control thread stays on the housekeeping core.
            self.assertEqual(os.sched_getaffinity(sw.pid), {0})

    def test_fifo_priority_and_mlockall(self):
        with dp.ProcessGroup("it-sched") as g:
            sw = rs.Daemon(g, args=["--pmd-priority", "1", "--mlockall"])
            _, policy, prio, cpus = pmd_threads(sw.pid)[0]
            self.assertEqual((policy, prio, cpus), (SCHED_FIFO, 1, {1}))
            self.assertEqual(sw.rpc("pmd.show")["pmds"][0]["sched"], "SCHED_FIFO:1")
            self.assertIn("SCHED_FIFO:1", sw.log())
            self.assertGreater(status_kb(sw.pid, "VmLck"), 0)
            self.assertEqual(sw.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
