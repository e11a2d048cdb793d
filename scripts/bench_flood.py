#!/usr/bin/env python3
"""The flood benchmark (not a test): an RT pair measured by rtvswitch-probe (ports a, b) while a
third guest (rtvs-guest, port c) floods broadcast frames at its maximum rate to a fourth (d), all
on one PMD. Three cases, each on a fresh switch, in one run:
- quiet:  no flood (the reference);
- flood:  c floods; the pair is on VLAN 10, the flooder on VLAN 20, so the broadcasts never reach
          the pair's ports, but they take the PMD's cycles;
- storm:  as flood, with storm-broadcast-pps on c (the flood is dropped at ingress).
Prints p50/p90/p99 of the pair's one-way latency per case and the ratios to quiet (target: p50
and p90 with the flood at most 1.2x without), and writes OUT/flood.json.

    scripts/bench_flood.py [--rate 10000] [--duration 5] [--storm-pps 10000] [--out DIR]
"""

import argparse
import datetime
import json
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402

SWITCH_CORE, PROBE_CORE = "1", "0"


def run_case(args, case, out_dir):
    out = os.path.join(out_dir, f"flood-{case}.json")
    with dp.ProcessGroup(f"flood-{case}") as g:
        a, b = g.socket("a"), g.socket("b")
        prefix = g.prefix("probe")
        argv = ["nice", "-n", "19", dp.find_binary("rtvswitch-probe"), "--file-prefix", prefix,
                "--port-a", a, "--port-b", b, "--vhost", "server", "--lcore", PROBE_CORE,
                "--json", out, "latency", "--rates", str(args.rate), "--duration",
                str(args.duration), "--warmup", "1"]
        probe = g.start(argv, prefix, "rtvswitch-probe", stdin=False)
        deadline = time.monotonic() + 60
        while not (os.path.exists(a) and os.path.exists(b)):
            if not probe.alive() or time.monotonic() > deadline:
                raise RuntimeError(f"probe did not listen: {probe.stderr_text()}")
            time.sleep(0.05)
        storm = f" storm-broadcast-pps={args.storm_pps}" if case == "storm" else ""
        sw = rs.Daemon(g, ports=[f"a type=vhostuserclient path={a} tag=10",
                                 f"b type=vhostuserclient path={b} tag=10",
                                 f"c type=vhostuser tag=20{storm}", "d type=vhostuser tag=20"],
                       pmd_cores=SWITCH_CORE, housekeeping=PROBE_CORE, memory_mb=512,
                       mbufs=16384)
        flooder = None
        done = threading.Event()
        sent = {"n": 0}
        if case != "quiet":
            d = sw.socket_dir
            flooder = g.start_guest([f"path={d}/c", f"path={d}/d"], lcore=int(PROBE_CORE),
                                    extra=["--idle-us", "0"])
            flooder.wait_link(0, 30)

            def flood():
                while not done.is_set() and probe.alive():
                    sent["n"] += flooder.send(0, count=200000)["sent"]

            t = threading.Thread(target=flood)
            t.start()
        try:
            probe.proc.wait(timeout=args.duration + 120)
        finally:
            done.set()
            if flooder is not None:
                t.join()
            stats = sw.rpc("stats.show")
            sw.stop()
        with open(out) as f:
            trial = json.load(f)["latency"][0]
        drops = {p["name"]: {k: v for k, v in p["drops"].items() if v} for p in stats["ports"]}
        return {"case": case, "latency": trial["latency"], "lost": trial["lost"],
                "offered": trial["offered"], "flood_sent": sent["n"], "switch_drops": drops}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=int, default=10000, help="the RT pair's rate, pps")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per case")
    p.add_argument("--storm-pps", type=int, default=10000, help="storm-broadcast-pps in 'storm'")
    p.add_argument("--out", help="output directory (default build/bench/flood-<UTC time>)")
    args = p.parse_args(argv)
    out_dir = args.out or os.path.join(
        rs.build_dir(), "bench",
        "flood-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    os.makedirs(out_dir, exist_ok=True)
    results = [run_case(args, c, out_dir) for c in ("quiet", "flood", "storm")]
    quiet = results[0]["latency"]
    print(f"RT pair at {args.rate} pps, {args.duration} s per case; one-way latency in us")
    print(f"{'case':8} {'p50':>8} {'p90':>8} {'p99':>8} {'p50/q':>7} {'p90/q':>7} {'lost':>6} "
          f"{'flood sent':>11}")
    for r in results:
        lat = r["latency"]
        print(f"{r['case']:8} {lat['p50_ns']/1e3:8.2f} {lat['p90_ns']/1e3:8.2f} "
              f"{lat['p99_ns']/1e3:8.2f} {lat['p50_ns']/quiet['p50_ns']:7.2f} "
              f"{lat['p90_ns']/quiet['p90_ns']:7.2f} {r['lost']:6} {r['flood_sent']:11}")
        r["ratio_p50"] = lat["p50_ns"] / quiet["p50_ns"]
        r["ratio_p90"] = lat["p90_ns"] / quiet["p90_ns"]
    ok = all(r["ratio_p50"] <= 1.2 and r["ratio_p90"] <= 1.2 for r in results[1:])
    print("target p50, p90 with flood <= 1.2x quiet:", "met" if ok else "missed")
    with open(os.path.join(out_dir, "flood.json"), "w") as f:
        json.dump({"rate": args.rate, "duration": args.duration, "results": results}, f, indent=1)
    print(f"results: {out_dir}/flood.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
