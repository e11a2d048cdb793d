#!/usr/bin/env python3
"""Run-time knobs against the real daemon: `vswitchctl port xstats` (a vhost port's
extended statistics, human and --json, counting the frames a DPDK guest sent) and
`vswitchctl log level` (shows; sets the daemon's and DPDK's level: at debug DPDK's vhost library
logs a new port's socket, at error it does not; a bad level is refused and changes nothing)."""

import json
import unittest

from itlib import dp, learn, mac, rs

MA, MB = mac(0x5A), mac(0x5B)


class Knobs(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("it-knobs")
        self.addCleanup(self.g.close)
        self.sw = rs.Daemon(self.g, ports=["a type=vhostuser", "b type=vhostuser"])

    def test_xstats(self):
        d = self.sw.socket_dir
        guest = self.g.start_guest([f"path={d}/a,mac={MA}", f"path={d}/b,mac={MB}"])
        guest.wait_link(0, 30)
        guest.wait_link(1, 30)
        dp.wait_forwarding(guest, 0, guest, 1)
        learn(self.sw, guest, [(0, MA), (1, MB)])
        before = {x["name"]: x["value"] for x in self.sw.rpc("port.xstats", {"name": "a"})["xstats"]}
        n = guest.send(0, count=300, dst=MB)["sent"]
        guest.stats_settled(1, expect_rx=n)
        self.sw.wait_settled()
        r = json.loads(self.sw.ctl("port", "xstats", "a", "--json").stdout)
        self.assertEqual(r["name"], "a")
        after = {x["name"]: x["value"] for x in r["xstats"]}
        self.assertEqual(after["rx_good_packets"] - before["rx_good_packets"], n)
        self.assertIn("rx_q0_size_64_packets", after)  # the vhost library's per-virtqueue counters
        text = self.sw.ctl("port", "xstats", "a").stdout
        self.assertTrue(text.startswith("XSTAT"), text)
        self.assertRegex(text, rf"\nrx_good_packets +{after['rx_good_packets']}\n")
        bad = self.sw.ctl("port", "xstats", "nope", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertEqual(bad.stderr, 'vswitchctl: no port named "nope"\n')

    def test_log_level(self):
        self.assertEqual(self.sw.ctl("log", "level").stdout, "log level info (DPDK notice)\n")
        self.assertEqual(json.loads(self.sw.ctl("log", "level", "debug", "--json").stdout),
                         {"level": "debug", "dpdk": "info"})
        mark = len(self.sw.log())
        self.sw.rpc("port.add", {"name": "c", "options": {"type": "vhostuser"}})
        self.assertIn("VHOST_CONFIG", self.sw.log()[mark:])  # DPDK's info level
        self.assertIn("log level debug (DPDK info), was info", self.sw.log())

        self.assertEqual(self.sw.ctl("log", "level", "error").stdout,
                         "log level error (DPDK error)\n")
        mark = len(self.sw.log())
        self.sw.rpc("port.add", {"name": "d", "options": {"type": "vhostuser"}})
        self.sw.rpc("port.del", {"name": "d"})
        self.assertEqual(self.sw.log()[mark:], "")  # neither DPDK's info nor ours

        bad = self.sw.ctl("log", "level", "loud", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("must be one of trace, debug, info", bad.stderr)
        with self.assertRaises(rs.RpcError) as e:
            self.sw.rpc("log.set", {"level": "loud"})
        self.assertEqual(e.exception.code, -32602)
        self.assertEqual(self.sw.rpc("log.show"), {"level": "error", "dpdk": "error"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
