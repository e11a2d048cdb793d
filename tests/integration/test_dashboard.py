#!/usr/bin/env python3
"""The Grafana dashboard (dashboards/rtvswitch.json) against real data: Debian's prometheus
scrapes a live rtvswitch every second while a DPDK guest sends traffic through it, then every
panel's PromQL expression (Grafana's variables replaced: all instances and ports, a 10 s rate
interval) is evaluated through Prometheus's HTTP API and must return at least one series with a
finite value. Also checks the dashboard's structure (unique panel ids, every target has an
expression, the variables it uses are the ones it defines)."""

import json
import math
import os
import re
import shutil
import subprocess
import threading
import time
import unittest
import urllib.parse
import urllib.request

from itlib import dp, free_port, learn, mac, rs

MA, MB = mac(0x4A), mac(0x4B)
DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dashboards",
                         "rtvswitch.json")
VARIABLES = {"$__rate_interval": "10s", "$instance": ".+", "$port": ".+"}
# Families other branches export; a panel that reads one is checked once the daemon has it.
OPTIONAL_FAMILIES = {"rtvswitch_port_info"}



def targets(dash):
    for p in dash["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t


def promql(expr):
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    return expr


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(DASHBOARD) as f:
            cls.dash = json.load(f)

    def test_structure(self):
        ids = [p["id"] for p in self.dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        defined = {v["name"] for v in self.dash["templating"]["list"]}
        self.assertEqual(defined, {"DS_PROMETHEUS", "instance", "port"})
        n = 0
        for title, t in targets(self.dash):
            n += 1
            self.assertTrue(t["expr"].strip(), title)
            used = set(re.findall(r"\$(\w+)", t["expr"])) - {"__rate_interval"}
            self.assertLessEqual(used, defined, f"{title}: {t['expr']}")
        self.assertGreaterEqual(n, 15)
        exprs = " ".join(t["expr"] for _, t in targets(self.dash))
        for needed in ("histogram_quantile", "rtvswitch_port_dropped_packets_total",
                       "rtvswitch_pmd_busy_seconds_total", "rtvswitch_pmd_poll_gap_seconds_bucket",
                       "rtvswitch_pmd_longest_stall_seconds",
                       "rtvswitch_port_over_budget_packets_total", "rtvswitch_port_info",
                       "rtvswitch_build_info"):
            self.assertIn(needed, exprs)

    def test_every_panel_has_data(self):
        prometheus = shutil.which("prometheus")
        self.assertIsNotNone(prometheus, "Debian's prometheus is not installed (scripts/setup.sh)")
        g = dp.ProcessGroup("it-dash")
        self.addCleanup(g.close)
        mport = free_port()
        sw = rs.Daemon(g, ports=["a type=vhostuser latency-budget-us=5", "b type=vhostuser"],
                       args=["--metrics-listen", f"127.0.0.1:{mport}"])
        d = sw.socket_dir
        guest = g.start_guest([f"path={d}/a,mac={MA}", f"path={d}/b,mac={MB}"])
        guest.wait_link(0, 30)
        guest.wait_link(1, 30)
        dp.wait_forwarding(guest, 0, guest, 1)
        learn(sw, guest, [(0, MA), (1, MB)])

        pport = free_port()
        cfg = os.path.join(g.tmpdir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: rtvswitch\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{mport}']\n")
        log = open(os.path.join(g.tmpdir, "prometheus.log"), "wb")
        prom = subprocess.Popen([prometheus, f"--config.file={cfg}",
                                 f"--storage.tsdb.path={os.path.join(g.tmpdir, 'tsdb')}",
                                 f"--web.listen-address=127.0.0.1:{pport}"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def stop_prometheus():
            prom.terminate()
            try:
                prom.wait(timeout=20)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
            log.close()
        self.addCleanup(stop_prometheus)
        api = f"http://127.0.0.1:{pport}"

        def get(path):
            with urllib.request.urlopen(api + path, timeout=10) as r:
                return json.loads(r.read().decode())

        # Traffic both ways for the whole scrape window: 1000 frames/s each way.
        done = threading.Event()

        def traffic():
            while not done.is_set():
                guest.send(0, count=1000, dst=MB, rate=1000)
                guest.send(1, count=1000, dst=MA, rate=1000)
        sender = threading.Thread(target=traffic, daemon=True)
        sender.start()
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    up = get("/api/v1/query?query=" + urllib.parse.quote("up"))["data"]["result"]
                    if up and up[0]["value"][1] == "1":
                        break
                except OSError:
                    pass
                if prom.poll() is not None or time.monotonic() > deadline:
                    with open(os.path.join(g.tmpdir, "prometheus.log")) as f:
                        self.fail(f"prometheus did not scrape rtvswitch: {f.read()[-2000:]}")
                time.sleep(0.5)
            time.sleep(12)  # more than one 10 s rate window of samples

            families = {m["__name__"] for m in get(
                "/api/v1/series?match[]=" + urllib.parse.quote('{__name__=~"rtvswitch_.+"}'))["data"]}
            empty = []
            for title, t in targets(self.dash):
                q = promql(t["expr"])
                skip = [f for f in OPTIONAL_FAMILIES if f in q and f not in families]
                if skip:
                    print(f"not checked: {title}/{t['refId']}: the daemon has no {skip[0]} yet")
                    continue
                r = get("/api/v1/query?query=" + urllib.parse.quote(q))
                self.assertEqual(r["status"], "success", q)
                values = [float(s["value"][1]) for s in r["data"]["result"]]
                if not any(math.isfinite(v) for v in values):
                    empty.append(f"{title}/{t['refId']}: {q} -> {r['data']['result']}")
            self.assertEqual(empty, [], "panels without data")
        finally:
            done.set()
            sender.join(timeout=30)


if __name__ == "__main__":
    unittest.main(verbosity=2)
