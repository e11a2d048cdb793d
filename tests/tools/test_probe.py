"""rtvswitch-probe against the reference switch (dpdk-testpmd io forwarding), short runs.

Checks the accounting (every offered frame is received or lost, once), the JSON results and the
error paths. Figures are not judged: the machine is noisy. Run by CTest (label vhost) with
RTVS_BUILD_DIR set; by hand:
    RTVS_BUILD_DIR=build-x python3 tests/tools/test_probe.py -v
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import dpdk_procs as dp  # noqa: E402


def run_probe(group, sockets, args, vhost="server", link_timeout=20, timeout=120):
    prefix = group.prefix("probe")
    out = os.path.join(group.tmpdir, f"{prefix}.json")
    argv = [dp.find_binary("rtvswitch-probe"), "--file-prefix", prefix, "--lcore", "0",
            "--port-a", sockets[0], "--port-b", sockets[1], "--vhost", vhost,
            "--link-timeout", str(link_timeout), "--json", out] + args
    r = group.run(argv, prefix, timeout)
    data = None
    if r.returncode == 0:
        with open(out) as f:
            data = json.load(f)
    return r, data


class ProbeAgainstTestpmd(unittest.TestCase):
    def check_trial(self, t):
        self.assertEqual(t["received"] + t["lost"], t["offered"], t)
        self.assertEqual((t["dup"], t["bad"]), (0, 0), t)
        if t["received"]:
            lat = t["latency"]
            self.assertEqual(lat["count"], t["received"])
            self.assertTrue(0 <= lat["p50_ns"] <= lat["p99_ns"] <= lat["p9999_ns"] <= lat["max_ns"],
                            lat)

    def test_latency_server_mode(self):
        with dp.ProcessGroup("probe-t1") as g:
            socks = [g.socket("a"), g.socket("b")]
            g.start_testpmd(socks, lcores="0,1", client=True)
            r, data = run_probe(g, socks, ["latency", "--rates", "5000,50000", "--duration",
                                           "0.5", "--warmup", "0.2"])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("rate(pps)", r.stdout)
            self.assertIn("noise floor", r.stdout)
            trials = data["latency"]
            self.assertEqual([t["rate_pps"] for t in trials], [5000, 50000])
            for t in trials:
                self.check_trial(t)
                self.assertEqual(sum(b["count"] for b in t["latency_buckets"]), t["received"])
                # Paced trials offer exactly rate x duration frames (late ones catch up).
                self.assertEqual(t["offered"], round(t["rate_pps"] * t["duration_s"]))
            # 5 kpps fills a 1024-entry ring only after a 200 ms stall: nothing may be lost.
            self.assertEqual(trials[0]["received"], trials[0]["offered"])
            self.assertEqual(trials[0]["reorder"], 0)
            self.assertGreater(data["noise"]["loop_gap"]["count"], 0)

    def test_throughput_client_mode(self):
        with dp.ProcessGroup("probe-t2") as g:
            socks = [g.socket("a"), g.socket("b")]
            g.start_testpmd(socks, lcores="0,1", client=False)
            r, data = run_probe(g, socks, ["throughput", "--duration", "0.5", "--trial", "0.3",
                                           "--warmup", "0.1", "--max-trials", "3", "--loss", "0"],
                                vhost="client")
            self.assertEqual(r.returncode, 0, r.stderr)
            tp = data["throughput"]
            self.check_trial(tp["max"])
            self.assertGreater(tp["max"]["received"], 0)
            self.assertEqual(len(tp["searches"]), 1)
            search = tp["searches"][0]
            self.assertLessEqual(len(search["trials"]), 3)
            for t in search["trials"]:
                self.check_trial(t)
                self.assertEqual(t["pass"], t["lost"] == 0)
            passed = [t["rate_pps"] for t in search["trials"] if t["pass"]]
            self.assertEqual(search["rate_pps"], max(passed, default=0))
            self.assertIn("rate with loss <= 0%", r.stdout)

    def test_jumbo_latency(self):
        with dp.ProcessGroup("probe-t3") as g:
            socks = [g.socket("a"), g.socket("b")]
            g.start_testpmd(socks, lcores="0,1", client=True)
            # A 9014-byte frame takes 5 descriptors of the receive ring: at 1 kpps a 1024-entry
            # ring still rides out a 200 ms stall of the probe.
            r, data = run_probe(g, socks, ["--size", "9014", "latency", "--rates", "1000",
                                           "--duration", "0.5", "--warmup", "0.1"])
            self.assertEqual(r.returncode, 0, r.stderr)
            t = data["latency"][0]
            self.check_trial(t)
            self.assertEqual(t["received"], t["offered"])

    def test_bad_arguments_and_no_switch(self):
        with dp.ProcessGroup("probe-t4") as g:
            socks = [g.socket("a"), g.socket("b")]
            r, _ = run_probe(g, socks, ["--size", "20", "latency"])
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("--size", r.stderr)
            r, _ = run_probe(g, [socks[0], socks[0]], ["latency"])
            self.assertEqual(r.returncode, 2)
            self.assertIn("--port-b", r.stderr)
            for bad in (["--flows", "0"], ["--flows", "1025"],
                        ["--flows", "2", "--mac-b", "52:54:00:72:71:0a"]):
                r, _ = run_probe(g, socks, bad + ["latency"])
                self.assertEqual(r.returncode, 2, bad)
                self.assertIn("--flows", r.stderr, bad)
            r, _ = run_probe(g, socks, ["latency"], link_timeout=1)
            self.assertEqual(r.returncode, 1)
            self.assertIn("--link-timeout", r.stderr)


if __name__ == "__main__":
    unittest.main()
