#!/usr/bin/env python3
"""The probe's view and the switch's own view of the same traffic agree: rtvswitch-probe sends
A -> B through rtvswitch at a modest rate; the switch's residence times for the egress port (rx
poll to hand-over) are no larger than the probe's one-way latencies (which add both guests'
virtio paths), and the switch counted at least every frame the probe received. With --flows the
probe's frames cycle through many MAC pairs, all learned first and then forwarded unicast."""

import json
import os
import unittest

from itlib import dp, mac, rs, wait_until

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


    def test_many_flows_are_learned_and_not_flooded(self):
        """--flows: every frame a new MAC pair. The switch learns all 2 x 64 addresses before the
        trial and then forwards by them: a third port sees the learning frames, not the trial."""
        flows = 64
        with dp.ProcessGroup("it-flows") as g:
            a, b = g.socket("a"), g.socket("b")
            sw = rs.Daemon(g, ports=[f"a type=vhostuserclient path={a}",
                                     f"b type=vhostuserclient path={b}", "c type=vhostuser"])
            guest = g.start_guest([f"path={sw.socket_dir}/c,mac={mac(0x0C)}"])
            guest.wait_link(0, 30)
            sw.wait_link("c")
            out = os.path.join(g.tmpdir, "probe.json")
            prefix = g.prefix("probe")
            probe = g.start([dp.find_binary("rtvswitch-probe"), "--file-prefix", prefix,
                             "--port-a", a, "--port-b", b, "--vhost", "server", "--lcore", "0",
                             "--flows", str(flows), "--json", out, "latency", "--rates",
                             "10000", "--duration", "1", "--warmup", "0.2"], prefix,
                            "rtvswitch-probe", stdin=False)
            probe.proc.wait(timeout=120)
            self.assertEqual(probe.proc.returncode, 0, probe.stderr_text())
            with open(out) as f:
                doc = json.load(f)
            self.assertEqual(doc["config"]["flows"], flows)
            trial = doc["latency"][0]
            self.assertGreater(trial["received"], 0.9 * trial["offered"], trial)
            self.assertEqual(trial["foreign"], 0)
            # The probe has gone (its ports are down, their MACs flushed): count learn events.
            learned = sw.rpc("pmd.show")["pmds"][0]["learn_events"]
            self.assertGreaterEqual(learned, 2 * flows)
            # 1 + 1.2 s of 10 kpps crossed a -> b; c got only floods of the learning phase.
            wait_until(lambda: sw.port_stats("b")["tx_packets"] >= trial["received"], 5,
                       "the switch counting what the probe received")
            to_c = sw.port_stats("c")["tx_packets"]
            print(f"flows {flows}: received {trial['received']} of {trial['offered']}, "
                  f"learn events {learned}, frames to c {to_c}")
            self.assertLess(to_c, 4 * flows + 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
