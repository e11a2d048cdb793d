#!/usr/bin/env python3
"""scripts/bench.py's arithmetic on made-up probe results: medians and ranges over runs, ratios
to the reference (of the medians, and the same-run range), costs inverted into capacities, the
noise floor from latency runs only, and the targets judged on the medians. No DPDK."""

import os
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import bench  # noqa: E402

HZ = 2_000_000_000


def lat_record(switch, run, p50, p99, rate=100000, loss=0.0, gaps=10.0):
    trial = {"rate_pps": rate, "received": 1000, "loss_ratio": loss, "rx_pps": rate,
             "latency": {"p50_ns": p50, "p90_ns": p50, "p99_ns": p99, "p999_ns": p99,
                         "p9999_ns": p99, "max_ns": p99},
             "latency_buckets": [{"le_ns": p50, "count": 900}, {"le_ns": p99, "count": 100}]}
    return {"switch": switch, "run": run, "mode": "latency", "switch_view": {},
            "probe": {"tsc_hz": HZ, "latency": [trial],
                      "noise": {"gaps_over_5us_per_s": gaps,
                                "time_in_gaps_over_5us_ratio": 0.01,
                                "loop_gap": {"p9999_ns": 1000, "max_ns": 2e6}}}}


def max_record(switch, run, rx_pps, cpp):
    return {"switch": switch, "run": run, "mode": "max",
            "switch_view": {"busy_cycles_per_packet": cpp},
            "probe": {"tsc_hz": HZ, "throughput": {"max": {"rx_pps": rx_pps, "loss_ratio": 0},
                                                   "searches": []},
                      "noise": {"gaps_over_5us_per_s": 1e6}}}


def search_record(switch, run, zero, low):
    return {"switch": switch, "run": run, "mode": "search", "switch_view": {},
            "probe": {"tsc_hz": HZ, "throughput": {"max": {"rx_pps": 1, "loss_ratio": 0},
                                                   "searches": [
                                                       {"loss_threshold": 0, "rate_pps": zero},
                                                       {"loss_threshold": 0.0001,
                                                        "rate_pps": low}]},
                      "noise": {"gaps_over_5us_per_s": 1e6}}}


class Args:
    runs = 3
    rates = "100000"
    loss = "0,0.0001"
    accounting_pairs = 1


class Summary(unittest.TestCase):
    def setUp(self):
        recs = []
        # testpmd: p50 1000/1100/900 ns, p99 10/20/30 us, max 10/12/8 Mpps at 200/180/220 cycles
        for run, (p50, p99, mx, cpp) in enumerate([(1000, 10e3, 10e6, 200), (1100, 20e3, 12e6, 180),
                                                   (900, 30e3, 8e6, 220)], 1):
            recs += [lat_record("testpmd", run, p50, p99), max_record("testpmd", run, mx, cpp),
                     search_record("testpmd", run, 1e6, 2e6)]
        # rtvswitch: p50 1200 in every run; p99 12/40/33 us; max 9 Mpps at 250 cycles
        for run, p99 in enumerate([12e3, 40e3, 33e3], 1):
            recs += [lat_record("rtvswitch", run, 1200, p99),
                     max_record("rtvswitch", run, 9e6, 250)]
        # accounting off: 10 Mpps at 245 cycles (run 3 missing: a failed measurement)
        for run in (1, 2):
            recs.append(max_record("rtvswitch-noacct", run, 10e6, 245))
        # One extra accounting pair: counts for the accounting only, not in the main tables.
        recs += [max_record("rtvswitch", "a1", 1e6, 250),
                 max_record("rtvswitch-noacct", "a1", 10e6, 245)]
        self.s = bench.summarize(recs, Args(), ["testpmd", "rtvswitch", "rtvswitch-noacct"])

    def test_medians_and_ranges(self):
        t = self.s["latency"]["testpmd"][100000]
        self.assertEqual(t["p50"]["median"], 1000)
        self.assertEqual((t["p50"]["min"], t["p50"]["max"]), (900, 1100))
        self.assertEqual(self.s["throughput"]["testpmd"]["max_rx_pps"]["median"], 10e6)
        self.assertEqual(self.s["throughput"]["testpmd"]["loss_0_pps"]["median"], 1e6)
        self.assertEqual(self.s["throughput"]["testpmd"]["loss_0.0001_pps"]["median"], 2e6)
        self.assertEqual(self.s["throughput"]["testpmd"]["capacity_pps"]["median"], HZ / 200)
        self.assertEqual(self.s["throughput"]["rtvswitch-noacct"]["max_rx_pps"]["n"], 2)
        self.assertEqual(self.s["throughput"]["rtvswitch"]["max_rx_pps"]["n"], 3)
        self.assertEqual(self.s["throughput"]["rtvswitch"]["max_rx_pps"]["median"], 9e6)

    def test_ratios_to_the_reference(self):
        r = self.s["ratios_to_reference"]["rtvswitch"]
        self.assertAlmostEqual(r["p50@100000"]["of_medians"], 1.2)
        same = r["p50@100000"]["same_run"]
        self.assertAlmostEqual(same["min"], 1200 / 1100)
        self.assertAlmostEqual(same["max"], 1200 / 900)
        self.assertAlmostEqual(r["p99@100000"]["of_medians"], 33e3 / 20e3)
        self.assertAlmostEqual(r["max_rate"]["of_medians"], 0.9)
        # Capacity: cycles are a cost, the ratio is reference cycles / our cycles.
        self.assertAlmostEqual(r["capacity"]["of_medians"], 200 / 250)
        self.assertAlmostEqual(r["capacity"]["same_run"]["max"], 220 / 250)

    def test_accounting_cost(self):
        a = self.s["accounting"]
        self.assertEqual(a["pairs"], 3)  # runs 1, 2 and the extra pair; run 3 lacks "off"
        self.assertEqual(a["on_pps"]["n"], 4)
        self.assertAlmostEqual(a["rate_on_over_off"]["of_medians"], 0.9)
        self.assertAlmostEqual(a["rate_on_over_off"]["same_run"]["min"], 0.1)
        self.assertAlmostEqual(a["capacity_on_over_off"]["of_medians"], 245 / 250)
        self.assertEqual(a["capacity_on_over_off"]["same_run"]["n"], 3)

    def test_noise_from_latency_runs_only(self):
        self.assertEqual(self.s["noise"]["testpmd"]["gaps_over_5us_per_s"]["median"], 10.0)
        self.assertNotIn("rtvswitch-noacct", self.s["noise"])

    def test_targets_judged_on_medians(self):
        t = {x["target"]: x for x in self.s["targets"]}
        self.assertTrue(t["max forwarding rate >= 0.8 x testpmd (probe)"]["met"])
        self.assertTrue(t["capacity (1 / busy cycles per packet) >= 0.8 x testpmd"]["met"])
        self.assertTrue(t["p50 at 100 kpps <= 1.25 x testpmd"]["met"])
        self.assertFalse(t["p99 at 100 kpps <= 1.25 x testpmd"]["met"])
        self.assertFalse(t["max rate, accounting on >= 0.97 x off"]["met"])
        self.assertTrue(t["capacity, accounting on >= 0.97 x off"]["met"])

    def test_markdown_shows_ranges_and_misses(self):
        md = bench.markdown(self.s, {"started": "now", "command": "bench", "commit": "x",
                                     "dpdk": "DPDK", "host": "h", "load_start": 0.1,
                                     "load_end": 0.2, "runs": 3, "size": 64, "duration": 1,
                                     "warmup": 1, "max_duration": 1, "trial": 1,
                                     "ovs": "not installed"},
                            ["testpmd", "rtvswitch", "rtvswitch-noacct"])
        self.assertIn("| 100 kpps | testpmd | 0.000% | 1.00 [0.90-1.10] |", md)
        self.assertIn("1.20x (1.09-1.33)", md)
        self.assertIn("| p99 at 100 kpps <= 1.25 x testpmd | 1.65 | **no** |", md)
        self.assertIn("OVS-DPDK: not installed", md)


if __name__ == "__main__":
    unittest.main(verbosity=2)
