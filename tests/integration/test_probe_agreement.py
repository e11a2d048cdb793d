#!/usr/bin/env python3
"""The probe's view and the switch's own view of the same traffic agree: rtvswitch-probe sends
A -> B through rtvswitch at a modest rate; the switch's residence times for the egress port (rx
poll to hand-over) are no larger than the probe's one-way latencies (which add both guests'
virtio paths), and the switch counted at least every frame the probe received."""

import json
import os
import unittest

from itlib import dp, rs

BUCKET = 1.02  # histogram buckets are 1.6% wide


class ProbeAgreement(unittest.TestCase):
    def test_switch_residence_below_probe_latency(self):
        with dp.ProcessGroup("it-agree") as g:
            a, b = g.socket("a"), g.socket("b")
            out = os.path.join(g.tmpdir, "probe.json")
            prefix = g.prefix("probe")
            # The probe is the vhost-user server on both sockets; the switch connects to it.
            probe = g.start([dp.find_binary("rtvswitch-probe"), "--file-prefix", prefix,
                             "--port-a", a, "--port-b", b, "--vhost", "server", "--lcore", "0",
                             "--json", out, "latency", "--rates", "10000", "--duration", "3",
                             "--warmup", "1"], prefix, "rtvswitch-probe", stdin=False)
            sw = rs.Daemon(g, ports=[f"a type=vhostuserclient path={a}",
                                     f"b type=vhostuserclient path={b}"])
            probe.proc.wait(timeout=120)
            self.assertEqual(probe.proc.returncode, 0, probe.stderr_text())
            with open(out) as f:
                trial = json.load(f)["latency"][0]
            lat = sw.rpc("latency.show", {"port": "b"})["ports"][0]["egress"]
            self.assertGreater(trial["received"], 0)
            # Marker and warm-up frames cross the switch too: it saw at least what was measured.
            self.assertGreaterEqual(lat["count"], trial["received"])
            pl = trial["latency"]
            print(f"probe one-way p50/p99/max ns: {pl['p50_ns']:.0f}/{pl['p99_ns']:.0f}/"
                  f"{pl['max_ns']:.0f}; switch residence: {lat['p50_ns']:.0f}/"
                  f"{lat['p99_ns']:.0f}/{lat['max_ns']:.0f}")
            # Same traffic, inner interval: the switch's part is smaller at the centre. The tail
            # (p99, max) of the switch includes warm-up frames the probe does not count, so it is
            # only bounded by the probe's largest value seen over the whole run.
            self.assertLessEqual(lat["p50_ns"], pl["p50_ns"] * BUCKET)
            self.assertLessEqual(lat["p90_ns"], pl["p90_ns"] * BUCKET)


if __name__ == "__main__":
    unittest.main(verbosity=2)
