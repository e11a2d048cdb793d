#!/usr/bin/env python3
"""Hugepage memory exhausted, at start and at port add: a clear error, never a crash.

The machine's hugepages are shared, so memory is never really drained here: at start the
daemon asks for more than the machine has in total (EAL refuses before allocating anything);
otherwise the daemon's EAL gets a 64 MiB ceiling (--socket-limit) and a packet pool that fills
it, which is what a host without free hugepages looks like to the process. Vhost-user ports take
no hugepage memory until a guest connects (the vhost library's virtqueues), so the ports that
exhaust it at add time are `dpdk` ones (net_null ethdevs with 16 queues)."""

import os
import signal
import unittest

from faultlib import dp, hugepages, rs

LIMIT_MB = 64
# Mbuf counts tried from the top: the largest pool that still lets the daemon start leaves
# too little for many ports (about 27,300 mbufs fit in 64 MiB with the rest of the daemon).
POOL_SIZES = range(27800, 20000, -150)
MAX_PORTS = 30  # below the 32 ethdevs of Debian's DPDK (RTE_MAX_ETHPORTS)


def daemon_argv(g, prefix, *extra):
    return [rs.daemon_binary(), "--pmd-cores", "1", "--housekeeping-cores", "0",
            "--control-socket", os.path.join(g.tmpdir, "ctl"), "--socket-dir", g.tmpdir,
            "--file-prefix", prefix, "--no-mlockall", "--no-state", *extra]


class HugepagesExhausted(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("faults-huge")
        self.addCleanup(self.g.close)

    def assertCleanFailure(self, r, *words):
        """Exit code 1 (not a signal: no abort, no segfault, no core) and a one-line reason."""
        if r.returncode < 0:
            self.fail(f"killed by {signal.Signals(-r.returncode).name}: {r.stderr}")
        self.assertEqual(r.returncode, 1, r.stderr)
        critical = [line for line in r.stderr.splitlines() if " critical " in line]
        self.assertEqual(len(critical), 1, r.stderr)
        for w in words:
            self.assertIn(w, critical[0])
        self.assertFalse(os.path.exists(os.path.join(self.g.tmpdir, "ctl")),
                         "control socket left behind")
        return critical[0]

    def test_memory_over_all_hugepages_at_start(self):
        total_mb = hugepages("nr_hugepages") * 2
        prefix = self.g.prefix("sw")
        r = self.g.run(daemon_argv(self.g, prefix, "--memory-mb", str(total_mb + 1024)),
                       prefix, timeout=120)
        line = self.assertCleanFailure(r, "EAL", "hugepages")
        self.assertIn("Not enough memory available", r.stderr)
        print(f"start with --memory-mb {total_mb + 1024}: exit {r.returncode}: {line}")

    def test_pool_over_the_memory_at_start(self):
        prefix = self.g.prefix("sw")
        r = self.g.run(daemon_argv(self.g, prefix, "--memory-mb", str(LIMIT_MB), "--mbufs",
                                   "200000", f"--eal-arg=--socket-limit={LIMIT_MB}"),
                       prefix, timeout=120)
        line = self.assertCleanFailure(r, "mbuf pool", "200000", "Cannot allocate memory")
        print(f"start with --mbufs 200000 in {LIMIT_MB} MiB: exit {r.returncode}: {line}")

    def start_full(self):
        """A daemon whose pool leaves almost none of its LIMIT_MB for anything else."""
        for mbufs in POOL_SIZES:
            try:
                return mbufs, rs.Daemon(self.g, memory_mb=LIMIT_MB, mbufs=mbufs,
                                        args=[f"--eal-arg=--socket-limit={LIMIT_MB}"])
            except RuntimeError as e:
                self.assertIn("exited with 1", str(e))  # out of memory, not a crash
        self.fail(f"rtvswitch did not start with any pool size in {LIMIT_MB} MiB")

    def test_port_add_when_memory_is_exhausted(self):
        mbufs, sw = self.start_full()
        added, failure = [], None
        for i in range(MAX_PORTS):
            name = f"p{i}"
            r = sw.ctl("port", "add", name, "type=dpdk", f"devargs=net_null{i},no-rx=1",
                       "queues=16", check=False)
            if r.returncode != 0:
                failure = (name, r)
                break
            added.append(name)
        self.assertIsNotNone(failure, f"{MAX_PORTS} ports added with {mbufs} mbufs in "
                                      f"{LIMIT_MB} MiB: memory never ran out")
        name, r = failure
        print(f"{mbufs} mbufs in {LIMIT_MB} MiB: {len(added)} ports added, then: "
              f"{r.stderr.strip()}")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, rf'port "{name}"|net_null{len(added)}')
        self.assertTrue(sw.proc.alive(), "the daemon died")
        self.assertEqual([p["name"] for p in sw.rpc("port.list")["ports"]], added)
        self.assertFalse(os.path.exists(os.path.join(self.g.tmpdir, name)),
                         "the failed port's socket was left behind")
        # What the failed add took is given back: after one delete the add fits again.
        if added:
            sw.ctl("port", "del", added[-1])
            sw.ctl("port", "add", name, "type=dpdk", f"devargs=net_null{len(added)},no-rx=1",
                   "queues=16")
            self.assertIn(name, [p["name"] for p in sw.rpc("port.list")["ports"]])
        self.assertEqual(sw.stop(), 0, "the daemon did not exit cleanly after SIGTERM")


if __name__ == "__main__":
    unittest.main(verbosity=2)
