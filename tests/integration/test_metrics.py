#!/usr/bin/env python3
"""The Prometheus endpoint of the running daemon: scraped after real traffic, the text passes
`promtool check metrics`, the counters equal the JSON-RPC stats, and the residence-time histogram
counts every forwarded frame. Also the latency budget alarm, with a 1 us budget that some of
20000 frames crossing this busy 2-core VM exceed."""

import re
import shutil
import subprocess
import unittest
import urllib.request

from itlib import assert_no_mbuf_leak, dp, free_port, learn, mac, rs, wait_until

MA, MB = mac(0x3A), mac(0x3B)



class Metrics(unittest.TestCase):
    def setUp(self):
        self.g = dp.ProcessGroup("it-metrics")
        self.addCleanup(self.g.close)
        self.port = free_port()
        self.sw = rs.Daemon(self.g, ports=["a type=vhostuser latency-budget-us=1",
                                           "b type=vhostuser"],
                            args=["--metrics-listen", f"127.0.0.1:{self.port}"])
        self.base = self.sw.mempool_in_use()
        d = self.sw.socket_dir
        self.guest = self.g.start_guest([f"path={d}/a,mac={MA}", f"path={d}/b,mac={MB}"])
        self.guest.wait_link(0, 30)
        self.guest.wait_link(1, 30)
        dp.wait_forwarding(self.guest, 0, self.guest, 1)
        learn(self.sw, self.guest, [(0, MA), (1, MB)])
        self.sw.rpc("latency.clear")

    def scrape(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("text/plain", r.headers["Content-Type"])
            return r.read().decode()

    @staticmethod
    def value(text, name, **labels):
        want = ",".join(f'{k}="{v}"' for k, v in labels.items())
        m = re.search(rf"^{re.escape(name)}{{{re.escape(want)}}} (\S+)$", text, re.M)
        if not m:
            raise AssertionError(f"{name}{{{want}}} not in the scrape")
        return float(m.group(1))

    def test_scrape_after_traffic(self):
        n = self.guest.send(0, count=5000, dst=MB, flow=31)["sent"]
        self.guest.stats_settled(1, expect_rx=n)
        self.sw.wait_settled()
        text = self.scrape()
        promtool = shutil.which("promtool")
        if promtool:
            r = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                               capture_output=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(r.stdout.strip() + r.stderr.strip(), "")
        st = self.sw.port_stats("a")
        self.assertEqual(self.value(text, "rtvswitch_port_rx_packets_total", port="a"),
                         st["rx_packets"])
        tx_b = self.sw.port_stats("b")["tx_packets"]
        self.assertEqual(self.value(text, "rtvswitch_port_tx_packets_total", port="b"), tx_b)
        self.assertEqual(self.value(text, "rtvswitch_port_residence_time_seconds_count",
                                    port="b", direction="egress"), tx_b)
        self.assertEqual(self.value(text, "rtvswitch_port_residence_time_seconds_bucket",
                                    port="b", direction="egress", le="+Inf"), tx_b)
        self.assertEqual(self.value(text, "rtvswitch_port_link_up", port="a"), 1)
        # Not degraded; DPDK's log lines counted, none dropped.
        self.assertRegex(text, r"(?m)^rtvswitch_realtime_degraded_bool 0$")
        self.assertRegex(text, r"(?m)^rtvswitch_dpdk_log_dropped_total 0$")
        self.assertRegex(text, r"(?m)^rtvswitch_dpdk_log_lines_total [0-9]")
        v = self.sw.rpc("version")
        self.assertEqual(self.value(text, "rtvswitch_build_info", version=v["version"],
                                    dpdk=v["dpdk"]), 1)
        # The JSON view of the same histogram.
        lat = self.sw.rpc("latency.show", {"port": "b"})["ports"][0]
        self.assertEqual(lat["egress"]["count"], tx_b)
        self.assertGreater(lat["egress"]["p50_ns"], 0)
        self.assertLessEqual(lat["egress"]["p50_ns"], lat["egress"]["p99_ns"])
        self.assertLessEqual(lat["egress"]["p99_ns"], lat["egress"]["max_ns"])
        perf = self.sw.rpc("pmd.perf")["pmds"][0]
        self.assertGreater(perf["poll_gap"]["count"], 0)
        self.assertGreater(perf["longest_stall_ns"], 0)
        assert_no_mbuf_leak(self, self.sw, self.base)

    def test_latency_budget_alarm(self):
        # b→a: the egress port a has a 1 us budget; frames over it are counted and logged.
        n = self.guest.send(1, count=20000, dst=MA, flow=32)["sent"]
        self.guest.stats_settled(0, expect_rx=n)
        over = wait_until(lambda: self.sw.port_stats("a")["over_budget"], 5, "over-budget count")
        self.assertLessEqual(over, n)
        wait_until(lambda: "over the latency budget of 1 us" in self.sw.log(), 5, "alarm logged")
        self.assertEqual(self.sw.port_stats("b")["over_budget"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
