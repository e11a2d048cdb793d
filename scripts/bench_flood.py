#!/usr/bin/env python3
"""The flood benchmark (not a test): an RT pair measured by rtvswitch-probe (ports a, b) while a
third guest (rtvs-guest, port c) floods broadcast frames at its maximum rate to a fourth (d), all
on one PMD. Cases, each on a fresh switch, in alternating order over --rounds rounds:
- quiet:  no flooder at all;
- hog:    only where the flooder must share the probe's CPU (fewer than 3 CPUs): the flooder runs
          and busy-polls but sends nothing, so the probe loses the same CPU time as under the
          flood and the switch sees no flood. It is the reference there: flood / hog is what the
          switch adds, flood / quiet also includes the probe's lost CPU;
- flood:  c floods; the pair is on VLAN 10, the flooder on VLAN 20, so the broadcasts never reach
          the pair's ports, but they take the PMD's cycles;
- storm:  as flood, with storm-broadcast-pps on c (the flood is dropped at ingress).
With 3 CPUs or more the flooder gets its own CPU and quiet is the reference. Prints the medians
over rounds of the pair's one-way p50/p90/p99 per case and their ratios to the reference
(target: p50 and p90 with the flood at most 1.2x without), and writes OUT/flood.json.

    scripts/bench_flood.py [--rate 10000] [--duration 5] [--rounds 3] [--storm-pps 10000]
                           [--out DIR]
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


def flooder_core():
    """The flooder's CPU: a third one where there is one, else the probe's."""
    cpus = sorted(os.sched_getaffinity(0))
    spare = [c for c in cpus if str(c) not in (SWITCH_CORE, PROBE_CORE)]
    return spare[0] if spare else int(PROBE_CORE)


def run_case(args, case, rnd, out_dir):
    out = os.path.join(out_dir, f"flood-{case}-{rnd}.json")
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
            flooder = g.start_guest([f"path={d}/c", f"path={d}/d"], lcore=flooder_core(),
                                    extra=["--idle-us", "0"])
            flooder.wait_link(0, 30)

            def flood():
                while not done.is_set() and probe.alive():
                    sent["n"] += flooder.send(0, count=200000)["sent"]

            t = threading.Thread(target=flood if case != "hog" else done.wait)
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


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=int, default=10000, help="the RT pair's rate, pps")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per case")
    p.add_argument("--rounds", type=int, default=3, help="rounds of all cases (medians over them)")
    p.add_argument("--storm-pps", type=int, default=10000, help="storm-broadcast-pps in 'storm'")
    p.add_argument("--out", help="output directory (default build/bench/flood-<UTC time>)")
    args = p.parse_args(argv)
    os.environ.setdefault("RTVS_BUILD_DIR", os.path.join(ROOT, "build"))
    out_dir = args.out or os.path.join(
        rs.build_dir(), "bench",
        "flood-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    os.makedirs(out_dir, exist_ok=True)
    shared = str(flooder_core()) == PROBE_CORE
    cases = ["quiet", "hog", "flood", "storm"] if shared else ["quiet", "flood", "storm"]
    ref = "hog" if shared else "quiet"
    runs = {c: [] for c in cases}
    for rnd in range(args.rounds):
        k = rnd % len(cases)
        for c in cases[k:] + cases[:k]:  # a different case first in each round
            runs[c].append(run_case(args, c, rnd, out_dir))
    med = {c: {q: median([r["latency"][q] for r in runs[c]])
               for q in ("p50_ns", "p90_ns", "p99_ns")} for c in cases}
    print(f"RT pair at {args.rate} pps, {args.duration} s per case, {args.rounds} rounds; "
          f"flooder on CPU {flooder_core()} ({'shared with the probe' if shared else 'its own'})")
    print(f"one-way latency in us, medians over rounds; ratios to {ref}")
    print(f"{'case':8} {'p50':>8} {'p90':>8} {'p99':>8} {'p50/ref':>8} {'p90/ref':>8} "
          f"{'p50/quiet':>9} {'lost':>6} {'flood sent':>11}")
    summary = {}
    for c in cases:
        m = med[c]
        r50, r90 = m["p50_ns"] / med[ref]["p50_ns"], m["p90_ns"] / med[ref]["p90_ns"]
        q50 = m["p50_ns"] / med["quiet"]["p50_ns"]
        lost = sum(r["lost"] for r in runs[c])
        sent = sum(r["flood_sent"] for r in runs[c])
        print(f"{c:8} {m['p50_ns']/1e3:8.2f} {m['p90_ns']/1e3:8.2f} {m['p99_ns']/1e3:8.2f} "
              f"{r50:8.2f} {r90:8.2f} {q50:9.2f} {lost:6} {sent:11}")
        summary[c] = dict(m, ratio_p50=r50, ratio_p90=r90, ratio_p50_quiet=q50, lost=lost,
                          flood_sent=sent)
    ok = all(summary[c]["ratio_p50"] <= 1.2 and summary[c]["ratio_p90"] <= 1.2
             for c in ("flood", "storm"))
    print(f"target p50, p90 with flood <= 1.2x {ref}:", "met" if ok else "missed")
    with open(os.path.join(out_dir, "flood.json"), "w") as f:
        json.dump({"rate": args.rate, "duration": args.duration, "rounds": args.rounds,
                   "flooder_cpu_shared": shared, "reference": ref, "summary": summary,
                   "runs": runs}, f, indent=1)
    print(f"results: {out_dir}/flood.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
