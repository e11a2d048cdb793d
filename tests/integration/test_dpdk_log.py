#!/usr/bin/env python3
"""DPDK's log goes through the lock-free log ring to the control thread, which writes it with
spdlog: EAL's and the vhost library's lines appear in the daemon's log with its timestamp and
level, 'dpdk: ' first, and stats.show counts them (none dropped)."""

import re
import unittest

from itlib import dp, rs

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (\S+) dpdk: (.*)$", re.M)


class DpdkLog(unittest.TestCase):
    def test_dpdk_lines_through_spdlog(self):
        with dp.ProcessGroup("it-dpdklog") as g:
            # log-level debug lets DPDK's INFO lines through (EAL, VHOST_CONFIG).
            sw = rs.Daemon(g, args=["--log-level", "debug"],
                           ports=[f"vm1 type=vhostuser path={g.tmpdir}/vm1.sock"])
            lines = LINE.findall(sw.log())
            self.assertTrue(any(t.startswith("EAL: ") for _, t in lines), sw.log()[-3000:])
            self.assertTrue(any(t.startswith("VHOST_CONFIG: ") for _, t in lines),
                            sw.log()[-3000:])
            self.assertTrue({lvl for lvl, _ in lines} <= {"debug", "info", "warning", "error",
                                                         "critical"})
            counts = sw.rpc("stats.show")["dpdk_log"]
            self.assertGreaterEqual(counts["lines"], len(lines))
            self.assertEqual(counts["dropped"], 0)
            # Nothing of DPDK's reaches stderr on its own (every DPDK line is one of ours).
            for raw in sw.log().splitlines():
                for prefix in ("EAL: ", "VHOST_CONFIG: "):
                    if raw.startswith(prefix):
                        self.fail(f"DPDK line bypassed the log ring: {raw}")
            self.assertEqual(sw.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
