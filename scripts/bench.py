#!/usr/bin/env python3
"""The benchmark: rtvswitch against the dpdk-testpmd io-forwarding reference (and OVS-DPDK where
it is installed), measured from outside by rtvswitch-probe, in one run.

    scripts/bench.sh [--runs 3] [--quick | --smoke] [--out DIR] [--switches LIST] ...

For each run, each switch in turn (the order rotates between runs) connects as a vhost-user
client to the probe's two ports, forwards on CPU 1 and is measured by the probe on CPU 0 at
nice 19:
- latency: 64 B frames A -> B at fixed rates (default 10k, 100k, 1M pps), one-way percentiles;
- max: the maximum forwarding rate (the probe sends as fast as A's port takes frames), with the
  switch's own busy cycles per packet over that run (its capacity, whatever the probe offers);
- search: the zero-loss and 0.01%-loss rates by binary search (RFC 2544 style);
- rtvswitch once more with `--no-latency-accounting`, max only, in each run and then in
  `--accounting-pairs` extra alternating on/off pairs: the accounting's cost.
Each measurement gets a fresh switch. The probe's own loop gaps in the latency runs are the noise
floor of the run.

Everything goes to OUT (default build/bench/<UTC time>/): the probe's JSON per switch, run and
mode (<switch>-run<N>-<latency|max|search>.json; runs a1, a2, ... are the extra accounting
pairs), summary.json (medians, ranges, ratios to the reference, targets), summary.md (the
tables), latency.png (gnuplot: the latency distributions, merged over runs), its data and
script.
Exit status: 0 when every measurement ran (targets missed are reported, not errors), 1 when a
measurement failed, 2 for bad options.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import dpdk_procs as dp  # noqa: E402
import rtvswitch as rs  # noqa: E402

REFERENCE = "testpmd"
ALL_SWITCHES = ("testpmd", "rtvswitch", "rtvswitch-noacct", "ovs")
OVS_DPDK_CANDIDATES = ("/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk", "ovs-vswitchd")
SWITCH_CORE, PROBE_CORE = "1", "0"
PERCENTILES = (("p50", "p50_ns"), ("p90", "p90_ns"), ("p99", "p99_ns"), ("p99.9", "p999_ns"),
               ("p99.99", "p9999_ns"), ("max", "max_ns"))

# Issue 3's targets, judged on medians over runs.
TARGET_MAX_RATE = 0.8        # rtvswitch max forwarding rate >= 0.8 x testpmd
TARGET_LATENCY = 1.25        # p50 and p99 at these rates <= 1.25 x testpmd
TARGET_LATENCY_RATES = (100000, 1000000)
TARGET_ACCOUNTING = 0.97     # accounting on >= 0.97 x off

PROFILES = {
    # name: runs, rates, latency duration/warm-up, throughput max duration/trial/max trials, losses
    "full": dict(runs=3, rates="10000,100000,1000000", duration=5.0, warmup=1.0,
                 max_duration=5.0, trial=2.0, max_trials=10, loss="0,0.0001",
                 accounting_pairs=5),
    "quick": dict(runs=1, rates="10000,100000,1000000", duration=2.0, warmup=0.5,
                  max_duration=2.0, trial=1.0, max_trials=5, loss="0,0.0001",
                  accounting_pairs=1),
    "smoke": dict(runs=1, rates="10000", duration=0.5, warmup=0.2,
                  max_duration=0.5, trial=0.3, max_trials=2, loss="0", accounting_pairs=0),
}


class BenchError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# The switches under test. Each is started after the probe (the vhost-user server on both
# sockets) and connects to it as a client; stop() ends it by PID and cleans its files.

class Switch:
    """A switch under test: extra() is its own view of the run (while it runs), after_stop()
    what it printed on its way out."""
    kind = "?"

    def extra(self):
        return {}

    def after_stop(self):
        return {}


class Testpmd(Switch):
    kind = "testpmd"

    def __init__(self, group, a, b, mode):
        # In the maximum-rate run testpmd counts its busy cycles (two TSC reads per non-empty
        # burst, as rtvswitch does always) and prints cycles per packet when it stops.
        extra = ["--record-core-cycles"] if mode == "max" else []
        self.proc = group.start_testpmd([a, b], lcores=f"{PROBE_CORE},{SWITCH_CORE}",
                                        client=True, mem=512, extra=extra)

    def stop(self):
        self.proc.stop()

    def after_stop(self):
        for line in self.proc.drain_output():
            m = re.search(r"CPU cycles/packet=([0-9.]+)", line)
            if m:
                return {"busy_cycles_per_packet": float(m.group(1))}
        return {}


class Rtvswitch(Switch):
    kind = "rtvswitch"

    port_options = ""  # --port-options: extra key=value options of both ports

    def __init__(self, group, a, b, mode, accounting=True):
        extra = [] if accounting else ["--no-latency-accounting"]
        opts = f" {self.port_options}" if self.port_options else ""
        self.daemon = rs.Daemon(group, ports=[f"a type=vhostuserclient path={a}{opts}",
                                              f"b type=vhostuserclient path={b}{opts}"],
                                args=extra, pmd_cores=SWITCH_CORE, housekeeping=PROBE_CORE,
                                memory_mb=512, mbufs=16384)

    def extra(self):
        """The switch's own view of the run: residence time at B, the PMD's health, drops."""
        try:
            lat = self.daemon.rpc("latency.show", {"port": "b"})["ports"][0]["egress"]
            perf = self.daemon.rpc("pmd.perf")
            stats = self.daemon.rpc("stats.show")
        except (OSError, RuntimeError, ValueError) as e:
            return {"error": str(e)}
        pmd = perf["pmds"][0]
        return {"residence_b": {k: lat.get(k) for k in
                                ("count", "p50_ns", "p99_ns", "p9999_ns", "max_ns")},
                "busy_cycles_per_packet": pmd.get("busy_cycles_per_packet"),
                "pmd_perf": perf, "mempool_in_use": stats.get("mempool", {}).get("in_use")}

    def stop(self):
        self.daemon.stop()


class RtvswitchNoAccounting(Rtvswitch):
    kind = "rtvswitch-noacct"

    def __init__(self, group, a, b, mode):
        super().__init__(group, a, b, mode, accounting=False)


def ovs_binary():
    """The DPDK-enabled ovs-vswitchd, or None."""
    for cand in OVS_DPDK_CANDIDATES:
        path = cand if os.path.isabs(cand) else shutil.which(cand)
        if not path or not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True,
                                 timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if "DPDK" in out:
            return path
    return None


class Ovs(Switch):
    """OVS-DPDK with a private database and run directory (the host's OVS, if any, is not
    touched): bridge br0 of the netdev datapath, NORMAL action (MAC learning), two
    dpdkvhostuserclient ports, one PMD on SWITCH_CORE."""
    kind = "ovs"

    def __init__(self, group, a, b, mode):
        self.group = group
        self.dir = tempfile.mkdtemp(prefix="ovs-", dir=group.tmpdir)
        self.db_sock = os.path.join(self.dir, "db.sock")
        self.prefix = group.prefix("ovs")
        self.procs = []
        env = dict(os.environ, OVS_RUNDIR=self.dir, OVS_LOGDIR=self.dir, OVS_DBDIR=self.dir,
                   OVS_SYSCONFDIR=self.dir, OVS_PKGDATADIR="/usr/share/openvswitch")
        self.env = env
        db = os.path.join(self.dir, "conf.db")
        self._run(["ovsdb-tool", "create", db, "/usr/share/openvswitch/vswitch.ovsschema"])
        self._spawn(["ovsdb-server", db, f"--remote=punix:{self.db_sock}",
                     f"--unixctl={self.dir}/ovsdb-server.ctl", "--no-chdir",
                     f"--log-file={self.dir}/ovsdb-server.log"], "ovsdb-server")
        self._wait(lambda: os.path.exists(self.db_sock), "ovsdb-server socket")
        self.vsctl("--no-wait", "init")
        self.vsctl("--no-wait", "set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true",
                   f"other_config:dpdk-extra=--file-prefix={self.prefix} --no-pci "
                   "--single-file-segments --no-telemetry",
                   "other_config:dpdk-socket-mem=512",
                   f"other_config:dpdk-lcore-mask={1 << int(PROBE_CORE):#x}",
                   f"other_config:pmd-cpu-mask={1 << int(SWITCH_CORE):#x}")
        self._spawn([ovs_binary(), f"unix:{self.db_sock}", f"--unixctl={self.dir}/vswitchd.ctl",
                     "--no-chdir", f"--log-file={self.dir}/ovs-vswitchd.log"], "ovs-vswitchd")
        self.vsctl("--timeout=60", "add-br", "br0", "--", "set", "bridge", "br0",
                   "datapath_type=netdev")
        for name, path in (("a", a), ("b", b)):
            self.vsctl("--timeout=60", "add-port", "br0", name, "--", "set", "Interface", name,
                       "type=dpdkvhostuserclient", f"options:vhost-server-path={path}")

    def _run(self, argv):
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=90,
                           stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise BenchError(f"{' '.join(argv)}: {r.stderr.strip()}\n{self.log_tail()}")
        return r.stdout

    def _spawn(self, argv, name):
        log = open(os.path.join(self.dir, f"{name}.out"), "w")
        p = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p

    def _wait(self, cond, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not cond():
            if any(p.poll() is not None for p in self.procs):
                raise BenchError(f"OVS exited while waiting for {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"OVS: no {what} after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def vsctl(self, *args):
        return self._run(["ovs-vsctl", f"--db=unix:{self.db_sock}"] + list(args))

    def log_tail(self):
        path = os.path.join(self.dir, "ovs-vswitchd.log")
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-15:])
        except OSError:
            return ""

    def extra(self):
        try:
            text = self._run(["ovs-appctl", "-t", f"{self.dir}/vswitchd.ctl",
                              "dpif-netdev/pmd-stats-show"])
        except BenchError as e:
            return {"error": str(e)}
        view = {"pmd_stats": text}
        m = re.search(r"avg processing cycles per packet:\s*([0-9.]+)", text)
        if m:
            view["busy_cycles_per_packet"] = float(m.group(1))
        return view

    def stop(self):
        for p in reversed(self.procs):  # vswitchd first, then the database
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []
        dp.cleanup_prefix(self.prefix)


SWITCH_CLASSES = {c.kind: c for c in (Testpmd, Rtvswitch, RtvswitchNoAccounting, Ovs)}


# ---------------------------------------------------------------------------------------------
# One measurement: a fresh switch, the probe in one mode, the probe's JSON.

def measure(args, kind, mode, run, out_dir):
    """Runs the probe in `mode` against a fresh `kind` switch: "latency" (fixed rates), "max"
    (the maximum-rate run alone, so that the switch's own cycle counts cover only it) or
    "search" (the loss-bounded rates; the probe runs its own maximum first as the top).
    Returns the record {switch, run, mode, file, load, probe (the JSON), switch_view}."""
    out = os.path.join(out_dir, f"{kind}-run{run}-{mode}.json")
    if mode == "latency":
        mode_args = ["latency", "--rates", args.rates, "--duration", str(args.duration),
                     "--warmup", str(args.warmup)]
        budget = len(args.rates.split(",")) * (args.duration + args.warmup + 2)
    elif mode == "max":
        mode_args = ["throughput", "--duration", str(args.max_duration), "--max-only"]
        budget = args.max_duration + 1
    else:
        mode_args = ["throughput", "--duration", str(args.max_duration), "--trial",
                     str(args.trial), "--max-trials", str(args.max_trials), "--loss", args.loss]
        budget = (args.max_duration + 1 +
                  len(args.loss.split(",")) * args.max_trials * (args.trial + 0.5))
    load_before = os.getloadavg()[0]
    with dp.ProcessGroup(f"bench-{kind}") as g:
        a, b = g.socket("a"), g.socket("b")
        prefix = g.prefix("probe")
        argv = ["nice", "-n", "19", dp.find_binary("rtvswitch-probe"), "--file-prefix", prefix,
                "--port-a", a, "--port-b", b, "--vhost", "server", "--lcore", PROBE_CORE,
                "--size", str(args.size), "--flows", str(args.flows), "--json", out] + mode_args
        probe = g.start(argv, prefix, "rtvswitch-probe", stdin=False)
        deadline = time.monotonic() + 60
        while not (os.path.exists(a) and os.path.exists(b)):
            if not probe.alive() or time.monotonic() > deadline:
                raise BenchError(f"probe did not listen on its sockets: {probe.stderr_text()}")
            time.sleep(0.05)
        sw = SWITCH_CLASSES[kind](g, a, b, mode)
        try:
            try:
                probe.proc.wait(timeout=budget + 120)
            except subprocess.TimeoutExpired:
                raise BenchError(f"{kind} {mode} run {run}: the probe did not finish in "
                                 f"{budget + 120:.0f} s") from None
            view = sw.extra()
        finally:
            sw.stop()
        view.update(sw.after_stop())
        if probe.proc.returncode != 0:
            raise BenchError(f"{kind} {mode} run {run}: probe exit {probe.proc.returncode}: "
                             f"{probe.stderr_text()[-1500:]}")
        stdout = probe.stderr_text()  # the probe's table, for the log
    with open(out) as f:
        data = json.load(f)
    print(f"  {kind:17} {mode:10} run {run}: done (load {load_before:.2f})", flush=True)
    if args.verbose:
        print(stdout)
    return {"switch": kind, "run": run, "mode": mode, "file": os.path.basename(out),
            "load_before": load_before, "probe": data, "switch_view": view}


# ---------------------------------------------------------------------------------------------
# Summaries.

def spread(values):
    """{median, min, max, n, values} of a list of numbers (None entries dropped)."""
    vs = [v for v in values if v is not None]
    if not vs:
        return None
    return {"median": statistics.median(vs), "min": min(vs), "max": max(vs), "n": len(vs),
            "values": vs}


def ratio(a, b):
    return a / b if a is not None and b else None


def summarize(records, args, switches):
    """Medians and ranges over runs, ratios to the reference and the targets, from the
    measurement records (see measure())."""
    per_run = {}  # (switch, run) -> {"lat": {rate: trial}, "max", "cpp", "searches"}
    noise = {}    # switch -> [probe noise of each latency measurement]
    tsc_hz = None
    for r in records:
        pr = per_run.setdefault((r["switch"], r["run"]), {"lat": {}, "max": None, "cpp": None,
                                                          "searches": {}})
        p = r["probe"]
        tsc_hz = tsc_hz or p.get("tsc_hz")
        if r["mode"] == "latency":
            # Only paced runs show the host's noise: in throughput runs the probe's loop is
            # busy sending and its gaps are its own work.
            noise.setdefault(r["switch"], []).append(p["noise"])
            for t in p["latency"]:
                pr["lat"][int(round(t["rate_pps"]))] = t
        elif r["mode"] == "max":
            pr["max"] = p["throughput"]["max"]
            pr["cpp"] = (r.get("switch_view") or {}).get("busy_cycles_per_packet")
        else:
            pr["searches"] = {s["loss_threshold"]: s["rate_pps"]
                              for s in p["throughput"]["searches"]}
    runs = range(1, args.runs + 1)
    # Extra on/off pairs of the accounting comparison (runs "a1", "a2", ...), used only there.
    acct_runs = list(runs) + [f"a{k}" for k in
                              range(1, getattr(args, "accounting_pairs", 0) + 1)]
    rates = [int(float(x)) for x in args.rates.split(",")]
    losses = [float(x) for x in args.loss.split(",")]

    def over_runs(sw, get, runs=runs):
        out = []
        for n in runs:
            pr = per_run.get((sw, n))
            out.append(get(pr) if pr else None)
        return out

    def lat_field(rate, field):
        return lambda pr: ((pr["lat"].get(rate) or {}).get("latency") or {}).get(field) \
            if (pr["lat"].get(rate) or {}).get("received") else None

    def max_rx(pr):
        return (pr["max"] or {}).get("rx_pps")

    lat, tput = {}, {}
    for sw in switches:
        if any(pr["lat"] for (s2, _), pr in per_run.items() if s2 == sw):
            lat[sw] = {}
            for rate in rates:
                m = {name: spread(over_runs(sw, lat_field(rate, field)))
                     for name, field in PERCENTILES}
                m["loss"] = spread(over_runs(sw, lambda pr, rate=rate:
                                             (pr["lat"].get(rate) or {}).get("loss_ratio")))
                m["rx_pps"] = spread(over_runs(sw, lambda pr, rate=rate:
                                               (pr["lat"].get(rate) or {}).get("rx_pps")))
                lat[sw][rate] = m
        t = {"max_rx_pps": spread(over_runs(sw, max_rx)),
             "max_loss": spread(over_runs(sw, lambda pr: (pr["max"] or {}).get("loss_ratio"))),
             "busy_cycles_per_packet": spread(over_runs(sw, lambda pr: pr["cpp"]))}
        for thr in losses:
            t[f"loss_{thr:g}_pps"] = spread(over_runs(sw, lambda pr, thr=thr:
                                                      pr["searches"].get(thr)))
        if t["busy_cycles_per_packet"] and tsc_hz:
            t["capacity_pps"] = spread([tsc_hz / c for c in
                                        t["busy_cycles_per_packet"]["values"] if c])
        if any(v for v in t.values()):
            tput[sw] = t

    def compare(sw, ref, get, invert=False, runs=runs):
        """Ratio sw/ref of the medians (ref/sw when invert: for costs), and the range of the
        same-run ratios."""
        a, b = spread(over_runs(sw, get, runs)), spread(over_runs(ref, get, runs))
        if not a or not b:
            return None
        same = []
        for x, y in zip(over_runs(sw, get, runs), over_runs(ref, get, runs)):
            if x is not None and y:
                same.append(y / x if invert and x else None if invert else x / y)
        return {"of_medians": ratio(b["median"], a["median"]) if invert
                else ratio(a["median"], b["median"]), "same_run": spread(same)}

    ratios = {}
    for sw in switches:
        if sw == REFERENCE:
            continue
        rr = {}
        for rate in rates:
            for name, field in (("p50", "p50_ns"), ("p99", "p99_ns")):
                c = compare(sw, REFERENCE, lat_field(rate, field))
                if c:
                    rr[f"{name}@{rate}"] = c
        c = compare(sw, REFERENCE, max_rx)
        if c:
            rr["max_rate"] = c
        c = compare(sw, REFERENCE, lambda pr: pr["cpp"], invert=True)
        if c:
            rr["capacity"] = c
        ratios[sw] = rr

    accounting = None
    if "rtvswitch" in tput and "rtvswitch-noacct" in tput:
        def cpp(pr):
            return pr["cpp"]
        accounting = {
            "pairs": len([n for n in acct_runs if per_run.get(("rtvswitch", n), {}).get("max")
                          and per_run.get(("rtvswitch-noacct", n), {}).get("max")]),
            "on_pps": spread(over_runs("rtvswitch", max_rx, acct_runs)),
            "off_pps": spread(over_runs("rtvswitch-noacct", max_rx, acct_runs)),
            "on_cycles_per_packet": spread(over_runs("rtvswitch", cpp, acct_runs)),
            "off_cycles_per_packet": spread(over_runs("rtvswitch-noacct", cpp, acct_runs)),
            "rate_on_over_off": compare("rtvswitch", "rtvswitch-noacct", max_rx, runs=acct_runs),
            "capacity_on_over_off": compare("rtvswitch", "rtvswitch-noacct", cpp, invert=True,
                                            runs=acct_runs)}

    noise_sum = {}
    for sw, ns in noise.items():
        noise_sum[sw] = {
            "gaps_over_5us_per_s": spread([n.get("gaps_over_5us_per_s") for n in ns]),
            "time_in_gaps_over_5us_ratio": spread([n.get("time_in_gaps_over_5us_ratio")
                                                   for n in ns]),
            "loop_gap_p9999_ns": spread([n.get("loop_gap", {}).get("p9999_ns") for n in ns]),
            "loop_gap_max_ns": spread([n.get("loop_gap", {}).get("max_ns") for n in ns])}

    targets = []

    def target(text, r, limit, at_least):
        v = r["of_medians"] if r else None
        targets.append({"target": text, "value": v,
                        "met": v is not None and (v >= limit if at_least else v <= limit)})

    rr = ratios.get("rtvswitch", {})
    if "max_rate" in rr:
        target(f"max forwarding rate >= {TARGET_MAX_RATE} x testpmd (probe)", rr["max_rate"],
               TARGET_MAX_RATE, True)
    if "capacity" in rr:
        target(f"capacity (1 / busy cycles per packet) >= {TARGET_MAX_RATE} x testpmd",
               rr["capacity"], TARGET_MAX_RATE, True)
    for rate in TARGET_LATENCY_RATES:
        for name in ("p50", "p99"):
            if f"{name}@{rate}" in rr:
                target(f"{name} at {rate_label(rate)} <= {TARGET_LATENCY} x testpmd",
                       rr[f"{name}@{rate}"], TARGET_LATENCY, False)
    if accounting:
        if accounting["rate_on_over_off"]:
            target(f"max rate, accounting on >= {TARGET_ACCOUNTING} x off",
                   accounting["rate_on_over_off"], TARGET_ACCOUNTING, True)
        if accounting["capacity_on_over_off"]:
            target(f"capacity, accounting on >= {TARGET_ACCOUNTING} x off",
                   accounting["capacity_on_over_off"], TARGET_ACCOUNTING, True)
    return {"tsc_hz": tsc_hz, "latency": lat, "throughput": tput, "ratios_to_reference": ratios,
            "accounting": accounting, "noise": noise_sum, "targets": targets}


def rate_label(rate):
    if rate >= 1000000 and rate % 1000000 == 0:
        return f"{rate // 1000000} Mpps"
    if rate >= 1000 and rate % 1000 == 0:
        return f"{rate // 1000} kpps"
    return f"{rate} pps"


def fmt(s, scale=1.0, digits=2, pct=False):
    """'median [min-max]' of a spread, scaled; '-' when missing."""
    if not s:
        return "-"
    f = (lambda v: f"{100 * v * scale:.{digits}f}%") if pct else \
        (lambda v: f"{v * scale:.{digits}f}")
    if s["n"] == 1 or s["min"] == s["max"]:
        return f(s["median"])
    return f"{f(s['median'])} [{f(s['min'])}-{f(s['max'])}]"


def fmt_ratio(r):
    if not r or r.get("of_medians") is None:
        return "-"
    text = f"{r['of_medians']:.2f}x"
    same = r.get("same_run")
    if same and same["n"] > 1:
        text += f" ({same['min']:.2f}-{same['max']:.2f})"
    return text


def markdown(summary, meta, switches):
    lines = [f"# rtvswitch benchmark, {meta['started']}", "",
             f"- command: `{meta['command']}`",
             f"- commit: {meta['commit']}; DPDK {meta['dpdk']}; {meta['host']}",
             f"- load average: {meta['load_start']:.2f} at the start, {meta['load_end']:.2f} at "
             "the end",
             f"- switches: {', '.join(switches)}"
             + ("" if "ovs" in switches else f"; OVS-DPDK: {meta['ovs']}"),
             f"- runs: {meta['runs']}; each figure is the median over runs with the [min-max] "
             "range; ratios are of the medians, with the range of the same-run ratios",
             f"- probe: {meta['size']} B frames, {meta.get('flows', 1)} flow(s), CPU "
             f"{PROBE_CORE} at nice 19; switch PMD on CPU {SWITCH_CORE}; latency "
             f"{meta['duration']} s per rate after {meta['warmup']} s warm-up; throughput: "
             f"maximum rate over {meta['max_duration']} s, searches of "
             f"{meta['trial']} s trials", ""]
    lat = summary["latency"]
    ratios = summary["ratios_to_reference"]
    if lat:
        lines += ["## One-way latency through the switch (probe A -> B), µs", "",
                  "| rate | switch | loss | p50 | p90 | p99 | p99.9 | p99.99 | max | p50 / ref "
                  "| p99 / ref |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for rate in next(iter(lat.values())).keys():
            for sw in switches:
                if sw not in lat:
                    continue
                m = lat[sw][rate]
                rr = ratios.get(sw, {})
                lines.append("| " + " | ".join(
                    [rate_label(rate), sw, fmt(m["loss"], digits=3, pct=True)]
                    + [fmt(m[name], 1e-3) for name, _ in PERCENTILES]
                    + [fmt_ratio(rr.get(f"p50@{rate}")) if sw != REFERENCE else "ref",
                       fmt_ratio(rr.get(f"p99@{rate}")) if sw != REFERENCE else "ref"]) + " |")
        lines.append("")
    tput = summary["throughput"]
    if tput:
        lines += ["## Throughput", "",
                  "| switch | max rate, Mpps (received) | / ref | loss at max | busy cycles "
                  "per packet | capacity, Mpps | / ref | zero-loss rate, Mpps | 0.01%-loss rate, "
                  "Mpps |", "|---|---|---|---|---|---|---|---|---|"]
        for sw in switches:
            if sw not in tput:
                continue
            t = tput[sw]
            rr = ratios.get(sw, {})
            lines.append("| " + " | ".join([
                sw, fmt(t["max_rx_pps"], 1e-6, 3),
                "ref" if sw == REFERENCE else fmt_ratio(rr.get("max_rate")),
                fmt(t["max_loss"], digits=3, pct=True),
                fmt(t.get("busy_cycles_per_packet"), digits=0),
                fmt(t.get("capacity_pps"), 1e-6, 2),
                "ref" if sw == REFERENCE else fmt_ratio(rr.get("capacity")),
                fmt(t.get("loss_0_pps"), 1e-6, 3), fmt(t.get("loss_0.0001_pps"), 1e-6, 3)])
                + " |")
        lines += ["", "The maximum rate is what the probe received when sending as fast as the "
                  "switch took frames; it is bounded by the probe as much as by the switch. Busy "
                  "cycles per packet is the switch's own count over that run (testpmd "
                  "`--record-core-cycles`, rtvswitch `pmd.perf`, OVS `pmd-stats-show`): TSC cycles "
                  "in polls that returned frames, per frame; capacity = TSC Hz / that."]
        if "rtvswitch-noacct" in tput:
            lines += ["rtvswitch-noacct is the same build with `--no-latency-accounting` "
                      "(maximum rate only)."]
        lines.append("")
    acc = summary["accounting"]
    if acc:
        lines += ["## Cost of the latency accounting", "",
                  f"rtvswitch with and without `--no-latency-accounting`, maximum-rate runs, "
                  f"{acc['pairs']} pairs (the runs' and the extra alternating pairs):", "",
                  f"- maximum rate: on {fmt(acc['on_pps'], 1e-6, 3)} Mpps, off "
                  f"{fmt(acc['off_pps'], 1e-6, 3)} Mpps: on / off = "
                  f"{fmt_ratio(acc['rate_on_over_off'])}",
                  f"- busy cycles per packet: on {fmt(acc['on_cycles_per_packet'], digits=0)}, "
                  f"off {fmt(acc['off_cycles_per_packet'], digits=0)}: capacity on / off = "
                  f"{fmt_ratio(acc['capacity_on_over_off'])}", ""]
    lines += ["## Noise floor (the probe's own loop in the latency runs)", "",
              "| switch measured | gaps > 5 µs per s | time in them | loop gap p99.99 µs | "
              "longest gap ms |", "|---|---|---|---|---|"]
    for sw, n in summary["noise"].items():
        lines.append("| " + " | ".join([
            sw, fmt(n["gaps_over_5us_per_s"], digits=0),
            fmt(n["time_in_gaps_over_5us_ratio"], digits=2, pct=True),
            fmt(n["loop_gap_p9999_ns"], 1e-3, 1), fmt(n["loop_gap_max_ns"], 1e-6, 2)]) + " |")
    lines += ["", "Percentiles above the noise floor measure the host, not the switch.", ""]
    if summary["targets"]:
        lines += ["## Targets (issue 3)", "", "| target | value | met |", "|---|---|---|"]
        for t in summary["targets"]:
            v = "-" if t["value"] is None else f"{t['value']:.2f}"
            lines.append(f"| {t['target']} | {v} | {'yes' if t['met'] else '**no**'} |")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The plot: the complementary CDF (share of frames slower than x) per rate, merged over runs.

def plot(records, switches, out_dir, rates):
    merged = {}  # rate -> switch -> {le_ns: count}
    for r in records:
        if r["mode"] != "latency":
            continue
        for t in r["probe"]["latency"]:
            rate = int(round(t["rate_pps"]))
            h = merged.setdefault(rate, {}).setdefault(r["switch"], {})
            for bkt in t.get("latency_buckets", []):
                h[bkt["le_ns"]] = h.get(bkt["le_ns"], 0) + bkt["count"]
    panels = []
    for rate in rates:
        if rate not in merged:
            continue
        path = os.path.join(out_dir, f"latency-{rate}.dat")
        series = []
        with open(path, "w") as f:
            for sw in switches:
                h = merged[rate].get(sw)
                if not h:
                    continue
                total = sum(h.values())
                f.write(f"# {sw}: upper bucket bound (us), share of frames above it\n")
                seen = 0
                for le in sorted(h):
                    seen += h[le]
                    above = (total - seen) / total
                    if above > 0:
                        f.write(f"{le / 1000:.4f} {above:.6g}\n")
                f.write("\n\n")
                series.append(sw)
        panels.append((rate, os.path.basename(path), series))
    if not panels:
        return None
    gp = os.path.join(out_dir, "latency.gp")
    with open(gp, "w") as f:
        height = 360 * len(panels)
        f.write(f"set terminal pngcairo size 900,{height} font ',10'\n"
                "set output 'latency.png'\n"
                f"set multiplot layout {len(panels)},1\n"
                "set logscale xy\nset grid\nset key top right\n"
                "set xlabel 'one-way latency through the switch (us)'\n"
                "set ylabel 'share of frames slower'\nset format y '10^{%T}'\n")
        for rate, dat, series in panels:
            f.write(f"set title '64 B frames at {rate_label(rate)} (merged over runs)'\n")
            plots = [f"'{dat}' index {i} using 1:2 with steps lw 2 title '{sw}'"
                     for i, sw in enumerate(series)]
            f.write("plot " + ", ".join(plots) + "\n")
        f.write("unset multiplot\n")
    r = subprocess.run(["gnuplot", "latency.gp"], cwd=out_dir, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise BenchError(f"gnuplot failed: {r.stderr.strip()}")
    return os.path.join(out_dir, "latency.png")


# ---------------------------------------------------------------------------------------------

def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build-dir", default=os.environ.get("RTVS_BUILD_DIR",
                                                         os.path.join(ROOT, "build")))
    p.add_argument("--out", help="output directory (default BUILD/bench/<UTC time>)")
    prof = p.add_mutually_exclusive_group()
    prof.add_argument("--quick", action="store_true",
                      help="one short run of everything (about 3 minutes)")
    prof.add_argument("--smoke", action="store_true",
                      help="the shortest form: proves the harness works, measures little")
    p.add_argument("--runs", type=int, help="runs per switch (default 3; medians over runs)")
    p.add_argument("--switches", default="auto",
                   help="comma-separated from " + ",".join(ALL_SWITCHES)
                   + " (default: all; ovs only where OVS-DPDK is installed)")
    p.add_argument("--rates", help="latency rates, pps (default 10000,100000,1000000)")
    p.add_argument("--duration", type=float, help="measured seconds per latency rate")
    p.add_argument("--warmup", type=float, help="warm-up seconds per latency rate")
    p.add_argument("--max-duration", type=float, help="seconds of the maximum-rate run")
    p.add_argument("--trial", type=float, help="seconds per binary-search trial")
    p.add_argument("--max-trials", type=int, help="most trials per search")
    p.add_argument("--loss", help="loss ratios to search for (default 0,0.0001)")
    p.add_argument("--max-only", action="store_true", help="no loss-rate searches")
    p.add_argument("--accounting-pairs", type=int,
                   help="extra alternating maximum-rate runs of rtvswitch with and without "
                   "latency accounting, for its cost (default 5; quick 1, smoke 0)")
    p.add_argument("--no-latency", action="store_true", help="throughput only")
    p.add_argument("--no-throughput", action="store_true", help="latency only")
    p.add_argument("--size", type=int, default=64, help="frame size, 60-1518 (default 64)")
    p.add_argument("--flows", type=int, default=1,
                   help="MAC pairs the probe cycles through, frame by frame (default 1)")
    p.add_argument("--port-options", default="",
                   help="extra options of rtvswitch's two ports, e.g. \"tx-retry-us=0\"")
    p.add_argument("--verbose", action="store_true", help="print the probe's tables")
    args = p.parse_args(argv)
    profile = PROFILES["smoke" if args.smoke else "quick" if args.quick else "full"]
    for k, v in profile.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.runs < 1:
        p.error("--runs: at least 1")
    if args.accounting_pairs < 0:
        p.error("--accounting-pairs: 0 or more")
    if not 1 <= args.flows <= 1024:
        p.error("--flows: 1 to 1024")
    try:
        rates = [float(x) for x in args.rates.split(",")]
        losses = [float(x) for x in args.loss.split(",")]
    except ValueError:
        p.error("--rates/--loss: comma-separated numbers")
    if not rates or any(r <= 0 for r in rates) or any(not 0 <= x < 0.5 for x in losses):
        p.error("--rates: positive; --loss: ratios in [0, 0.5)")
    if args.no_latency and args.no_throughput:
        p.error("--no-latency and --no-throughput: nothing left to measure")
    have_ovs = ovs_binary() is not None
    if args.switches == "auto":
        args.switches = [s for s in ALL_SWITCHES if s != "ovs" or have_ovs]
        if args.smoke:
            args.switches = [s for s in args.switches if s != "ovs"]
    else:
        args.switches = [s.strip() for s in args.switches.split(",") if s.strip()]
        bad = [s for s in args.switches if s not in ALL_SWITCHES]
        if bad:
            p.error(f"--switches: unknown {','.join(bad)} (known: {','.join(ALL_SWITCHES)})")
        if "ovs" in args.switches and not have_ovs:
            p.error("--switches ovs: no DPDK-enabled ovs-vswitchd (install "
                    "openvswitch-switch-dpdk)")
    args.have_ovs = have_ovs
    return args


def main(argv):
    args = parse_args(argv)
    os.environ["RTVS_BUILD_DIR"] = os.path.abspath(args.build_dir)
    Rtvswitch.port_options = args.port_options
    for tool in ("rtvswitch-probe",):
        dp.find_binary(tool)
    if not shutil.which("dpdk-testpmd"):
        print("bench: dpdk-testpmd not found (Debian package dpdk)", file=sys.stderr)
        return 1
    started = datetime.datetime.now(datetime.timezone.utc)
    out_dir = args.out or os.path.join(args.build_dir, "bench",
                                       started.strftime("%Y%m%dT%H%M%SZ"))
    os.makedirs(out_dir, exist_ok=True)
    meta = {"started": started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(["scripts/bench.sh"] + argv), "commit": git_commit(),
            "host": f"{platform.node()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
            "load_start": os.getloadavg()[0], "runs": args.runs, "size": args.size,
            "flows": args.flows,
            "duration": args.duration, "warmup": args.warmup,
            "max_duration": args.max_duration, "trial": args.trial,
            "ovs": ("installed" if args.have_ovs else "not installed"), "dpdk": "?"}
    modes = [m for m, skip in (("latency", args.no_latency), ("max", args.no_throughput),
                               ("search", args.no_throughput or args.max_only)) if not skip]
    print(f"bench: {args.runs} run(s) of {', '.join(args.switches)} -> {out_dir}", flush=True)
    if not args.have_ovs:
        print("bench: OVS-DPDK not installed (openvswitch-switch-dpdk): not measured",
              flush=True)
    records, failures = [], []
    for run in range(1, args.runs + 1):
        k = (run - 1) % len(args.switches)
        order = args.switches[k:] + args.switches[:k]
        print(f"run {run}/{args.runs}: {', '.join(order)}", flush=True)
        for sw in order:
            for mode in modes:
                if sw == "rtvswitch-noacct" and mode != "max":
                    continue  # measured for its maximum rate only
                try:
                    records.append(measure(args, sw, mode, run, out_dir))
                except (BenchError, dp.GuestError, RuntimeError, OSError, ValueError) as e:
                    print(f"  {sw} {mode} run {run}: FAILED: {e}", file=sys.stderr, flush=True)
                    failures.append({"switch": sw, "mode": mode, "run": run, "error": str(e)})
    if "rtvswitch" in args.switches and "rtvswitch-noacct" in args.switches and \
            not args.no_throughput:
        for k in range(1, args.accounting_pairs + 1):
            print(f"accounting pair {k}/{args.accounting_pairs}", flush=True)
            pair = ["rtvswitch", "rtvswitch-noacct"]
            for sw in pair if k % 2 else pair[::-1]:
                try:
                    records.append(measure(args, sw, "max", f"a{k}", out_dir))
                except (BenchError, dp.GuestError, RuntimeError, OSError, ValueError) as e:
                    print(f"  {sw} max pair {k}: FAILED: {e}", file=sys.stderr, flush=True)
                    failures.append({"switch": sw, "mode": "max", "run": f"a{k}",
                                     "error": str(e)})
    if records:
        meta["dpdk"] = records[0]["probe"].get("dpdk", "?")
    meta["load_end"] = os.getloadavg()[0]
    summary = summarize(records, args, args.switches)
    rates = [int(float(x)) for x in args.rates.split(",")]
    png = plot(records, args.switches, out_dir, rates) if "latency" in modes else None
    doc = {"meta": meta, "summary": summary, "failures": failures,
           "measurements": [{k: r[k] for k in ("switch", "run", "mode", "file", "load_before",
                                               "switch_view")} for r in records],
           "plot": os.path.basename(png) if png else None}
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(doc, f, indent=2)
    md = markdown(summary, meta, args.switches)
    if failures:
        md += "\n## Failed measurements\n\n" + "\n".join(
            f"- {x['switch']} {x['mode']} run {x['run']}: {x['error'].splitlines()[0]}"
            for x in failures) + "\n"
    with open(os.path.join(out_dir, "summary.md"), "w") as f:
        f.write(md)
    print("\n" + md)
    print(f"bench: results in {out_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
