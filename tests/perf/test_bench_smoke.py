#!/usr/bin/env python3
"""scripts/bench.sh --smoke against the real switches: every output exists and parses (the
probe's JSON per switch and mode, summary.json, summary.md, the PNG plot), and bad options are
refused before anything starts. It measures nothing worth quoting: see scripts/bench.sh."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, "scripts", "bench.sh")
BUILD = os.environ.get("RTVS_BUILD_DIR", os.path.join(ROOT, "build"))


def bench(*args, timeout=540):
    return subprocess.run(["bash", BENCH, "--no-setup", "--build-dir", BUILD] + list(args),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


class BenchSmoke(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="bench-smoke-")

    def tearDown(self):
        shutil.rmtree(self.out, ignore_errors=True)

    def test_smoke_run_writes_every_output(self):
        r = bench("--smoke", "--switches", "testpmd,rtvswitch,rtvswitch-noacct",
                  "--out", self.out)
        sys.stdout.write(r.stdout[-3000:])
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        files = set(os.listdir(self.out))
        for sw in ("testpmd", "rtvswitch"):
            for mode in ("latency", "max", "search"):
                name = f"{sw}-run1-{mode}.json"
                self.assertIn(name, files)
                with open(os.path.join(self.out, name)) as f:
                    probe = json.load(f)
                self.assertEqual(probe["tool"], "rtvswitch-probe")
                self.assertEqual(probe["config"]["mode"],
                                 "latency" if mode == "latency" else "throughput")
        self.assertIn("rtvswitch-noacct-run1-max.json", files)
        self.assertNotIn("rtvswitch-noacct-run1-latency.json", files)
        self.assertNotIn("rtvswitch-noacct-run1-search.json", files)

        with open(os.path.join(self.out, "summary.json")) as f:
            doc = json.load(f)
        self.assertEqual(doc["failures"], [])
        s = doc["summary"]
        for sw in ("testpmd", "rtvswitch"):
            lat = s["latency"][sw]["10000"]
            self.assertGreater(lat["rx_pps"]["median"], 0)
            self.assertGreater(lat["p50"]["median"], 0)
            self.assertLessEqual(lat["p50"]["median"], lat["max"]["median"])
            self.assertGreater(s["throughput"][sw]["max_rx_pps"]["median"], 0)
            # Both switches counted their own cycles in the maximum-rate run.
            self.assertGreater(s["throughput"][sw]["busy_cycles_per_packet"]["median"], 0)
        self.assertIn("max_rate", s["ratios_to_reference"]["rtvswitch"])
        self.assertIn("capacity", s["ratios_to_reference"]["rtvswitch"])
        self.assertIsNotNone(s["accounting"]["rate_on_over_off"]["of_medians"])
        self.assertIsNotNone(s["accounting"]["capacity_on_over_off"]["of_medians"])
        self.assertTrue(any("accounting" in t["target"] for t in s["targets"]))
        # The switch's own view came along: residence at B and a PMD report.
        views = {(m["switch"], m["mode"]): m["switch_view"] for m in doc["measurements"]}
        self.assertGreater(views[("rtvswitch", "latency")]["residence_b"]["count"], 0)
        self.assertEqual(views[("rtvswitch", "latency")]["mempool_in_use"], 0)

        with open(os.path.join(self.out, "summary.md")) as f:
            md = f.read()
        self.assertIn("| 10 kpps | rtvswitch |", md)
        self.assertIn("## Throughput", md)
        self.assertIn("## Noise floor", md)
        with open(os.path.join(self.out, "latency.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertIn("latency-10000.dat", files)

    def test_bad_options_are_refused_before_starting(self):
        for args in (["--switches", "testpmd,nope"], ["--runs", "0"], ["--rates", "1k"],
                     ["--loss", "0.7"], ["--smoke", "--quick"],
                     ["--no-latency", "--no-throughput"]):
            r = bench(*args, "--out", self.out, timeout=60)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn("error", r.stderr, args)
        self.assertEqual(os.listdir(self.out), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
